// The API through real HTTP: the real server on port 0 over a real SQLite store, the Google
// connect flow against the in-process emulator, and webhook deliveries to a local receiver.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "api/api.h"
#include "api/auth.h"
#include "api/google_settings.h"
#include "api/webhooks.h"
#include "core/meeting.h"
#include "core/time.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "emulator/server/fake_google.h"
#include "google/calendar_client.h"
#include "google/grant_store.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/retry.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/json.h"
#include "sync/bulk.h"
#include "sync/call_collector.h"
#include "sync/grant_store_adapter.h"
#include "sync/reconciler.h"

namespace telemeet::api {
namespace {

using nlohmann::json;

// A webhook receiver: records every request; answers the scripted statuses, then 200.
class Receiver {
 public:
  Receiver() {
    router_.Post("/hooks", [this](net::Request& req) {
      std::lock_guard lock(mu_);
      received_.push_back(req);
      int status = 200;
      if (!script_.empty()) {
        status = script_.front();
        script_.erase(script_.begin());
      }
      return net::Response::Text(status, "ok");
    });
    // Answers after a second: longer than the dispatcher waits in the timeout test.
    router_.Post("/slow", [this](net::Request& req) {
      std::lock_guard lock(mu_);
      received_.push_back(req);
      net::Response res = net::Response::Text(200, "late");
      res.delay = std::chrono::seconds(1);
      return res;
    });
    server_ = std::make_unique<net::HttpServer>(net::ServerOptions{.port = 0}, router_);
    EXPECT_TRUE(server_->Start());
  }
  // The server stops first: a delivery still arriving must not meet a destroyed vector.
  ~Receiver() { server_->Shutdown(std::chrono::milliseconds(0)); }
  std::string url() const { return server_->BaseUrl() + "/hooks"; }
  int port() const { return server_->port(); }
  void Script(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    script_ = std::move(statuses);
  }
  std::vector<net::Request> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  std::mutex mu_;
  std::vector<net::Request> received_;
  std::vector<int> script_;
};

// The receivers here listen on 127.0.0.1 over plain http: allowed the way an operator would
// (webhooks.allowed_hosts = ["127.0.0.1"], webhooks.allow_http = true).
net::DestinationPolicy LocalReceivers() {
  return {.allow_http = true, .allowed_hosts = {"127.0.0.1"}};
}

class ApiIntegrationTest : public ::testing::Test {
 protected:
  ApiIntegrationTest() : clock_(SystemClock::Instance().Now()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tm-api-it-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    store_ = std::move(*store::OpenStore("sqlite://" + dir_ + "/db.sqlite", clock_));
    EXPECT_TRUE(store_->Migrate());
    EXPECT_TRUE(keys_.Add("k1", crypto::RandomBytes(32)));
    deps_ = std::make_unique<ApiDeps>(
        ApiDeps{.store = *store_,
                .clock = clock_,
                .keys = &keys_,
                .on_work_enqueued = [this] { ++nudges_; },
                .options = {.password_limits = crypto::PasswordLimits::Minimum(),
                            .webhook_destinations = LocalReceivers()}});
    RegisterApiRoutes(router_, *deps_);
    server_ = std::make_unique<net::HttpServer>(net::ServerOptions{.port = 0}, router_);
    EXPECT_TRUE(server_->Start());
    deps_->options.public_url = server_->BaseUrl();
    EXPECT_TRUE(CreateAdmin(*store_, "admin@clinic.example", "correct horse battery",
                            crypto::PasswordLimits::Minimum()));
    key_ = CreateApiKey(*store_, "booking", "read write")->secret;
    auto login = Send(
        "POST", "/api/v1/session",
        json{{"email", "admin@clinic.example"}, {"password", "correct horse battery"}}.dump(), {});
    EXPECT_EQ(login.status, 201);
    std::string cookie = login.headers.Get("Set-Cookie").value_or("");
    admin_cookie_ = cookie.substr(0, cookie.find(';'));
    admin_csrf_ = net::ParseJson(login.body)->at("csrf_token");
  }
  ~ApiIntegrationTest() override {
    server_->Shutdown(std::chrono::milliseconds(0));
    google_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  net::ClientResponse Send(std::string method, std::string path, std::string body,
                           KeyValues headers) {
    net::ClientRequest req{.method = std::move(method),
                           .url = path.starts_with("http") ? path : server_->BaseUrl() + path,
                           .body = std::move(body),
                           .timeout = std::chrono::seconds(10)};
    for (const auto& [k, v] : headers) req.headers.Set(k, v);
    if (!req.body.empty() && !req.headers.Has("Content-Type")) {
      req.headers.Set("Content-Type", "application/json");
    }
    auto r = http_.Send(std::move(req));
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : net::ClientResponse{};
  }
  net::ClientResponse AsKey(std::string method, std::string path, const json& body = nullptr,
                            KeyValues headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + key_);
    return Send(std::move(method), std::move(path), body.is_null() ? "" : body.dump(), headers);
  }
  net::ClientResponse AsAdmin(std::string method, std::string path, const json& body = nullptr) {
    return Send(std::move(method), std::move(path), body.is_null() ? "" : body.dump(),
                {{"Cookie", admin_cookie_}, {"X-CSRF-Token", admin_csrf_}});
  }
  static json J(const net::ClientResponse& r) { return json::parse(r.body, nullptr, false); }

  int64_t MakeDoctor(std::string email) {
    auto r = AsKey("POST", "/api/v1/doctors", {{"name", "Dr " + email}, {"email", email}});
    EXPECT_EQ(r.status, 201) << r.body;
    return J(r)["id"];
  }

  // Starts fake-google with our callback as the registered redirect URI and wires the Google
  // side of the deps to it.
  void StartGoogle() {
    emulator::FakeGoogleOptions o;
    redirect_ = server_->BaseUrl() + "/oauth/google/callback";
    o.clients.push_back({.client_id = "telemeet",
                         .client_secret = "telemeet-secret",
                         .redirect_uris = {redirect_}});
    // A second OAuth client, for saving new credentials through the settings API.
    o.clients.push_back({.client_id = "clinic-b.apps.googleusercontent.com",
                         .client_secret = "clinic-b-secret",
                         .redirect_uris = {redirect_}});
    o.accounts.push_back({.email = "ada@clinic.example", .sub = "", .name = "Ada"});
    o.accounts.push_back({.email = "bob@clinic.example", .sub = "", .name = "Bob"});
    o.oauth.auto_approve = true;
    google_ = std::make_unique<emulator::FakeGoogle>(o);
    ASSERT_TRUE(google_->Start());
    std::string base = google_->base_url();
    transport_ = std::make_unique<google::HttpTransport>(http_);
    retry_ = std::make_unique<google::RetryPolicy>(google::RetryOptions{.max_attempts = 2}, clock_,
                                                   google::RealSleeper::Instance(), 1);
    // Wired as `telemeet serve` wires it: the configured client is the default, saved settings
    // win and take effect at once.
    live_ = std::make_unique<LiveGoogleConfig>(
        *store_, keys_, clock_,
        google::OAuthConfig{.client_id = "telemeet",
                            .client_secret = "telemeet-secret",
                            .redirect_uri = redirect_,
                            .auth_url = base + "/o/oauth2/v2/auth",
                            .token_url = base + "/token",
                            .revoke_url = base + "/revoke"},
        LiveGoogleConfig::Options{});
    ASSERT_TRUE(live_->Reload());
    oauth_ = std::make_unique<google::OAuthClient>(
        *live_, google::OAuthDeps{.transport = *transport_, .clock = clock_, .retry = *retry_});
    grants_ = std::make_unique<sync::StoreGrantStore>(*store_);
    tokens_ = std::make_unique<google::TokenProvider>(*oauth_, *grants_, keys_, clock_);
    calendar_ = std::make_unique<google::CalendarClient>(
        google::CalendarOptions{.base_url = base},
        google::CalendarDeps{.transport = *transport_,
                             .tokens = *tokens_,
                             .retry = *retry_,
                             .clock = clock_,
                             .sleeper = google::RealSleeper::Instance(),
                             .observer = &calls_});
    deps_->oauth = oauth_.get();
    deps_->google_config = live_.get();
    deps_->tokens = tokens_.get();
    deps_->calendar = calendar_.get();
  }

  // Follows the authorization URL (the emulator auto-approves) to the callback URL.
  std::string AuthorizeAtGoogle(const std::string& authorization_url) {
    auto r = Send("GET", authorization_url, "", {});
    EXPECT_EQ(r.status, 302) << r.body;
    return r.headers.Get("Location").value_or("");
  }

  FakeClock clock_;
  sync::CallCollector calls_;  // the reconciler's audit of the calendar's calls
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  crypto::KeyRing keys_;
  std::unique_ptr<ApiDeps> deps_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  net::HttpClient http_;
  std::string key_, admin_cookie_, admin_csrf_, redirect_;
  std::atomic<int> nudges_{0};

  std::unique_ptr<emulator::FakeGoogle> google_;
  std::unique_ptr<google::HttpTransport> transport_;
  std::unique_ptr<google::RetryPolicy> retry_;
  std::unique_ptr<LiveGoogleConfig> live_;
  std::unique_ptr<google::OAuthClient> oauth_;
  std::unique_ptr<sync::StoreGrantStore> grants_;
  std::unique_ptr<google::TokenProvider> tokens_;
  std::unique_ptr<google::CalendarClient> calendar_;
};

TEST_F(ApiIntegrationTest, BooksThroughHttpWithIdempotencyAndClearErrors) {
  int64_t doctor = MakeDoctor("ada@clinic.example");
  auto svc = AsKey("POST", "/api/v1/services", {{"name", "Video"}, {"telemedicine", true}});
  auto pat = AsKey("POST", "/api/v1/patients", {{"name", "Pat"}, {"email", "pat@example.com"}});
  ASSERT_EQ(svc.status, 201);
  ASSERT_EQ(pat.status, 201);
  json booking = {{"doctor_id", doctor},
                  {"service_id", J(svc)["id"]},
                  {"patient_id", J(pat)["id"]},
                  {"start", "2026-06-02T09:00:00Z"},
                  {"status", "confirmed"}};
  auto first = AsKey("POST", "/api/v1/appointments", booking, {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.headers.Get("Content-Type"), "application/json; charset=utf-8");
  auto again = AsKey("POST", "/api/v1/appointments", booking, {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(J(again)["id"], J(first)["id"]);
  booking["start"] = "2026-06-03T09:00:00Z";
  auto reused = AsKey("POST", "/api/v1/appointments", booking, {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(reused.status, 422);
  EXPECT_EQ(J(reused)["error"]["field"], "Idempotency-Key");
  EXPECT_GT(nudges_.load(), 0);

  int64_t id = J(first)["id"];
  auto got = AsKey("GET", "/api/v1/appointments/" + std::to_string(id));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(J(got)["status"], "confirmed");
  EXPECT_EQ(J(got)["meeting"]["state"], "not_needed");

  // Errors over the wire keep the JSON error shape.
  auto malformed = Send("POST", "/api/v1/patients", "{oops", {{"Authorization", "Bearer " + key_}});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(J(malformed)["error"]["code"], "invalid_argument");
  auto big = Send("POST", "/api/v1/patients", "{\"name\":\"" + std::string(100'000, 'a') + "\"}",
                  {{"Authorization", "Bearer " + key_}});
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(J(big)["error"]["code"], "payload_too_large");
  auto anonymous = Send("GET", "/api/v1/appointments", "", {});
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(J(anonymous)["error"]["code"], "unauthenticated");
  auto missing = AsKey("GET", "/api/v1/appointments/424242");
  EXPECT_EQ(missing.status, 404);
  auto wrong_method = AsKey("PUT", "/api/v1/appointments/1");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(J(wrong_method)["error"]["code"], "method_not_allowed");
  auto doc = Send("GET", "/api/v1/openapi.json", "", {});
  EXPECT_EQ(doc.status, 200);
  EXPECT_EQ(J(doc)["info"]["title"], "telemeet API");
}

TEST_F(ApiIntegrationTest, GoogleConnectStatusTestDisconnect) {
  StartGoogle();
  int64_t doctor = MakeDoctor("ada@clinic.example");
  std::string base = "/api/v1/doctors/" + std::to_string(doctor) + "/google";
  EXPECT_EQ(J(AsKey("GET", base))["status"], "not_connected");

  // Work parked while the doctor had no grant wakes on connect.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    core::Job job{
        .kind = "reconcile", .key = "reconcile:test", .doctor_id = doctor, .run_at = clock_.Now()};
    auto j = tx.UpsertJob(job);
    if (!j) return std::unexpected(j.error());
    auto n = tx.ParkDoctorJobs(doctor, "no grant");
    if (!n) return std::unexpected(n.error());
    return Ok();
  }));

  auto start = AsKey("POST", base + "/connect");
  ASSERT_EQ(start.status, 201) << start.body;
  std::string auth_url = J(start)["authorization_url"];
  EXPECT_NE(auth_url.find("code_challenge_method=S256"), std::string::npos);
  EXPECT_NE(auth_url.find("access_type=offline"), std::string::npos);
  std::string callback = AuthorizeAtGoogle(auth_url);
  ASSERT_TRUE(callback.starts_with(redirect_)) << callback;
  auto page = Send("GET", callback, "", {});
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("connected to ada@clinic.example"), std::string::npos) << page.body;

  json status = J(AsKey("GET", base));
  EXPECT_EQ(status["connected"], true);
  EXPECT_EQ(status["account_email"], "ada@clinic.example");
  auto job = store_->Read([](store::Tx& tx) { return tx.GetJob("reconcile:test"); });
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, core::JobState::kReady);

  // The state was single use: the same callback again is refused in plain words.
  auto replay = Send("GET", callback, "", {});
  EXPECT_EQ(replay.status, 400);
  EXPECT_NE(replay.body.find("expired or was already used"), std::string::npos);

  auto test = AsKey("POST", base + "/test");
  ASSERT_EQ(test.status, 200) << test.body;
  EXPECT_EQ(J(test)["ok"], true);
  EXPECT_EQ(J(test)["account_email"], "ada@clinic.example");

  auto gone = AsKey("DELETE", base);
  ASSERT_EQ(gone.status, 200) << gone.body;
  EXPECT_EQ(J(gone)["revoked_at_google"], true);
  EXPECT_EQ(J(AsKey("GET", base))["status"], "not_connected");
  auto after = AsKey("POST", base + "/test");
  EXPECT_EQ(J(after)["ok"], false);
  EXPECT_EQ(J(after)["needs_reconnect"], true);
  EXPECT_EQ(AsKey("DELETE", base).status, 409);  // nothing left to disconnect
}

TEST_F(ApiIntegrationTest, SavedClientCredentialsAreUsedByTheNextConnectWithoutARestart) {
  StartGoogle();
  // The configured client: Google accepts it.
  auto check = AsAdmin("POST", "/api/v1/settings/google/test");
  ASSERT_EQ(check.status, 200) << check.body;
  EXPECT_EQ(J(check)["ok"], true) << check.body;
  EXPECT_EQ(J(check)["client_id"], "telemeet");

  // A wrong secret: Google refuses the client (invalid_client), and the check says so.
  ASSERT_EQ(AsAdmin("PATCH", "/api/v1/settings/google", {{"client_secret", "not-it"}}).status, 200);
  auto refused = AsAdmin("POST", "/api/v1/settings/google/test");
  ASSERT_EQ(refused.status, 200) << refused.body;
  EXPECT_EQ(J(refused)["ok"], false);
  EXPECT_EQ(J(refused)["reason"], "invalid_client") << refused.body;

  // The second client's credentials, saved through the API, are used from the next call on.
  auto saved = AsAdmin(
      "PATCH", "/api/v1/settings/google",
      {{"client_id", "clinic-b.apps.googleusercontent.com"}, {"client_secret", "clinic-b-secret"}});
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(J(saved)["client_id"], "clinic-b.apps.googleusercontent.com");
  EXPECT_EQ(J(saved)["restart_required"], false);
  EXPECT_EQ(saved.body.find("clinic-b-secret"), std::string::npos);
  auto accepted = AsAdmin("POST", "/api/v1/settings/google/test");
  EXPECT_EQ(J(accepted)["ok"], true) << accepted.body;
  EXPECT_EQ(J(accepted)["client_id"], "clinic-b.apps.googleusercontent.com");

  int64_t doctor = MakeDoctor("ada@clinic.example");
  std::string base = "/api/v1/doctors/" + std::to_string(doctor) + "/google";
  auto start = AsKey("POST", base + "/connect");
  ASSERT_EQ(start.status, 201) << start.body;
  std::string auth_url = J(start)["authorization_url"];
  EXPECT_NE(auth_url.find("client_id=clinic-b.apps.googleusercontent.com"), std::string::npos)
      << auth_url;
  // Google issued the code to clinic-b: the exchange succeeds only with clinic-b's id and secret.
  auto page = Send("GET", AuthorizeAtGoogle(auth_url), "", {});
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_TRUE(J(AsKey("GET", base))["connected"]);
  // The calendar calls refresh nothing yet; the grant works with the new client.
  auto test = AsKey("POST", base + "/test");
  EXPECT_EQ(J(test)["ok"], true) << test.body;

  // Back to the configured client (null = the configuration file's value).
  ASSERT_EQ(AsAdmin("PATCH", "/api/v1/settings/google",
                    {{"client_id", nullptr}, {"client_secret", nullptr}})
                .status,
            200);
  auto again = AsKey("POST", base + "/connect");
  ASSERT_EQ(again.status, 201);
  EXPECT_NE(J(again)["authorization_url"].get<std::string>().find("client_id=telemeet&"),
            std::string::npos);
}

TEST_F(ApiIntegrationTest, CallbackRefusesBadStatesAndExplainsGoogleErrors) {
  StartGoogle();
  int64_t ada = MakeDoctor("ada@clinic.example");
  int64_t bob = MakeDoctor("bob@clinic.example");
  auto connect = [&](int64_t doctor) {
    auto r = AsKey("POST", "/api/v1/doctors/" + std::to_string(doctor) + "/google/connect");
    EXPECT_EQ(r.status, 201) << r.body;
    return AuthorizeAtGoogle(J(r)["authorization_url"]);
  };
  auto state_of = [](const std::string& url) {
    auto q = ParseQuery(url.substr(url.find('?') + 1));
    return FindValue(*q, "state").value_or("");
  };

  auto no_state = Send("GET", "/oauth/google/callback?code=abc", "", {});
  EXPECT_EQ(no_state.status, 400);
  EXPECT_NE(no_state.body.find("incomplete"), std::string::npos);
  EXPECT_EQ(no_state.headers.Get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(Send("GET", "/oauth/google/callback?state=made-up&code=abc", "", {}).status, 400);

  // The doctor declined at Google.
  std::string declined = connect(ada);
  auto denied = Send(
      "GET", "/oauth/google/callback?error=access_denied&state=" + UrlEncode(state_of(declined)),
      "", {});
  EXPECT_EQ(denied.status, 400);
  EXPECT_NE(denied.body.find("not allowed"), std::string::npos);

  // Google names a redirect URI it does not know for the client, at the consent screen ...
  auto mismatch = Send("GET",
                       "/oauth/google/callback?error=redirect_uri_mismatch&state=" +
                           UrlEncode(state_of(connect(ada))),
                       "", {});
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_NE(mismatch.body.find("authorized redirect URIs"), std::string::npos) << mismatch.body;
  // ... or at the code exchange: the admin changed the redirect URI in the middle of a flow.
  std::string midway = connect(ada);
  ASSERT_EQ(AsAdmin("PATCH", "/api/v1/settings/google",
                    {{"redirect_uri", "https://elsewhere.example/oauth/google/callback"}})
                .status,
            200);
  auto exchanged = Send("GET", midway, "", {});
  EXPECT_EQ(exchanged.status, 400);
  EXPECT_NE(exchanged.body.find("https://elsewhere.example/oauth/google/callback"),
            std::string::npos)
      << exchanged.body;
  ASSERT_EQ(AsAdmin("PATCH", "/api/v1/settings/google", {{"redirect_uri", nullptr}}).status, 200);

  // A code Google no longer accepts.
  std::string stale = connect(ada);
  auto invalid =
      Send("GET", "/oauth/google/callback?code=bogus&state=" + UrlEncode(state_of(stale)), "", {});
  EXPECT_EQ(invalid.status, 400);
  EXPECT_NE(invalid.body.find("has expired"), std::string::npos) << invalid.body;

  // The doctor unticked the calendar permission (the request reaches Google without it). Bob
  // has never granted it before, so Google's include_granted_scopes cannot add it back.
  auto partial = AsKey("POST", "/api/v1/doctors/" + std::to_string(bob) + "/google/connect");
  std::string url = J(partial)["authorization_url"];
  std::string calendar_scope = UrlEncode(google::kCalendarScope);
  ASSERT_NE(url.find(calendar_scope), std::string::npos) << url;
  url.replace(url.find(calendar_scope), calendar_scope.size(), "openid%20email");
  auto no_scope = Send("GET", AuthorizeAtGoogle(url), "", {});
  EXPECT_EQ(no_scope.status, 400);
  EXPECT_NE(no_scope.body.find("Calendar access is missing"), std::string::npos) << no_scope.body;

  // Expired: more than 10 minutes between start and callback.
  std::string slow = connect(ada);
  clock_.Advance(std::chrono::minutes(11));
  auto expired = Send("GET", slow, "", {});
  EXPECT_EQ(expired.status, 400);
  EXPECT_NE(expired.body.find("expired or was already used"), std::string::npos);

  // Foreign: Bob, signed in, cannot finish the flow started for Ada.
  auto user = AsAdmin("POST", "/api/v1/users",
                      {{"email", "bob.user@clinic.example"},
                       {"password", "bob password 1"},
                       {"role", "doctor"},
                       {"doctor_id", bob}});
  ASSERT_EQ(user.status, 201) << user.body;
  auto login =
      Send("POST", "/api/v1/session",
           json{{"email", "bob.user@clinic.example"}, {"password", "bob password 1"}}.dump(), {});
  ASSERT_EQ(login.status, 201);
  std::string bob_cookie = login.headers.Get("Set-Cookie").value_or("");
  bob_cookie = bob_cookie.substr(0, bob_cookie.find(';'));
  std::string adas = connect(ada);
  auto foreign = Send("GET", adas, "", {{"Cookie", bob_cookie}});
  EXPECT_EQ(foreign.status, 400);
  EXPECT_NE(foreign.body.find("someone else"), std::string::npos);
  EXPECT_EQ(J(AsKey("GET", "/api/v1/doctors/" + std::to_string(ada) + "/google"))["connected"],
            false);
  // And Bob cannot start a flow for Ada either.
  auto start_for_ada =
      Send("POST", "/api/v1/doctors/" + std::to_string(ada) + "/google/connect", "",
           {{"Cookie", bob_cookie}, {"X-CSRF-Token", J(login)["csrf_token"].get<std::string>()}});
  EXPECT_EQ(start_for_ada.status, 403);
}

TEST_F(ApiIntegrationTest, WebhooksAreSignedRetriedAndLogged) {
  Receiver receiver;
  receiver.Script({500});  // the first attempt fails
  auto created = AsAdmin("POST", "/api/v1/webhook_endpoints",
                         {{"url", receiver.url()}, {"topics", {"meeting.ready"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string secret = J(created)["secret"];
  // An endpoint for another topic and an inactive one hear nothing.
  ASSERT_EQ(AsAdmin("POST", "/api/v1/webhook_endpoints",
                    {{"url", receiver.url() + "?other"}, {"topics", {"meeting.failed"}}})
                .status,
            201);
  ASSERT_EQ(AsAdmin("POST", "/api/v1/webhook_endpoints",
                    {{"url", receiver.url() + "?inactive"}, {"active", false}})
                .status,
            201);

  // What the reconciler writes when a meeting becomes ready.
  auto event = store_->Transact([&](store::Tx& tx) {
    return tx.AppendOutbox(
        {.topic = "meeting.ready",
         .payload = json{{"join_url", "https://meet.google.com/abc-defg-hij"}}.dump()});
  });
  ASSERT_TRUE(event);

  WebhookDispatcher dispatcher(*store_, clock_, keys_,
                               {.owner = "test", .destinations = LocalReceivers()});
  ASSERT_EQ(dispatcher.RunDue().value_or(-1), 1);
  ASSERT_EQ(receiver.received().size(), 1u);
  std::string log_path = "/api/v1/events/" + std::to_string(event->id) + "/deliveries";
  json log = J(AsAdmin("GET", log_path));
  ASSERT_EQ(log["data"].size(), 1u);
  EXPECT_EQ(log["data"][0]["status"], "pending");
  EXPECT_EQ(log["data"][0]["response_status"], 500);

  // Not due before the backoff has passed, delivered after.
  EXPECT_EQ(dispatcher.RunDue().value_or(-1), 0);
  clock_.Advance(std::chrono::seconds(3));
  EXPECT_EQ(dispatcher.RunDue().value_or(-1), 1);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  const net::Request& req = got[1];
  EXPECT_EQ(req.path, "/hooks");
  EXPECT_EQ(req.Header("Telemeet-Event-Type"), "meeting.ready");
  auto sig = req.Header(kSignatureHeader);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(VerifySignature(*sig, secret, req.body, clock_.Now()));
  EXPECT_FALSE(VerifySignature(*sig, "whsec_wrong", req.body, clock_.Now()));
  json body = json::parse(req.body);
  EXPECT_EQ(body["type"], "meeting.ready");
  EXPECT_EQ(body["data"]["join_url"], "https://meet.google.com/abc-defg-hij");
  log = J(AsAdmin("GET", log_path));
  EXPECT_EQ(log["data"][0]["status"], "delivered");
  EXPECT_EQ(log["data"][0]["attempts"], 2);
  auto job =
      store_->Read([&](store::Tx& tx) { return tx.GetJob("outbox:" + std::to_string(event->id)); });
  EXPECT_FALSE(job.has_value());  // done
}

TEST_F(ApiIntegrationTest, WebhookGivesUpAfterMaxAttemptsAndLoopDeliversOnNudge) {
  Receiver receiver;
  receiver.Script({503, 503});
  ASSERT_EQ(AsAdmin("POST", "/api/v1/webhook_endpoints", {{"url", receiver.url()}}).status, 201);
  auto append = [&](std::string topic) {
    return store_->Transact(
        [&](store::Tx& tx) { return tx.AppendOutbox({.topic = topic, .payload = "{}"}); });
  };
  auto first = append("meeting.failed");
  ASSERT_TRUE(first);
  obs::Registry metrics;
  WebhookDispatcher dispatcher(*store_, clock_, keys_,
                               {.owner = "test",
                                .max_attempts = 2,
                                .poll_interval = std::chrono::seconds(30),
                                .destinations = LocalReceivers(),
                                .metrics = &metrics});
  auto has = [&](const std::string& line) {
    return metrics.Render().find(line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has(R"(telemeet_webhook_deliveries_total{outcome="delivered"} 0)"));
  ASSERT_EQ(dispatcher.RunDue().value_or(-1), 1);
  clock_.Advance(std::chrono::seconds(3));
  ASSERT_EQ(dispatcher.RunDue().value_or(-1), 1);
  json log = J(AsAdmin("GET", "/api/v1/events/" + std::to_string(first->id) + "/deliveries"));
  EXPECT_EQ(log["data"][0]["status"], "failed");
  EXPECT_EQ(log["data"][0]["attempts"], 2);
  EXPECT_TRUE(has(R"(telemeet_webhook_deliveries_total{outcome="retry"} 1)")) << metrics.Render();
  EXPECT_TRUE(has(R"(telemeet_webhook_deliveries_total{outcome="failed"} 1)"));
  EXPECT_TRUE(has(R"(telemeet_webhook_delivery_errors_total{error="http_5xx"} 2)"));

  // The loop: a nudge wakes it long before its 30 s poll.
  dispatcher.Start();
  ASSERT_TRUE(append("meeting.cancelled"));
  dispatcher.Nudge();
  for (int i = 0; i < 200 && receiver.received().size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  dispatcher.Stop();
  ASSERT_EQ(receiver.received().size(), 3u);
  EXPECT_EQ(receiver.received()[2].Header("Telemeet-Event-Type"), "meeting.cancelled");
  EXPECT_TRUE(has(R"(telemeet_webhook_deliveries_total{outcome="delivered"} 1)"))
      << metrics.Render();
}

// What an attempt's failure was, per endpoint id, as the delivery log of `event_id` shows it.
std::map<int64_t, json> LogByEndpoint(const json& log) {
  std::map<int64_t, json> out;
  for (const json& d : log["data"]) out[d["endpoint_id"].get<int64_t>()] = d;
  return out;
}

// A name that resolves to loopback passes when saved (names are not resolved then) but every
// delivery attempt is refused where the client connects, before any TCP handshake; the same
// for a literal internal address saved before the rule existed. Listing the host lets it through.
TEST_F(ApiIntegrationTest, WebhookToAnInternalAddressIsBlockedAtConnectTime) {
  Receiver receiver;
  std::string by_name = "http://localhost:" + std::to_string(receiver.port()) + "/hooks";
  auto created = AsAdmin("POST", "/api/v1/webhook_endpoints", {{"url", by_name}});
  ASSERT_EQ(created.status, 201) << created.body;
  int64_t named = J(created)["id"];
  auto legacy = store_->Transact([&](store::Tx& tx) {
    return tx.CreateWebhookEndpoint({.url = receiver.url(), .sealed_secret = "-"});
  });
  ASSERT_TRUE(legacy);
  auto event = store_->Transact(
      [&](store::Tx& tx) { return tx.AppendOutbox({.topic = "meeting.ready", .payload = "{}"}); });
  ASSERT_TRUE(event);
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    auto sealed = keys_.Seal("whsec_legacy", WebhookSecretAad(legacy->id));
    if (!sealed) return std::unexpected(sealed.error());
    core::WebhookEndpoint e = *legacy;
    e.sealed_secret = *sealed;
    TM_TRY(tx.UpdateWebhookEndpoint(e));
    return Ok();
  }));

  {
    // The operator allowed plain http but listed no internal host.
    WebhookDispatcher strict(*store_, clock_, keys_,
                             {.owner = "test", .destinations = {.allow_http = true}});
    ASSERT_EQ(strict.RunDue().value_or(-1), 1);
  }
  EXPECT_TRUE(receiver.received().empty());
  std::string log_path = "/api/v1/events/" + std::to_string(event->id) + "/deliveries";
  auto log = LogByEndpoint(J(AsAdmin("GET", log_path)));
  ASSERT_EQ(log.size(), 2u);
  for (int64_t id : {named, legacy->id}) {
    EXPECT_EQ(log[id]["status"], "pending") << id;
    EXPECT_EQ(log[id]["last_error"], "blocked") << id;
    EXPECT_TRUE(log[id]["response_status"].is_null()) << id;
  }

  // webhooks.allowed_hosts = ["127.0.0.1"]: both go through on the retry (localhost resolves
  // to the listed address).
  clock_.Advance(std::chrono::seconds(3));
  WebhookDispatcher allowed(*store_, clock_, keys_,
                            {.owner = "test", .destinations = LocalReceivers()});
  ASSERT_EQ(allowed.RunDue().value_or(-1), 1);
  EXPECT_EQ(receiver.received().size(), 2u);
  log = LogByEndpoint(J(AsAdmin("GET", log_path)));
  EXPECT_EQ(log[named]["status"], "delivered");
  EXPECT_EQ(log[legacy->id]["status"], "delivered");
  EXPECT_EQ(log[named]["last_error"], "");
}

// The delivery log names what went wrong in one word; addresses, ports, certificates and the
// transport's messages (what a probe of the network would learn) never reach it.
TEST_F(ApiIntegrationTest, WebhookDeliveryLogShowsAnErrorClassNeverTheTransportsText) {
  Receiver receiver;
  receiver.Script({503, 404});
  // A port that refuses connections: bound, never listening.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string closed_port = std::to_string(ntohs(addr.sin_port));
  std::string port = std::to_string(receiver.port());

  std::map<std::string, int64_t> ids;
  for (auto [name, url] : std::vector<std::pair<std::string, std::string>>{
           {"http_5xx", receiver.url() + "?a"},
           {"http_4xx", receiver.url() + "?b"},
           {"refused", "http://127.0.0.1:" + closed_port + "/hooks"},
           {"tls", "https://127.0.0.1:" + port + "/hooks"},
           {"timeout", "http://127.0.0.1:" + port + "/slow"}}) {
    auto r = AsAdmin("POST", "/api/v1/webhook_endpoints", {{"url", url}});
    ASSERT_EQ(r.status, 201) << r.body;
    ids[name] = J(r)["id"];
  }
  auto event = store_->Transact(
      [&](store::Tx& tx) { return tx.AppendOutbox({.topic = "meeting.failed", .payload = "{}"}); });
  ASSERT_TRUE(event);
  WebhookDispatcher dispatcher(*store_, clock_, keys_,
                               {.owner = "test",
                                .timeout = std::chrono::milliseconds(300),
                                .destinations = LocalReceivers()});
  ASSERT_EQ(dispatcher.RunDue().value_or(-1), 1);
  ::close(fd);

  auto raw = AsAdmin("GET", "/api/v1/events/" + std::to_string(event->id) + "/deliveries");
  auto log = LogByEndpoint(J(raw));
  for (const auto& [name, id] : ids) {
    EXPECT_EQ(log[id]["last_error"], name) << raw.body;
    EXPECT_EQ(log[id]["status"], "pending") << name;
  }
  EXPECT_EQ(log[ids["http_5xx"]]["response_status"], 503);
  EXPECT_EQ(log[ids["http_4xx"]]["response_status"], 404);
  for (std::string leak :
       std::vector<std::string>{"127.0.0.1", closed_port, "onnect", "SSL", "ssl", "timed out"}) {
    for (const auto& [id, d] : log) {
      EXPECT_EQ(d["last_error"].get<std::string>().find(leak), std::string::npos) << leak;
    }
  }
  // The retry job keeps the class too, not the text.
  auto job =
      store_->Read([&](store::Tx& tx) { return tx.GetJob("outbox:" + std::to_string(event->id)); });
  ASSERT_TRUE(job);
  EXPECT_EQ(job->last_error.find("127.0.0.1"), std::string::npos) << job->last_error;
}

// After a rotation each delivery carries the new secret's signature and the old one's until
// the grace period ends, then only the new one: a receiver holding either secret verifies.
TEST_F(ApiIntegrationTest, WebhookDeliveriesCarryBothSignaturesDuringTheGraceAndOneAfter) {
  Receiver receiver;
  auto created = AsAdmin("POST", "/api/v1/webhook_endpoints", {{"url", receiver.url()}});
  ASSERT_EQ(created.status, 201);
  std::string old_secret = J(created)["secret"];
  auto rotated = AsAdmin("POST",
                         "/api/v1/webhook_endpoints/" +
                             std::to_string(J(created)["id"].get<int64_t>()) + "/rotate_secret",
                         {{"grace", 600}});
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  std::string new_secret = J(rotated)["secret"];
  ASSERT_NE(new_secret, old_secret);

  auto append = [&] {
    return store_->Transact([&](store::Tx& tx) {
      return tx.AppendOutbox({.topic = "meeting.ready", .payload = "{}"});
    });
  };
  WebhookDispatcher dispatcher(*store_, clock_, keys_,
                               {.owner = "test", .destinations = LocalReceivers()});
  auto count_v1 = [](std::string_view header) {
    size_t n = 0;
    for (size_t at = header.find("v1="); at != std::string_view::npos;
         at = header.find("v1=", at + 3)) {
      ++n;
    }
    return n;
  };

  ASSERT_TRUE(append());
  ASSERT_EQ(dispatcher.RunDue().value_or(-1), 1);
  auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  std::string during = got[0].Header(kSignatureHeader).value_or("");
  EXPECT_EQ(count_v1(during), 2u) << during;
  EXPECT_TRUE(VerifySignature(during, new_secret, got[0].body, clock_.Now()));
  EXPECT_TRUE(VerifySignature(during, old_secret, got[0].body, clock_.Now()));

  clock_.Advance(std::chrono::seconds(601));
  ASSERT_TRUE(append());
  ASSERT_EQ(dispatcher.RunDue().value_or(-1), 1);
  got = receiver.received();
  ASSERT_EQ(got.size(), 2u);
  std::string after = got[1].Header(kSignatureHeader).value_or("");
  EXPECT_EQ(count_v1(after), 1u) << after;
  EXPECT_TRUE(VerifySignature(after, new_secret, got[1].body, clock_.Now()));
  EXPECT_FALSE(VerifySignature(after, old_secret, got[1].body, clock_.Now()));
}

// Runs the real reconciler (src/sync), as the worker does, over the reconcile jobs that fall due
// until none is left within the hour: the fake clock moves on to each next run (a conference
// that is still pending at the emulator is polled again; the emulator's own time is real).
void Reconcile(store::Store& store, google::CalendarClient& calendar, sync::CallCollector& calls,
               FakeClock& clock) {
  sync::Reconciler reconciler(store, calendar, calls, clock, {.actor = "worker:test"});
  const std::string kind(store::kReconcileJobKind);
  for (int round = 0; round < 200; ++round) {
    auto jobs = store.Transact([&](store::Tx& tx) {
      return tx.LeaseJobs({.owner = "test-worker", .max = 10, .now = clock.Now(), .kind = kind});
    });
    ASSERT_TRUE(jobs) << jobs.error().ToString();
    for (const core::Job& job : *jobs) reconciler.Run(job);
    if (!jobs->empty()) continue;
    auto next = store.Read([&](store::Tx& tx) { return tx.NextDueAt(kind); });
    ASSERT_TRUE(next) << next.error().ToString();
    if (!*next || **next > clock.Now() + std::chrono::hours(1)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (**next > clock.Now()) clock.Set(**next);
  }
  FAIL() << "the reconcile jobs did not settle";
}

TEST_F(ApiIntegrationTest, BookingEndsInASignedMeetingReadyWebhookWithTheEmulatorsLink) {
  StartGoogle();
  Receiver receiver;
  auto hook = AsAdmin("POST", "/api/v1/webhook_endpoints",
                      {{"url", receiver.url()}, {"topics", {"meeting.ready"}}});
  ASSERT_EQ(hook.status, 201);
  std::string secret = J(hook)["secret"];

  int64_t doctor = MakeDoctor("ada@clinic.example");
  auto start = AsKey("POST", "/api/v1/doctors/" + std::to_string(doctor) + "/google/connect");
  ASSERT_EQ(start.status, 201);
  ASSERT_EQ(Send("GET", AuthorizeAtGoogle(J(start)["authorization_url"]), "", {}).status, 200);
  auto svc = AsKey("POST", "/api/v1/services", {{"name", "Video"}, {"telemedicine", true}});
  auto pat = AsKey("POST", "/api/v1/patients", {{"name", "Pat"}});
  auto booked = AsKey("POST", "/api/v1/appointments",
                      {{"doctor_id", doctor},
                       {"service_id", J(svc)["id"]},
                       {"patient_id", J(pat)["id"]},
                       {"start", "2026-12-20T09:00"},
                       {"time_zone", "Europe/Berlin"},
                       {"status", "confirmed"}},
                      {{"Idempotency-Key", "order-77"}});
  ASSERT_EQ(booked.status, 201) << booked.body;
  int64_t id = J(booked)["id"];

  Reconcile(*store_, *calendar_, calls_, clock_);
  WebhookDispatcher dispatcher(*store_, clock_, keys_,
                               {.owner = "test", .destinations = LocalReceivers()});
  ASSERT_EQ(dispatcher.RunDue().value_or(-1), 1);

  auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].Header(kSignatureHeader));
  EXPECT_TRUE(VerifySignature(*got[0].Header(kSignatureHeader), secret, got[0].body, clock_.Now()));
  json body = json::parse(got[0].body);
  EXPECT_EQ(body["type"], "meeting.ready");
  EXPECT_EQ(body["appointment_id"], id);
  std::string link = body["data"]["join_url"];
  EXPECT_TRUE(link.starts_with("https://meet.google.com/")) << link;
  // The API shows the same link on the appointment.
  json a = J(AsKey("GET", "/api/v1/appointments/" + std::to_string(id)));
  EXPECT_EQ(a["meeting"]["state"], "ready");
  EXPECT_EQ(a["meeting"]["join_url"], link);
}

// The status of event `event_id` in the emulator's calendar of `account` ("" when absent).
std::string EventStatusAtGoogle(emulator::FakeGoogle& google, const std::string& account,
                                const std::string& event_id) {
  auto state = google.calendar().CalendarState(account);
  if (!state) return "";
  for (const json& e : (*state)["events"]) {
    if (e.value("id", "") == event_id) return e.value("status", "confirmed");
  }
  return "";
}

class DisconnectTest : public ApiIntegrationTest {
 protected:
  // Ada, connected, with a confirmed appointment in the future whose meeting is ready.
  void SetUp() override {
    StartGoogle();
    doctor_ = MakeDoctor("ada@clinic.example");
    base_ = "/api/v1/doctors/" + std::to_string(doctor_) + "/google";
    auto start = AsKey("POST", base_ + "/connect");
    ASSERT_EQ(start.status, 201);
    ASSERT_EQ(Send("GET", AuthorizeAtGoogle(J(start)["authorization_url"]), "", {}).status, 200);
    auto svc = AsKey("POST", "/api/v1/services", {{"name", "Video"}, {"telemedicine", true}});
    auto pat = AsKey("POST", "/api/v1/patients", {{"name", "Pat"}});
    auto booked = AsKey("POST", "/api/v1/appointments",
                        {{"doctor_id", doctor_},
                         {"service_id", J(svc)["id"]},
                         {"patient_id", J(pat)["id"]},
                         {"start", core::FormatRfc3339(clock_.Now() + std::chrono::hours(72))},
                         {"status", "confirmed"}});
    ASSERT_EQ(booked.status, 201) << booked.body;
    appointment_ = J(booked)["id"];
    Reconcile(*store_, *calendar_, calls_, clock_);
    meeting_ = J(AsKey("GET", "/api/v1/appointments/" + std::to_string(appointment_)))["meeting"];
    ASSERT_EQ(meeting_["state"], "ready");
    event_id_ = meeting_["event_id"];
    ASSERT_EQ(EventStatusAtGoogle(*google_, "ada@clinic.example", event_id_), "confirmed");
  }
  json Appointment() {
    return J(AsKey("GET", "/api/v1/appointments/" + std::to_string(appointment_)));
  }
  std::vector<std::string> Topics() {
    auto events = store_->Read([](store::Tx& tx) { return tx.ListOutbox({.limit = 100}); });
    std::vector<std::string> out;
    for (const auto& e : events->items) out.push_back(e.topic);
    return out;
  }

  // A doctor's session (a user with the doctor role): the Cookie header and the CSRF token.
  std::pair<std::string, std::string> SignInDoctor(int64_t doctor, const std::string& email) {
    auto user = AsAdmin("POST", "/api/v1/users",
                        {{"email", email},
                         {"password", "doctor password 1"},
                         {"role", "doctor"},
                         {"doctor_id", doctor}});
    EXPECT_EQ(user.status, 201) << user.body;
    auto login = Send("POST", "/api/v1/session",
                      json{{"email", email}, {"password", "doctor password 1"}}.dump(), {});
    EXPECT_EQ(login.status, 201) << login.body;
    std::string cookie = login.headers.Get("Set-Cookie").value_or("");
    return {cookie.substr(0, cookie.find(';')), J(login).value("csrf_token", "")};
  }

  int64_t doctor_ = 0, appointment_ = 0;
  std::string base_, event_id_;
  json meeting_;
};

TEST_F(DisconnectTest, KeepLeavesTheEventsAndTheirLinks) {
  auto topics_before = Topics();
  auto gone = AsKey("DELETE", base_ + "?meetings=keep");
  ASSERT_EQ(gone.status, 200) << gone.body;
  EXPECT_EQ(J(gone)["meetings"], "keep");
  EXPECT_EQ(J(gone)["revoked_at_google"], true);
  EXPECT_EQ(J(gone)["cancelled_appointment_ids"], json::array());
  EXPECT_EQ(J(AsKey("GET", base_))["status"], "not_connected");
  // The event stays in the doctor's calendar and the patient's link keeps working.
  EXPECT_EQ(EventStatusAtGoogle(*google_, "ada@clinic.example", event_id_), "confirmed");
  json m = Appointment()["meeting"];
  EXPECT_EQ(m["state"], "ready");
  EXPECT_EQ(m["join_url"], meeting_["join_url"]);
  EXPECT_EQ(Topics(), topics_before);
  // keep is the default.
  ASSERT_EQ(
      Send("GET", AuthorizeAtGoogle(J(AsKey("POST", base_ + "/connect"))["authorization_url"]), "",
           {})
          .status,
      200);
  auto by_default = AsKey("DELETE", base_);
  ASSERT_EQ(by_default.status, 200);
  EXPECT_EQ(J(by_default)["meetings"], "keep");
  EXPECT_EQ(EventStatusAtGoogle(*google_, "ada@clinic.example", event_id_), "confirmed");
}

// Runs the bulk jobs that are due, as the service's bulk worker would (sync/bulk.h).
void RunBulkJobs(store::Store& store, google::Transport& transport, google::TokenProvider& tokens,
                 google::RetryPolicy& retry, const Clock& clock, const std::string& base_url,
                 std::function<std::string(int64_t)> revoke) {
  sync::BulkOptions options;
  options.revoke = std::move(revoke);
  options.actor = "bulk:test";
  sync::BulkStack bulk(store, transport, tokens, retry, clock, nullptr, nullptr,
                       google::CalendarOptions{.base_url = base_url}, sync::ReconcilerOptions{},
                       options);
  store::LeaseRequest req;
  req.owner = "bulk-test";
  req.kind = std::string(store::kBulkJobKind);
  req.now = clock.Now();
  auto jobs = store.Transact([&](store::Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(jobs.has_value());
  for (const core::Job& job : *jobs) {
    sync::RunResult r = bulk.runner.Run(job);
    EXPECT_EQ(r.disposition, sync::Disposition::kCompleted) << r.error;
  }
}

TEST_F(DisconnectTest, CancelAnswers202AndAJobDeletesTheFutureEventsThenRevokes) {
  auto gone = AsKey("DELETE", base_ + "?meetings=cancel");
  ASSERT_EQ(gone.status, 202) << gone.body;
  json job = J(gone);
  EXPECT_EQ(job["object"], "bulk_job");
  EXPECT_EQ(job["kind"], "disconnect_cancel");
  EXPECT_EQ(job["meetings"], "cancel");
  EXPECT_EQ(job["state"], "queued");
  const std::string url = job["url"];
  EXPECT_EQ(gone.headers.Get("Location"), url);
  // Nothing was deleted inside the request; the connection stays until the job ends.
  EXPECT_EQ(EventStatusAtGoogle(*google_, "ada@clinic.example", event_id_), "confirmed");
  EXPECT_EQ(J(AsKey("GET", base_))["connected"], true);
  // Asked again while it is open: the same job.
  auto twice = AsKey("DELETE", base_ + "?meetings=cancel");
  ASSERT_EQ(twice.status, 202);
  EXPECT_EQ(J(twice)["id"], job["id"]);
  EXPECT_EQ(J(AsKey("GET", url))["state"], "queued");

  RunBulkJobs(*store_, *transport_, *tokens_, *retry_, clock_, google_->base_url(),
              [&](int64_t doctor) -> std::string {
                auto grant = store_->Read([&](store::Tx& tx) { return tx.GetGrant(doctor); });
                auto token = keys_.Open(
                    grant->sealed_refresh_token,
                    google::GrantAad(std::to_string(doctor), google::kRefreshTokenPurpose));
                return token && oauth_->Revoke(*token) ? "" : "revoke failed";
              });
  json done = J(AsKey("GET", url));
  EXPECT_EQ(done["state"], "done");
  EXPECT_EQ(done["total"], 1);
  EXPECT_EQ(done["done"], 1);
  EXPECT_EQ(done["failed"], 0);
  EXPECT_FALSE(done["finished_at"].is_null());
  EXPECT_EQ(EventStatusAtGoogle(*google_, "ada@clinic.example", event_id_), "cancelled");
  EXPECT_EQ(J(AsKey("GET", base_))["connected"], false);
  // The meeting waits for the doctor, without the dead link; the integrator is told.
  json a = Appointment();
  EXPECT_EQ(a["status"], "confirmed");
  EXPECT_EQ(a["meeting"]["state"], "awaiting_doctor");
  EXPECT_TRUE(a["meeting"]["join_url"].is_null());
  EXPECT_TRUE(a["meeting"]["event_url"].is_null());
  auto topics = Topics();
  EXPECT_EQ(std::count(topics.begin(), topics.end(), "meeting.cancelled"), 1);
  auto audit = J(AsKey("GET", "/api/v1/appointments/" + std::to_string(appointment_) + "/audit"));
  bool deleted_logged = false;
  for (const json& e : audit["data"]) {
    deleted_logged = deleted_logged || e["action"] == "google.events.delete";
  }
  EXPECT_TRUE(deleted_logged) << audit.dump();
}

// The attack: a doctor reads another doctor's job by its id. The job is for Ada; Bob's session
// gets the 404 of a job that does not exist, as it does for an id that is not there; Ada, the
// admin and the key that started it read it.
TEST_F(DisconnectTest, AJobIsReadByItsDoctorItsStarterAndAdminsOnly) {
  auto gone = AsKey("DELETE", base_ + "?meetings=cancel");
  ASSERT_EQ(gone.status, 202) << gone.body;
  const std::string url = J(gone)["url"];
  int64_t bob = MakeDoctor("bob@clinic.example");
  auto [bob_cookie, bob_csrf] = SignInDoctor(bob, "bob.user@clinic.example");
  auto foreign = Send("GET", url, "", {{"Cookie", bob_cookie}});
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  EXPECT_EQ(foreign.body.find("disconnect_cancel"), std::string::npos);
  auto missing = Send("GET", "/api/v1/jobs/999999", "", {{"Cookie", bob_cookie}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(J(missing)["error"]["message"], "job 999999 does not exist");
  EXPECT_NE(J(foreign)["error"]["message"].get<std::string>().find("does not exist"),
            std::string::npos);
  auto [ada_cookie, ada_csrf] = SignInDoctor(doctor_, "ada.user@clinic.example");
  EXPECT_EQ(Send("GET", url, "", {{"Cookie", ada_cookie}}).status, 200);
  EXPECT_EQ(AsAdmin("GET", url).status, 200);
  EXPECT_EQ(AsKey("GET", url).status, 200);
  EXPECT_EQ(Send("GET", url, "", {}).status, 401);
  EXPECT_EQ(AsKey("GET", "/api/v1/jobs/abc").status, 404);
}

// The calendar's push channel is stopped at Google before the revoke, and the sync state
// forgets it and its sync token (a reconnect opens a new one and syncs in full).
TEST_F(DisconnectTest, ThePushChannelIsStoppedAndForgotten) {
  const std::string address = "http://127.0.0.1:9/push";  // nothing listens: pushes go nowhere
  auto channel = calendar_->WatchEvents(std::to_string(doctor_), "primary",
                                        {.channel_id = "chan-ada", .address = address});
  ASSERT_TRUE(channel) << channel.error().ToString();
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return tx.PutCalendarSync({.doctor_id = doctor_,
                               .sync_token = "sync-1",
                               .channel_id = channel->id,
                               .channel_resource_id = channel->resource_id,
                               .channel_address = address,
                               .updated_at = clock_.Now()});
  }));
  auto channels_at_google = [&] {
    auto state = google_->calendar().CalendarState("ada@clinic.example");
    return state ? (*state)["channels"].size() : size_t{0};
  };
  ASSERT_EQ(channels_at_google(), 1u);

  ASSERT_EQ(AsKey("DELETE", base_).status, 200);
  EXPECT_EQ(channels_at_google(), 0u);
  auto sync = store_->Read([&](store::Tx& tx) { return tx.GetCalendarSync(doctor_); });
  ASSERT_TRUE(sync) << sync.error().ToString();
  EXPECT_EQ(sync->channel_id, "");
  EXPECT_EQ(sync->sync_token, "");
  EXPECT_EQ(sync->calendar_id, "primary");
}

// The sync layer's record that the doctor moved or deleted the event in Google Calendar shows
// on the appointment's meeting (DisconnectTest's fixture: a connected doctor, a ready meeting).
using ConnectedDoctorTest = DisconnectTest;
TEST_F(ConnectedDoctorTest, AnEventChangedInGoogleShowsOnTheMeeting) {
  EXPECT_TRUE(Appointment()["meeting"]["changed_in_google"].is_null());
  for (const char* drift : {"moved", "deleted"}) {
    ASSERT_TRUE(store_->Transact(
        [&](store::Tx& tx) { return tx.SetMeetingDrift(appointment_, drift, "etag-1"); }));
    json m = Appointment()["meeting"];
    EXPECT_EQ(m["changed_in_google"], drift);
    EXPECT_EQ(m["state"], "ready");
    EXPECT_EQ(m["join_url"], meeting_["join_url"]);
  }
}

TEST_F(DisconnectTest, AnUnknownChoiceIsRefusedAndChangesNothing) {
  auto r = AsKey("DELETE", base_ + "?meetings=archive");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(J(r)["error"]["field"], "meetings");
  EXPECT_EQ(J(AsKey("GET", base_))["connected"], true);
  EXPECT_EQ(EventStatusAtGoogle(*google_, "ada@clinic.example", event_id_), "confirmed");
}

}  // namespace
}  // namespace telemeet::api
