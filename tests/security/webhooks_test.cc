// Webhooks cannot reach inside (issue 15, item 5), replayed against the real binary in sandbox
// mode: an admin registers endpoints pointing at loopback, cloud metadata, private and IPv6
// loopback addresses, literally or through a name that resolves to loopback, and a receiver on
// 127.0.0.1 records whatever reaches it. Only a host the operator lists gets deliveries; the
// delivery log names the failure in one word. A rotated secret signs beside the new one for the
// grace period, and the receiver verifies either with its own HMAC (not the product's code).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "net/http_server.h"
#include "net/router.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::SandboxServer;

// A webhook receiver on 127.0.0.1: records every request it gets.
class Receiver {
 public:
  Receiver() {
    router_.Post("/hook", [this](net::Request& req) {
      std::lock_guard lock(mu_);
      received_.push_back(req);
      return net::Response::Text(200, "ok");
    });
    server_ = std::make_unique<net::HttpServer>(net::ServerOptions{.port = 0}, router_);
    EXPECT_TRUE(server_->Start());
  }
  ~Receiver() { server_->Shutdown(0ms); }
  std::string port() const { return std::to_string(server_->port()); }
  std::vector<net::Request> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  std::mutex mu_;
  std::vector<net::Request> received_;
};

// The v1 signatures of a Telemeet-Signature header that match `secret`: HMAC-SHA256 over
// "<t>.<body>", computed here from the documented format.
int MatchingSignatures(std::string_view header, std::string_view secret, std::string_view body) {
  std::string t;
  std::vector<std::string> v1;
  for (std::string_view part : Split(header, ',')) {
    if (part.starts_with("t=")) t = std::string(part.substr(2));
    if (part.starts_with("v1=")) v1.emplace_back(part.substr(3));
  }
  std::string want = crypto::HexEncode(crypto::HmacSha256(secret, t + "." + std::string(body)));
  int n = 0;
  for (const std::string& mac : v1) n += mac == want ? 1 : 0;
  return n;
}

int CountSignatures(std::string_view header) {
  int n = 0;
  for (std::string_view part : Split(header, ',')) n += part.starts_with("v1=") ? 1 : 0;
  return n;
}

class WebhookSecurityTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--set", "log.level=warn"});
    ASSERT_TRUE(server_.Start(extra));
    auto session = server_.SignIn(server_.DemoLogin("admin"));
    ASSERT_TRUE(session);
    admin_ = *session;
  }

  std::pair<int, json> Register(const std::string& url) {
    return server_.Call(admin_, "POST", "/api/v1/webhook_endpoints",
                        {{"url", url}, {"topics", {"meeting.ready"}}});
  }

  // Connects the first demo doctor through the emulator, once.
  void ConnectDoctor() {
    auto [ds, doctors] = server_.Api("GET", "/api/v1/doctors");
    ASSERT_EQ(ds, 200);
    doctor_id_ = doctors["data"][0]["id"];
    std::string email = doctors["data"][0]["email"];
    auto [ss, services] = server_.Api("GET", "/api/v1/services");
    ASSERT_EQ(ss, 200);
    service_id_ = services["data"][0]["id"];
    auto [ps, patient] = server_.Api("POST", "/api/v1/patients", {{"name", "Mary Seacole"}});
    ASSERT_EQ(ps, 201) << patient.dump();
    patient_id_ = patient["id"];
    auto [cs, connect] =
        server_.Api("POST", "/api/v1/doctors/" + std::to_string(doctor_id_) + "/google/connect");
    ASSERT_EQ(cs, 201) << connect.dump();
    auto landed = server_.FinishConnect(connect["authorization_url"], email);
    ASSERT_TRUE(landed) << landed.error().ToString();
    ASSERT_EQ(landed->status, 200) << landed->body;
  }

  // Books a confirmed video consultation on `day` (2030-04-<day>); the reconciler gives it a
  // Meet link, which appends a meeting.ready event. Its event id.
  int64_t BookAndAwaitEvent(int day) {
    std::string start = "2030-04-" + std::string(day < 10 ? "0" : "") + std::to_string(day);
    auto [as, appointment] = server_.Api("POST", "/api/v1/appointments",
                                         {{"doctor_id", doctor_id_},
                                          {"service_id", service_id_},
                                          {"patient_id", patient_id_},
                                          {"start", start + "T10:00:00Z"},
                                          {"end", start + "T10:30:00Z"},
                                          {"time_zone", "UTC"},
                                          {"status", "confirmed"}});
    EXPECT_EQ(as, 201) << appointment.dump();
    int64_t id = appointment.value("id", int64_t{0});
    for (int i = 0; i < 300; ++i) {
      auto [es, events] = server_.Api("GET", "/api/v1/events?limit=100");
      if (es == 200) {
        for (const json& e : events["data"]) {
          if (e["type"] == "meeting.ready" && e["appointment_id"] == id) return e["id"];
        }
      }
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "no meeting.ready event for appointment " << id;
    return 0;
  }

  // Polls the delivery log of `event_id` until the endpoint's delivery satisfies `done`.
  json AwaitDelivery(int64_t event_id, int64_t endpoint_id,
                     const std::function<bool(const json&)>& done) {
    json last;
    for (int i = 0; i < 300; ++i) {
      auto [s, log] =
          server_.Api("GET", "/api/v1/events/" + std::to_string(event_id) + "/deliveries");
      if (s == 200) {
        for (const json& d : log["data"]) {
          if (d["endpoint_id"] != endpoint_id) continue;
          last = d;
          if (done(d)) return d;
        }
      }
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "the delivery never got there: " << last.dump();
    return last;
  }

  Receiver receiver_;
  SandboxServer server_;
  SandboxServer::Session admin_;
  int64_t doctor_id_ = 0, service_id_ = 0, patient_id_ = 0;
};

TEST_F(WebhookSecurityTest, InternalAddressesAreRefusedWhenAnEndpointIsRegistered) {
  Start();
  std::string port = receiver_.port();
  for (const std::string& url : std::vector<std::string>{
           "http://127.0.0.1:" + port + "/hook",
           "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
           "http://[::1]:" + port + "/hook", "http://10.0.0.1/hook", "http://192.168.0.1/hook",
           "http://0.0.0.0:" + port + "/hook", "http://[::ffff:127.0.0.1]:" + port + "/hook",
           "http://2130706433:" + port + "/hook", "http://[fd00::1]/hook",
           "http://224.0.0.1/hook"}) {
    auto [status, body] = Register(url);
    EXPECT_EQ(status, 400) << url << " " << body.dump();
    EXPECT_EQ(body["error"]["field"], "url") << url;
  }
  // Nor can an existing endpoint be moved inside.
  auto [cs, created] = Register("http://localhost:" + port + "/hook");
  ASSERT_EQ(cs, 201) << created.dump();
  auto [ps, patched] = server_.Call(
      admin_, "PATCH", "/api/v1/webhook_endpoints/" + std::to_string(created["id"].get<int64_t>()),
      {{"url", "http://169.254.169.254/latest/meta-data/"}});
  EXPECT_EQ(ps, 400) << patched.dump();
  EXPECT_EQ(patched["error"]["field"], "url");
  auto [ls, list] = server_.Call(admin_, "GET", "/api/v1/webhook_endpoints");
  ASSERT_EQ(ls, 200);
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["url"], "http://localhost:" + port + "/hook");
}

// A name is not resolved when saved, so it is checked where the client connects: localhost is
// loopback, and the receiver on loopback never hears from it (DNS rebinding meets the same
// check, made on every connection's resolved address).
TEST_F(WebhookSecurityTest, ANameResolvingToLoopbackIsBlockedWhenDelivering) {
  Start();
  auto [cs, created] = Register("http://localhost:" + receiver_.port() + "/hook");
  ASSERT_EQ(cs, 201) << created.dump();
  ConnectDoctor();
  int64_t event = BookAndAwaitEvent(2);
  json d = AwaitDelivery(event, created["id"], [](const json& d) { return d["attempts"] >= 1; });
  EXPECT_EQ(d["last_error"], "blocked") << d.dump();
  EXPECT_EQ(d["status"], "pending");
  EXPECT_TRUE(d["response_status"].is_null());
  EXPECT_TRUE(receiver_.received().empty());
}

TEST_F(WebhookSecurityTest, AListedHostGetsSignedDeliveries) {
  Start({"--set", "webhooks.allowed_hosts=127.0.0.1"});
  auto [cs, created] = Register("http://127.0.0.1:" + receiver_.port() + "/hook");
  ASSERT_EQ(cs, 201) << created.dump();
  std::string secret = created["secret"];
  // Listing one host opens no other.
  EXPECT_EQ(Register("http://169.254.169.254/latest/meta-data/").first, 400);
  ConnectDoctor();
  int64_t event = BookAndAwaitEvent(3);
  json d =
      AwaitDelivery(event, created["id"], [](const json& d) { return d["status"] == "delivered"; });
  EXPECT_EQ(d["last_error"], "");
  auto got = receiver_.received();
  ASSERT_EQ(got.size(), 1u);
  std::string header = got[0].Header("Telemeet-Signature").value_or("");
  EXPECT_EQ(CountSignatures(header), 1) << header;
  EXPECT_EQ(MatchingSignatures(header, secret, got[0].body), 1) << header;
}

TEST_F(WebhookSecurityTest, ARotatedSecretSignsBesideTheNewOneUntilTheGraceEnds) {
  Start({"--set", "webhooks.allowed_hosts=127.0.0.1"});
  auto [cs, created] = Register("http://127.0.0.1:" + receiver_.port() + "/hook");
  ASSERT_EQ(cs, 201) << created.dump();
  std::string first = created["secret"];
  std::string path = "/api/v1/webhook_endpoints/" + std::to_string(created["id"].get<int64_t>()) +
                     "/rotate_secret";
  // Only an admin session with its CSRF token rotates; the integrator's key cannot.
  EXPECT_EQ(server_.Api("POST", path).first, 403);
  auto [rs, rotated] = server_.Call(admin_, "POST", path, {{"grace", 3600}});
  ASSERT_EQ(rs, 200) << rotated.dump();
  std::string second = rotated["secret"];
  ASSERT_NE(second, first);
  EXPECT_TRUE(rotated["previous_secret_expires_at"].is_string());
  auto [gs, read] = server_.Call(admin_, "GET", path.substr(0, path.rfind('/')));
  EXPECT_EQ(read.dump().find(second), std::string::npos);
  EXPECT_FALSE(read.contains("secret"));

  ConnectDoctor();
  int64_t event = BookAndAwaitEvent(4);
  AwaitDelivery(event, created["id"], [](const json& d) { return d["status"] == "delivered"; });
  auto got = receiver_.received();
  ASSERT_EQ(got.size(), 1u);
  std::string during = got[0].Header("Telemeet-Signature").value_or("");
  EXPECT_EQ(CountSignatures(during), 2) << during;
  EXPECT_EQ(MatchingSignatures(during, second, got[0].body), 1) << during;
  EXPECT_EQ(MatchingSignatures(during, first, got[0].body), 1) << during;

  // Rotated again with no grace: only the newest secret signs.
  auto [rs2, again] = server_.Call(admin_, "POST", path, {{"grace", 0}});
  ASSERT_EQ(rs2, 200) << again.dump();
  std::string third = again["secret"];
  event = BookAndAwaitEvent(5);
  AwaitDelivery(event, created["id"], [](const json& d) { return d["status"] == "delivered"; });
  got = receiver_.received();
  ASSERT_EQ(got.size(), 2u);
  std::string after = got[1].Header("Telemeet-Signature").value_or("");
  EXPECT_EQ(CountSignatures(after), 1) << after;
  EXPECT_EQ(MatchingSignatures(after, third, got[1].body), 1) << after;
  EXPECT_EQ(MatchingSignatures(after, second, got[1].body), 0) << after;
  EXPECT_EQ(MatchingSignatures(after, first, got[1].body), 0) << after;
}

}  // namespace
}  // namespace telemeet
