// Test support for the whole fake-google server: a fixture that starts it on port 0 with one
// OAuth client ("app") and two accounts (alice, bob) that consent at once, calls it over HTTP,
// and runs the authorization-code flow.
//
//   class MyTest : public FakeGoogleFixture {
//    protected:
//     MyTest() : FakeGoogleFixture(TwoAccounts("1111", "2222")) {}
//   };
//   auto tokens = Authorize("alice@example.com", std::string(kCalendarScope));
//   auto r = Call("GET", "/calendar/v3/users/me/calendarList", "", Bearer(tokens));
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "base/clock.h"
#include "base/strings.h"
#include "emulator/server/fake_google.h"
#include "net/http_client.h"
#include "net/json.h"

namespace telemeet::emulator::testing {

inline constexpr char kRedirect[] = "http://127.0.0.1:9/cb";
inline constexpr char kCalendarScope[] = "https://www.googleapis.com/auth/calendar";

class FakeGoogleFixture : public ::testing::Test {
 protected:
  explicit FakeGoogleFixture(FakeGoogleOptions options) : google_(std::move(options), clock_) {}

  // Client "app" (secret "app-secret", redirect kRedirect); alice and bob with the given
  // subjects ("" lets the server make one).
  static FakeGoogleOptions TwoAccounts(std::string alice_sub, std::string bob_sub) {
    FakeGoogleOptions o;
    o.clients.push_back(
        {.client_id = "app", .client_secret = "app-secret", .redirect_uris = {kRedirect}});
    o.accounts.push_back(
        {.email = "alice@example.com", .sub = std::move(alice_sub), .name = "Alice"});
    o.accounts.push_back({.email = "bob@example.com", .sub = std::move(bob_sub), .name = "Bob"});
    o.oauth.auto_approve = true;
    return o;
  }

  void SetUp() override { ASSERT_TRUE(google_.Start()); }

  net::ClientResponse Call(std::string method, std::string path, std::string body = {},
                           KeyValues headers = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto r =
        TryCall(std::move(method), std::move(path), std::move(body), std::move(headers), timeout);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : net::ClientResponse{};
  }
  // A JSON body gets Content-Type application/json unless `headers` names another.
  Result<net::ClientResponse> TryCall(
      std::string method, std::string path, std::string body = {}, KeyValues headers = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    net::ClientRequest req{.method = std::move(method),
                           .url = google_.base_url() + path,
                           .headers = {},
                           .body = std::move(body),
                           .timeout = timeout};
    for (const auto& [k, v] : headers) req.headers.Set(k, v);
    if (!req.body.empty() && !req.headers.Has("Content-Type")) {
      req.headers.Set("Content-Type", "application/json");
    }
    return client_.Send(std::move(req));
  }
  static nlohmann::json Json(const net::ClientResponse& r) {
    auto j = net::ParseJson(r.body);
    EXPECT_TRUE(j) << r.body;
    return j ? *j : nlohmann::json();
  }

  // The authorization-code flow over HTTP, with auto-approve: the token answer
  // ({access_token, refresh_token, scope, ...}). `include_granted` asks for incremental
  // authorization.
  nlohmann::json Authorize(const std::string& email = "alice@example.com",
                           const std::string& scope = kCalendarScope,
                           bool include_granted = false) {
    KeyValues q = {{"client_id", "app"}, {"redirect_uri", kRedirect}, {"response_type", "code"},
                   {"scope", scope},     {"access_type", "offline"},  {"login_hint", email}};
    if (include_granted) q.emplace_back("include_granted_scopes", "true");
    auto redirect = Call("GET", "/o/oauth2/v2/auth?" + FormEncode(q));
    EXPECT_EQ(redirect.status, 302) << redirect.body;
    std::string loc = redirect.headers.Get("Location").value_or("");
    auto params = ParseQuery(loc.substr(loc.find('?') + 1)).value_or(KeyValues{});
    auto token = Call("POST", "/token",
                      FormEncode({{"grant_type", "authorization_code"},
                                  {"code", FindValue(params, "code").value_or("")},
                                  {"client_id", "app"},
                                  {"client_secret", "app-secret"},
                                  {"redirect_uri", kRedirect}}),
                      {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(token.status, 200) << token.body;
    return Json(token);
  }
  static KeyValues Bearer(const nlohmann::json& tokens) {
    return {{"Authorization", "Bearer " + tokens["access_token"].get<std::string>()}};
  }

  FakeClock clock_;
  FakeGoogle google_;
  net::HttpClient client_;
};

}  // namespace telemeet::emulator::testing
