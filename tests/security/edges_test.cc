// Issue 15's attacks on the edges of the real `telemeet serve` (sandbox mode), each replayed
// over HTTP and refused: response splitting through return_to, DNS rebinding, sign-in floods,
// patient ids of other doctors, an OAuth flow finished in another browser, per-method metrics
// series, and a public address that would put loopback links in emails.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "crypto/random.h"
#include "net/testing/raw_client.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using net::testing::RawClient;
using nlohmann::json;
using testing::SandboxServer;

class EdgesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start({"--set", "log.level=warn"})); }

  // One request written by hand, so the Host header and the method are ours to choose.
  std::optional<net::testing::RawResponse> Raw(const std::string& method, const std::string& target,
                                               const std::string& host, int port = 0) {
    RawClient c;
    if (!c.Connect(static_cast<uint16_t>(port == 0 ? server_.port() : port))) return std::nullopt;
    c.Send(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    return c.ReadResponse();
  }

  // The doctor id of the demo doctor signed in as `login`.
  int64_t DoctorIdOf(SandboxServer::Session& s) {
    auto [status, me] = server_.Call(s, "GET", "/api/v1/session");
    EXPECT_EQ(status, 200) << me.dump();
    return me["user"]["doctor_id"].get<int64_t>();
  }

  SandboxServer server_;
};

TEST_F(EdgesTest, ReturnToCannotSplitTheCallbacksResponse) {
  auto doctor = server_.SignIn(server_.DemoLogin("doctor", 1));
  ASSERT_TRUE(doctor);
  int64_t id = DoctorIdOf(*doctor);
  // The reported attack: a return_to with CR LF and a header of the attacker's choosing.
  auto [status, body] =
      server_.Call(*doctor, "POST", "/api/v1/doctors/" + std::to_string(id) + "/google/connect",
                   {{"return_to", "/doctor\r\nSet-Cookie: injected=1"}});
  EXPECT_EQ(status, 400) << body.dump();
  EXPECT_EQ(body["error"]["field"], "return_to");
  for (std::string bad :
       std::vector<std::string>{"/doctor\nX: y", std::string("/doctor\0x", 9), "//evil.example/",
                                "/\\evil.example", "https://evil.example/"}) {
    auto [st, b] =
        server_.Call(*doctor, "POST", "/api/v1/doctors/" + std::to_string(id) + "/google/connect",
                     {{"return_to", bad}});
    EXPECT_EQ(st, 400) << json(bad).dump() << " " << b.dump();
  }
  // The browser way in drops a bad return_to; the flow still ends on a page of ours, with no
  // header the caller wrote.
  net::ClientRequest start{.url = server_.base_url() +
                                  "/oauth/google/start?doctor_id=" + std::to_string(id) +
                                  "&return_to=%2Fdoctor%0D%0ASet-Cookie:%20injected=1"};
  start.headers.Add("Cookie", doctor->cookie);
  auto redirect = server_.Send(std::move(start));
  ASSERT_TRUE(redirect.has_value());
  ASSERT_EQ(redirect->status, 302) << redirect->body;
  auto landed = server_.FinishConnect(*redirect->headers.Get("Location"),
                                      server_.DemoLogin("doctor", 1).email,
                                      SandboxServer::SetCookie(redirect->headers, "tm_oauth"));
  ASSERT_TRUE(landed.has_value()) << landed.error().ToString();
  EXPECT_EQ(landed->status, 200) << landed->body;
  for (const auto& [name, value] : landed->headers) {
    EXPECT_EQ(value.find("injected"), std::string::npos) << name << ": " << value;
  }
}

TEST_F(EdgesTest, ADnsRebindingHostIsRefusedOnTelemeetAndOnItsEmulator) {
  for (std::string path : {"/api/v1/openapi.json", "/signin", "/api/v1/doctors"}) {
    auto r = Raw("GET", path, "attacker.example:" + std::to_string(server_.port()));
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(r->status, 421) << path;
  }
  auto ok = Raw("GET", "/api/v1/openapi.json", "127.0.0.1:" + std::to_string(server_.port()));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  ok = Raw("GET", "/api/v1/openapi.json", "localhost:" + std::to_string(server_.port()));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  // Probes answer load balancers, which name an address.
  auto probe = Raw("GET", "/healthz", "10.0.0.7");
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->status, 200);
  // The sandbox's emulator approves consent through its control API: not for other names.
  int google_port = testing::PortFromUrlLine(server_.google_url() + "/");
  auto control = Raw("GET", "/_emulator/requests", "attacker.example", google_port);
  ASSERT_TRUE(control.has_value());
  EXPECT_EQ(control->status, 421);
}

// The count of stored rows whose key starts with `prefix` in the settings table.
int SettingsRows(const std::filesystem::path& db, const std::string& prefix) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return -1;
  sqlite3_stmt* st = nullptr;
  int n = -1;
  std::string sql = "SELECT count(*) FROM settings WHERE key LIKE '" + prefix + "%'";
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

TEST_F(EdgesTest, ASignInFloodStoresNothingAndTheOwnersBrowserStillGetsIn) {
  SandboxServer::Login admin = server_.DemoLogin("admin");
  auto owner = server_.SignIn(admin);  // the admin's browser, before the attack
  ASSERT_TRUE(owner);
  ASSERT_FALSE(owner->device_cookie.empty());
  // The reported flood: 50 KB random "emails" with wrong passwords.
  for (int i = 0; i < 20; ++i) {
    std::string email = crypto::RandomToken(37'500);  // 50,000 characters
    net::ClientRequest r{.method = "POST", .url = server_.base_url() + "/api/v1/session"};
    r.headers.Add("Content-Type", "application/json");
    r.body = json{{"email", email}, {"password", "wrong"}}.dump();
    auto res = server_.Send(std::move(r));
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->status, 400) << res->body.substr(0, 200);
    EXPECT_EQ(json::parse(res->body)["error"]["field"], "email");
  }
  // Guessing the admin's password: five wrong answers, then a wait even for the right one.
  SandboxServer::Login guess{admin.email, "not the password"};
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(server_.SignIn(guess, "", true));
  net::ClientRequest r{.method = "POST", .url = server_.base_url() + "/api/v1/session"};
  r.headers.Add("Content-Type", "application/json");
  r.body = json{{"email", admin.email}, {"password", admin.password}}.dump();
  auto refused = server_.Send(std::move(r));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 429) << refused->body;
  EXPECT_TRUE(refused->headers.Has("Retry-After"));
  // Nothing an unauthenticated caller sent became a row.
  EXPECT_EQ(SettingsRows(server_.data_dir() / "telemeet.db", "login."), 0);
  // The owner's browser is counted on its own: no lockout the attacker holds.
  EXPECT_TRUE(server_.SignIn(admin, owner->device_cookie));
}

TEST_F(EdgesTest, ADoctorCannotProbeOrBookAnotherDoctorsPatients) {
  auto [ps, patient] =
      server_.Api("POST", "/api/v1/patients", {{"name", "Grace Hopper"}, {"time_zone", "UTC"}});
  ASSERT_EQ(ps, 201) << patient.dump();
  const int64_t theirs = patient["id"];
  auto doctor = server_.SignIn(server_.DemoLogin("doctor", 0));
  ASSERT_TRUE(doctor);
  int64_t me = DoctorIdOf(*doctor);
  auto [s1, b1] = server_.Call(*doctor, "GET", "/api/v1/patients/" + std::to_string(theirs));
  auto [s2, b2] = server_.Call(*doctor, "GET", "/api/v1/patients/" + std::to_string(theirs + 1000));
  EXPECT_EQ(s1, 404);
  EXPECT_EQ(s2, 404);
  EXPECT_EQ(b1["error"]["code"], b2["error"]["code"]);
  EXPECT_EQ(b1["error"]["message"], "patient " + std::to_string(theirs) + " does not exist");
  auto [services_status, services] = server_.Api("GET", "/api/v1/services");
  ASSERT_EQ(services_status, 200);
  auto [s3, b3] = server_.Call(*doctor, "POST", "/api/v1/appointments",
                               {{"doctor_id", me},
                                {"service_id", services["data"][0]["id"]},
                                {"patient_id", theirs},
                                {"start", "2031-01-06T10:00:00Z"}});
  EXPECT_EQ(s3, 404) << b3.dump();
  EXPECT_EQ(b3["error"]["field"], "patient_id");
}

TEST_F(EdgesTest, AConnectStartedInOneBrowserCannotBeFinishedInAnother) {
  auto doctor = server_.SignIn(server_.DemoLogin("doctor", 0));
  ASSERT_TRUE(doctor);
  int64_t id = DoctorIdOf(*doctor);
  const std::string email = server_.DemoLogin("doctor", 0).email;
  auto [st, started] =
      server_.Call(*doctor, "POST", "/api/v1/doctors/" + std::to_string(id) + "/google/connect");
  ASSERT_EQ(st, 201) << started.dump();
  // The consent link, lured into another browser (without the flow's cookie, even with a
  // session of its own): refused.
  auto elsewhere = server_.FinishConnect(started["authorization_url"], email, doctor->cookie);
  ASSERT_TRUE(elsewhere.has_value());
  EXPECT_EQ(elsewhere->status, 400);
  EXPECT_NE(elsewhere->body.find("another browser"), std::string::npos);
  auto [gs, grant] = server_.Api("GET", "/api/v1/doctors/" + std::to_string(id) + "/google");
  EXPECT_EQ(grant["connected"], false);
  // In the browser that started it, it completes.
  std::tie(st, started) =
      server_.Call(*doctor, "POST", "/api/v1/doctors/" + std::to_string(id) + "/google/connect");
  ASSERT_EQ(st, 201);
  // The cookie is SameSite=Lax: Google's redirect back (another site) carries it, where the
  // Strict session cookie would stay behind.
  std::string oauth_cookie = server_.LastSetCookie("tm_oauth");
  ASSERT_NE(oauth_cookie.find("tm_oauth="), std::string::npos);
  auto here = server_.FinishConnect(started["authorization_url"], email, oauth_cookie);
  ASSERT_TRUE(here.has_value());
  EXPECT_EQ(here->status, 200) << here->body;
  std::tie(gs, grant) = server_.Api("GET", "/api/v1/doctors/" + std::to_string(id) + "/google");
  EXPECT_EQ(grant["connected"], true);
  // An integrator's flow (API key) is bound to no browser: the doctor finishes it anywhere.
  auto [ks, by_key] =
      server_.Api("POST", "/api/v1/doctors/" + std::to_string(id) + "/google/connect");
  ASSERT_EQ(ks, 201);
  auto anywhere = server_.FinishConnect(by_key["authorization_url"], email);
  ASSERT_TRUE(anywhere.has_value());
  EXPECT_EQ(anywhere->status, 200) << anywhere->body;
}

TEST_F(EdgesTest, ConnectingAnotherGoogleAccountIsAnnounced) {
  const int64_t id = 1;
  auto connect = [&](const std::string& account) {
    auto [st, started] =
        server_.Api("POST", "/api/v1/doctors/" + std::to_string(id) + "/google/connect");
    ASSERT_EQ(st, 201) << started.dump();
    auto done = server_.FinishConnect(started["authorization_url"], account);
    ASSERT_TRUE(done.has_value());
    ASSERT_EQ(done->status, 200) << done->body;
  };
  connect(server_.DemoLogin("doctor", 0).email);
  connect(server_.DemoLogin("doctor", 0).email);  // the same account again: nothing to say
  auto admin = server_.SignIn(server_.DemoLogin("admin"));
  ASSERT_TRUE(admin);
  auto changes = [&] {
    auto [st, events] = server_.Call(*admin, "GET", "/api/v1/events");
    EXPECT_EQ(st, 200) << events.dump();
    int n = 0;
    for (const auto& e : events["data"])
      n += e.value("type", "") == "doctor.google_account_changed";
    return n;
  };
  EXPECT_EQ(changes(), 0);
  connect(server_.DemoLogin("doctor", 1).email);  // another account for the same doctor
  EXPECT_EQ(changes(), 1);
  // The admin audit says so, and names the API key that started each flow.
  auto [as, audit] = server_.Call(*admin, "GET", "/api/v1/audit?kind=google_connection");
  ASSERT_EQ(as, 200) << audit.dump();
  int started = 0, changed = 0;
  for (const auto& e : audit["data"]) {
    if (e["action"] == "google.connect_started") {
      ++started;
      EXPECT_TRUE(e["actor"].get<std::string>().starts_with("api_key:")) << e.dump();
      EXPECT_EQ(e["target"], "doctor:1");
    }
    if (e["action"] == "google.account_changed") {
      ++changed;
      EXPECT_EQ(e["detail"]["account_email"], server_.DemoLogin("doctor", 1).email) << e.dump();
      EXPECT_EQ(e["detail"]["previous_account_email"], server_.DemoLogin("doctor", 0).email);
    }
  }
  EXPECT_EQ(started, 3);
  EXPECT_EQ(changed, 1);
}

TEST_F(EdgesTest, MetricsKeepOneSeriesForEveryUnknownMethod) {
  for (std::string m : {"FOO", "BAR", "X-ANYTHING"}) ASSERT_TRUE(Raw(m, "/healthz", "127.0.0.1"));
  std::string text;
  for (int i = 0; i < 50 && text.find("method=\"OTHER\"") == std::string::npos; ++i) {
    auto r = Raw("GET", "/metrics", "127.0.0.1");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200);
    text = r->body;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(text.find("method=\"OTHER\""), std::string::npos);
  EXPECT_EQ(text.find("X-ANYTHING"), std::string::npos);
  EXPECT_EQ(text.find("\"FOO\""), std::string::npos);
}

TEST(EdgesStartTest, AnHttpsPublicUrlSendsHsts) {
  SandboxServer s;
  ASSERT_TRUE(s.Start({"--set", "server.public_url=https://localhost"}));
  auto r = net::testing::Fetch(static_cast<uint16_t>(s.port()), "GET", "/api/v1/openapi.json");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->headers.Get("Strict-Transport-Security"), "max-age=31536000");
}

TEST(EdgesStartTest, APublicAddressWithoutAPublicUrlIsRefused) {
  SandboxServer s;
  auto child =
      testing::ChildProcess::Start({TELEMEET_BINARY, "serve", "--port", "0", "--data-dir",
                                    (s.data_dir() / "x").string(), "--address", "0.0.0.0"});
  ASSERT_TRUE(child.has_value());
  auto code = (*child)->Wait(20s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE((*child)->errors().find("server.public_url"), std::string::npos) << (*child)->errors();
}

}  // namespace
}  // namespace telemeet
