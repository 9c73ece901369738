// Bulk work through batch (issue 17) with the real binary in sandbox mode: `telemeet backfill`
// and `telemeet resync` run beside a live `telemeet serve` on the same data dir (dry run first,
// plain progress lines when not on a terminal), and the disconnect with meetings=cancel as a job
// the service runs, followed through GET /api/v1/jobs/{id}, which another doctor cannot read.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "net/http_client.h"
#include "tests/support/process.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class BulkIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sandbox_.Start({"--set", "log.level=warn"}));
    google_ = sandbox_.google_url();
    auto [ds, doctors] = sandbox_.Api("GET", "/api/v1/doctors");
    ASSERT_EQ(ds, 200) << doctors.dump();
    const std::string mine = sandbox_.DemoLogin("doctor", 0).email;
    for (const json& d : doctors["data"]) {
      if (d["email"] == mine) mine_ = d;
    }
    ASSERT_FALSE(mine_.is_null()) << doctors.dump();
    doctor_id_ = mine_["id"];
    auto [ps, patient] = sandbox_.Api("POST", "/api/v1/patients",
                                      {{"name", "Mary Seacole"}, {"time_zone", "Europe/London"}});
    ASSERT_EQ(ps, 201) << patient.dump();
    patient_id_ = patient["id"];
    ConnectMine();
  }
  void TearDown() override { EXPECT_EQ(sandbox_.Stop(), 0); }

  void ConnectMine() {
    net::ClientRequest settings{.method = "PATCH", .url = google_ + "/_emulator/settings"};
    settings.headers.Add("Content-Type", "application/json");
    settings.body = R"({"autoApprove":true})";
    ASSERT_EQ(http_.Send(settings)->status, 200);
    auto [cs, connect] =
        sandbox_.Api("POST", "/api/v1/doctors/" + std::to_string(doctor_id_) + "/google/connect");
    ASSERT_EQ(cs, 201) << connect.dump();
    auto landed = sandbox_.FinishConnect(connect["authorization_url"], mine_["email"]);
    ASSERT_TRUE(landed.has_value());
    ASSERT_EQ(landed->status, 200) << landed->body;
  }

  json Meeting(int64_t id) {
    return sandbox_.Api("GET", "/api/v1/appointments/" + std::to_string(id)).second["meeting"];
  }

  struct Run {
    int code = -1;
    std::string out;
    std::string err;
  };
  Run Telemeet(std::vector<std::string> args) {
    args.insert(args.begin(), TELEMEET_BINARY);
    args.push_back("--data-dir");
    args.push_back(sandbox_.data_dir().string());
    auto p = testing::ChildProcess::Start(args);
    EXPECT_TRUE(p) << p.error().ToString();
    if (!p) return {};
    (*p)->WaitForLine("\x01never", std::chrono::milliseconds(0));
    Run r;
    r.code = (*p)->Wait(std::chrono::seconds(60)).value_or(-1);
    (*p)->WaitForLine("\x01never", std::chrono::milliseconds(100));  // drains what is left
    r.out = (*p)->output();
    r.err = (*p)->errors();
    return r;
  }

  json EmulatorRequests() {
    auto log = http_.Send({.url = google_ + "/_emulator/requests"});
    EXPECT_TRUE(log.has_value());
    return log ? json::parse(log->body)["requests"] : json::array();
  }

  testing::SandboxServer sandbox_;
  std::string google_;
  json mine_;
  int64_t doctor_id_ = 0, patient_id_ = 0;
  net::HttpClient http_;
};

TEST_F(BulkIntegrationTest, BackfillAndResyncFromTheCommandLineBesideARunningServe) {
  // A service that was not telemedicine when these were booked and confirmed: no meetings.
  auto [ss, service] =
      sandbox_.Api("POST", "/api/v1/services", {{"name", "Follow-up"}, {"telemedicine", false}});
  ASSERT_EQ(ss, 201) << service.dump();
  const int64_t service_id = service["id"];
  std::vector<int64_t> ids;
  for (int i = 0; i < 12; ++i) {
    auto [as, a] = sandbox_.Api(
        "POST", "/api/v1/appointments",
        {{"doctor_id", doctor_id_},
         {"service_id", service_id},
         {"patient_id", patient_id_},
         {"start", "2031-05-01T" + std::to_string(10 + i / 2) + (i % 2 ? ":30" : ":00") + ":00Z"},
         {"status", "confirmed"},
         {"time_zone", "Europe/London"}});
    ASSERT_EQ(as, 201) << a.dump();
    ids.push_back(a["id"]);
  }
  // The service's reconcile of each booking ("not telemedicine: nothing to do") runs first: one
  // still queued when the service becomes telemedicine would make the meeting itself. A job shows
  // next_run_at while queued; the second's wait covers one a worker holds.
  const auto settle_by = std::chrono::steady_clock::now() + 30s;
  for (int64_t id : ids) {
    while (!Meeting(id)["next_run_at"].is_null() && std::chrono::steady_clock::now() < settle_by)
      std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(
      sandbox_
          .Api("PATCH", "/api/v1/services/" + std::to_string(service_id), {{"telemedicine", true}})
          .first,
      200);
  std::this_thread::sleep_for(300ms);
  for (int64_t id : ids) EXPECT_NE(Meeting(id)["state"], "ready");

  const std::string doctor = std::to_string(doctor_id_);
  Run dry = Telemeet({"backfill", "--doctor", doctor, "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("doctor " + doctor + ": 12 change(s) would be made"), std::string::npos)
      << dry.out;
  EXPECT_NE(dry.out.find("create"), std::string::npos);
  EXPECT_NE(dry.out.find("dry run: nothing was changed"), std::string::npos);
  for (int64_t id : ids) EXPECT_NE(Meeting(id)["state"], "ready");

  Run made = Telemeet({"backfill", "--doctor", doctor});
  ASSERT_EQ(made.code, 0) << made.out << made.err;
  // Not a terminal: one plain line per report, the last one complete.
  EXPECT_NE(made.out.find("backfill doctor " + doctor + " 0/12\n"), std::string::npos) << made.out;
  EXPECT_TRUE(
      std::regex_search(made.out, std::regex("backfill doctor " + doctor + " 12/12 [0-9.]+/s\\n")))
      << made.out;
  EXPECT_EQ(made.out.find('\r'), std::string::npos) << "no bar when not on a terminal";
  EXPECT_NE(made.out.find("12 done, 0 failed"), std::string::npos) << made.out;
  std::set<std::string> links;
  for (int64_t id : ids) {
    json m = Meeting(id);
    EXPECT_EQ(m["state"], "ready") << m.dump();
    if (m["join_url"].is_string()) links.insert(m["join_url"]);
  }
  EXPECT_EQ(links.size(), 12u);
  int batches = 0, inserts_in_batch = 0;
  for (const json& r : EmulatorRequests()) {
    batches += r["path"] == "/batch/calendar/v3";
    inserts_in_batch += r["method"] == "POST" && r.value("inBatch", false);
  }
  EXPECT_EQ(batches, 1) << "12 inserts, one batch request";
  EXPECT_EQ(inserts_in_batch, 12);

  // Run again: nothing left to do. Resync finds everything in step.
  Run again = Telemeet({"backfill", "--doctor", doctor});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("0 done, 0 failed"), std::string::npos) << again.out;
  Run resync = Telemeet({"resync", "--doctor", doctor, "--dry-run"});
  ASSERT_EQ(resync.code, 0) << resync.out << resync.err;
  EXPECT_NE(resync.out.find("doctor " + doctor + ": 0 change(s) would be made"), std::string::npos)
      << resync.out;

  // Bad input names the option.
  Run bad = Telemeet({"resync", "--doctor", doctor, "--moved", "sideways"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("--moved"), std::string::npos) << bad.err;
  Run none = Telemeet({"resync"});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("--doctor"), std::string::npos) << none.err;
}

TEST_F(BulkIntegrationTest, DisconnectWithCancelIsAJobTheServiceRunsAndOnlyItsOwnersRead) {
  auto [ss, services] = sandbox_.Api("GET", "/api/v1/services");
  ASSERT_EQ(ss, 200);
  int64_t video = 0;
  for (const json& s : services["data"]) {
    if (s.value("telemedicine", false)) video = s["id"];
  }
  ASSERT_GT(video, 0);
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto [as, a] = sandbox_.Api("POST", "/api/v1/appointments",
                                {{"doctor_id", doctor_id_},
                                 {"service_id", video},
                                 {"patient_id", patient_id_},
                                 {"start", "2031-06-0" + std::to_string(i + 1) + "T09:00:00Z"},
                                 {"status", "confirmed"},
                                 {"time_zone", "Europe/London"}});
    ASSERT_EQ(as, 201) << a.dump();
    ids.push_back(a["id"]);
  }
  for (int64_t id : ids) {
    for (int i = 0; i < 100 && Meeting(id)["state"] != "ready"; ++i) {
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_EQ(Meeting(id)["state"], "ready");
  }
  auto [gs, job] = sandbox_.Api(
      "DELETE", "/api/v1/doctors/" + std::to_string(doctor_id_) + "/google?meetings=cancel");
  ASSERT_EQ(gs, 202) << job.dump();
  const std::string url = job["url"];
  json seen;
  for (int i = 0; i < 200; ++i) {
    seen = sandbox_.Api("GET", url).second;
    if (seen["state"] == "done") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(seen["state"], "done") << seen.dump();
  EXPECT_EQ(seen["total"], 3);
  EXPECT_EQ(seen["done"], 3);
  EXPECT_EQ(seen["failed"], 0);
  for (int64_t id : ids) EXPECT_EQ(Meeting(id)["state"], "awaiting_doctor");
  auto [cs, connection] =
      sandbox_.Api("GET", "/api/v1/doctors/" + std::to_string(doctor_id_) + "/google");
  EXPECT_EQ(connection["connected"], false) << connection.dump();

  // Another doctor asks for this job by its id: the 404 of a job that does not exist.
  auto other = sandbox_.SignIn(sandbox_.DemoLogin("doctor", 1));
  ASSERT_TRUE(other.has_value());
  auto [os, answer] = sandbox_.Call(*other, "GET", url);
  EXPECT_EQ(os, 404) << answer.dump();
  auto mine = sandbox_.SignIn(sandbox_.DemoLogin("doctor", 0));
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(sandbox_.Call(*mine, "GET", url).first, 200);
}

}  // namespace
}  // namespace telemeet
