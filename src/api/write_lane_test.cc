// The API's writes over SQLite through real HTTP: write routes run in parallel on the worker
// pool and the store's group commit puts concurrent requests into shared commits (issue 19).
// Each request still gets its own answer, only once its writes are committed; the domain's
// rules and Idempotency-Key hold across requests that share a commit.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/api.h"
#include "api/auth.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "store/store.h"

namespace telemeet::api {
namespace {

using nlohmann::json;

class WriteLaneTest : public ::testing::Test {
 protected:
  WriteLaneTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tm-lane-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    store_ = std::move(*store::OpenStore("sqlite://" + dir_ + "/db.sqlite", clock_));
    EXPECT_TRUE(store_->Migrate());
    EXPECT_TRUE(keys_.Add("k1", crypto::RandomBytes(32)));
    deps_ = std::make_unique<ApiDeps>(ApiDeps{.store = *store_, .clock = clock_, .keys = &keys_});
    RegisterApiRoutes(router_, *deps_);
    server_ = std::make_unique<net::HttpServer>(
        net::ServerOptions{.port = 0, .io_threads = 2, .worker_threads = 8}, router_);
    EXPECT_TRUE(server_->Start());
    key_ = CreateApiKey(*store_, "booking", "read write")->secret;
    auto seeded = store_->Transact([&](store::Tx& tx) -> Status {
      doctor_ = TM_TRY(tx.CreateDoctor({.name = "Dr Lane", .email = "lane@clinic.example"})).id;
      service_ = TM_TRY(tx.CreateService({.name = "Video", .telemedicine = true})).id;
      patient_ = TM_TRY(tx.CreatePatient({.name = "Pat Lane"})).id;
      return Ok();
    });
    EXPECT_TRUE(seeded);
  }
  ~WriteLaneTest() override {
    server_->Shutdown(std::chrono::milliseconds(0));
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  json Booking(std::string start, std::string status = "booked") const {
    return {{"doctor_id", doctor_},
            {"service_id", service_},
            {"patient_id", patient_},
            {"start", std::move(start)},
            {"status", std::move(status)}};
  }
  net::ClientResponse Post(const json& body, std::string idempotency_key = "") {
    net::ClientRequest req{.method = "POST",
                           .url = server_->BaseUrl() + "/api/v1/appointments",
                           .body = body.dump(),
                           .timeout = std::chrono::seconds(20)};
    req.headers.Set("Authorization", "Bearer " + key_);
    req.headers.Set("Content-Type", "application/json");
    if (!idempotency_key.empty()) req.headers.Set("Idempotency-Key", idempotency_key);
    auto r = http_.Send(std::move(req));
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : net::ClientResponse{};
  }
  bool Stored(int64_t id) {
    return static_cast<bool>(store_->Read([&](store::Tx& tx) { return tx.GetAppointment(id); }));
  }
  int64_t CountAppointments() {
    auto page =
        store_->Read([](store::Tx& tx) { return tx.ListAppointments({}, {.limit = 1000}); });
    EXPECT_TRUE(page);
    return page ? static_cast<int64_t>(page->items.size()) : -1;
  }

  SystemClock& clock_ = SystemClock::Instance();
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  crypto::KeyRing keys_;
  std::unique_ptr<ApiDeps> deps_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  net::HttpClient http_;
  std::string key_;
  int64_t doctor_ = 0, service_ = 0, patient_ = 0;
};

// 48 clients at once, in rounds: in each round several confirm the same slot, so all but one
// are refused by the overlap rule inside a transaction that others share. Every accepted
// booking is stored when its 201 arrives; every refusal names its field and stores nothing.
TEST_F(WriteLaneTest, ConcurrentPostsShareCommitsEachWithItsOwnAnswer) {
  constexpr int kClients = 48, kRounds = 5, kSameSlot = 4;
  const store::WriteStats before = store_->write_stats();
  std::atomic<int> created{0}, refused{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int round = 0; round < kRounds; ++round) {
        // Clients 0..3 all want the same confirmed slot of the round; the rest have their own.
        const bool contested = c < kSameSlot;
        const int slot = contested ? round : 100 + c * kRounds + round;
        char start[32];
        std::snprintf(start, sizeof start, "2031-01-%02dT%02d:00:00Z", 1 + slot / 24, slot % 24);
        auto r = Post(Booking(start, contested ? "confirmed" : "booked"));
        json j = json::parse(r.body, nullptr, false);
        if (r.status == 201) {
          ++created;
          if (!Stored(j["id"])) ++wrong;  // answered before its commit
        } else if (contested && r.status == 409 && j["error"]["field"] == "start") {
          ++refused;
        } else {
          ++wrong;
          ADD_FAILURE() << r.status << " " << r.body;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(refused.load(), kRounds * (kSameSlot - 1));
  EXPECT_EQ(created.load(), kClients * kRounds - refused.load());
  EXPECT_EQ(CountAppointments(), created.load());
  const store::WriteStats after = store_->write_stats();
  EXPECT_LT(after.commits - before.commits, after.writes - before.writes)
      << "no two POSTs shared a commit: the writes did not run concurrently";
}

// One Idempotency-Key from 16 clients at once: one appointment, the same answer for all.
TEST_F(WriteLaneTest, ConcurrentRetriesWithOneIdempotencyKeyCreateOneAppointment) {
  constexpr int kClients = 16;
  std::vector<std::future<net::ClientResponse>> answers;
  for (int c = 0; c < kClients; ++c) {
    answers.push_back(std::async(
        std::launch::async, [&] { return Post(Booking("2031-03-01T09:00:00Z"), "retry-me"); }));
  }
  std::set<int64_t> ids;
  for (auto& f : answers) {
    auto r = f.get();
    ASSERT_EQ(r.status, 201) << r.body;
    ids.insert(json::parse(r.body)["id"].get<int64_t>());
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(CountAppointments(), 1);
}

}  // namespace
}  // namespace telemeet::api
