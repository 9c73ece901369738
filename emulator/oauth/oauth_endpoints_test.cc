#include "emulator/oauth/oauth_endpoints.h"

#include <gtest/gtest.h>

#include <regex>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "emulator/oauth/id_token.h"
#include "net/json.h"

namespace telemeet::emulator {
namespace {

constexpr char kCalendar[] = "https://www.googleapis.com/auth/calendar";
constexpr char kRedirect[] = "http://127.0.0.1:9000/cb";

class OAuthEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(state_.AddClient(
        {.client_id = "app", .client_secret = "app-secret", .redirect_uris = {kRedirect}}));
    ASSERT_TRUE(state_.AddAccount({.email = "alice@example.com", .sub = "", .name = "Alice Doe"}));
    ASSERT_TRUE(state_.AddAccount({.email = "bob@example.com", .sub = "", .name = "Bob <b>"}));
    RegisterOAuthRoutes(router_, state_);
  }

  net::Response Call(std::string method, std::string target, std::string body = {},
                     std::string content_type = "application/x-www-form-urlencoded",
                     KeyValues headers = {}) {
    net::Request req;
    req.method = std::move(method);
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.body = std::move(body);
    if (!req.body.empty()) req.headers.Set("Content-Type", content_type);
    req.headers.Set("Host", "127.0.0.1:9999");
    for (const auto& [k, v] : headers) req.headers.Set(k, v);
    return router_.Dispatch(req);
  }

  static std::string AuthUrl(KeyValues extra = {}) {
    KeyValues p = {{"client_id", "app"}, {"redirect_uri", kRedirect}, {"response_type", "code"},
                   {"scope", kCalendar}, {"access_type", "offline"},  {"state", "s t&a=te"}};
    for (auto& kv : extra) {
      std::erase_if(p, [&](const auto& x) { return x.first == kv.first; });
      if (!kv.second.empty()) p.push_back(kv);
    }
    return "/o/oauth2/v2/auth?" + FormEncode(p);
  }

  // The query parameters of a redirect's Location (which must go to kRedirect).
  static KeyValues RedirectParams(const net::Response& r) {
    EXPECT_EQ(r.status, 302);
    std::string loc = r.headers.Get("Location").value_or("");
    EXPECT_TRUE(loc.starts_with(std::string(kRedirect) + "?")) << loc;
    return ParseQuery(loc.substr(loc.find('?') + 1)).value_or(KeyValues{});
  }

  // Runs the consent page: GET, then POST the decision for the account.
  net::Response Consent(const std::string& url, const std::string& decision,
                        std::string account_email = "alice@example.com") {
    net::Response page = Call("GET", url);
    EXPECT_EQ(page.status, 200);
    std::smatch m;
    std::regex pending_re("name=\"pending\" value=\"([^\"]+)\"");
    if (!std::regex_search(page.body, m, pending_re)) {
      ADD_FAILURE() << "no pending id in " << page.body;
      return page;
    }
    return Call("POST", "/o/oauth2/v2/auth",
                FormEncode({{"pending", m[1]},
                            {"account", state_.FindAccount(account_email)->sub},
                            {"decision", decision}}));
  }

  std::string CodeFor(KeyValues extra = {}) {
    auto params = RedirectParams(Consent(AuthUrl(std::move(extra)), "allow"));
    return FindValue(params, "code").value_or("");
  }

  net::Response Exchange(const std::string& code, KeyValues extra = {}) {
    KeyValues form = {{"grant_type", "authorization_code"},
                      {"code", code},
                      {"client_id", "app"},
                      {"client_secret", "app-secret"},
                      {"redirect_uri", kRedirect}};
    for (auto& kv : extra) {
      std::erase_if(form, [&](const auto& x) { return x.first == kv.first; });
      if (!kv.second.empty()) form.push_back(kv);
    }
    return Call("POST", "/token", FormEncode(form));
  }

  static nlohmann::json Json(const net::Response& r) {
    auto j = net::ParseJson(r.body);
    EXPECT_TRUE(j) << r.body;
    return j ? *j : nlohmann::json();
  }
  static void ExpectOAuthError(const net::Response& r, int status, std::string_view error,
                               std::string_view description) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = Json(r);
    EXPECT_EQ(j, nlohmann::json({{"error", error}, {"error_description", description}}));
    EXPECT_EQ(r.headers.Get("Content-Type"), "application/json; charset=utf-8");
  }

  FakeClock clock_;
  OAuthState state_{clock_};
  net::Router router_;
};

TEST_F(OAuthEndpointsTest, AuthErrorPagesForClientAndRedirectUri) {
  auto missing = Call("GET", "/o/oauth2/v2/auth?redirect_uri=x");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("invalid_request"), std::string::npos);
  EXPECT_NE(missing.body.find("Missing required parameter: client_id"), std::string::npos);
  EXPECT_TRUE(missing.headers.Get("Content-Type")->starts_with("text/html"));

  auto unknown = Call("GET", AuthUrl({{"client_id", "nope"}}));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_NE(unknown.body.find("invalid_client"), std::string::npos);
  EXPECT_NE(unknown.body.find("The OAuth client was not found."), std::string::npos);
  EXPECT_FALSE(unknown.headers.Has("Location"));

  // Exact match: a trailing slash, another scheme or case is a mismatch, shown, not redirected.
  for (const char* uri : {"http://127.0.0.1:9000/cb/", "http://127.0.0.1:9000/CB",
                          "https://127.0.0.1:9000/cb", "http://evil.example/cb"}) {
    auto r = Call("GET", AuthUrl({{"redirect_uri", uri}}));
    EXPECT_EQ(r.status, 400) << uri;
    EXPECT_NE(r.body.find("redirect_uri_mismatch"), std::string::npos);
    EXPECT_FALSE(r.headers.Has("Location"));
  }
}

TEST_F(OAuthEndpointsTest, AuthRejectsBadParameters) {
  struct Case {
    KeyValues extra;
    std::string error;
  };
  std::vector<Case> cases = {
      {{{"response_type", ""}}, "Missing required parameter: response_type"},
      {{{"response_type", "token"}}, "unsupported_response_type"},
      {{{"scope", ""}}, "Missing required parameter: scope"},
      {{{"scope", "calendar"}}, "invalid_scope"},
      {{{"access_type", "forever"}}, "Invalid access_type: forever"},
      {{{"prompt", "none consent"}}, "Invalid prompt"},
      {{{"prompt", "Consent"}}, "Invalid prompt"},
      {{{"code_challenge_method", "S256"}}, "Missing required parameter: code_challenge"},
      {{{"code_challenge", std::string(43, 'a')}, {"code_challenge_method", "S512"}},
       "Invalid code_challenge_method"},
      {{{"code_challenge", "too-short"}}, "Invalid code_challenge"},
  };
  for (const auto& c : cases) {
    auto r = Call("GET", AuthUrl(c.extra));
    EXPECT_EQ(r.status, 400) << c.error;
    EXPECT_NE(r.body.find(c.error), std::string::npos) << r.body;
    EXPECT_FALSE(r.headers.Has("Location"));
  }
}

TEST_F(OAuthEndpointsTest, ConsentPageListsAccountsWithAllowAndDeny) {
  auto page = Call("GET", AuthUrl({{"login_hint", "bob@example.com"}}));
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(page.headers.Get("Content-Type")->starts_with("text/html"));
  EXPECT_NE(page.body.find("<label for=\"account-0\">Alice Doe (alice@example.com)</label>"),
            std::string::npos);
  EXPECT_NE(page.body.find("Bob &lt;b&gt; (bob@example.com)"), std::string::npos);  // escaped
  EXPECT_NE(page.body.find(">Allow</button>"), std::string::npos);
  EXPECT_NE(page.body.find(">Deny</button>"), std::string::npos);
  EXPECT_NE(page.body.find("method=\"post\" action=\"/o/oauth2/v2/auth\""), std::string::npos);
  EXPECT_NE(page.body.find(kCalendar), std::string::npos);
  // The hinted account is preselected.
  std::string bob_sub = state_.FindAccount("bob@example.com")->sub;
  EXPECT_NE(page.body.find("value=\"" + bob_sub + "\" checked"), std::string::npos);
}

TEST_F(OAuthEndpointsTest, AllowRedirectsWithCodeScopeAndState) {
  auto params = RedirectParams(Consent(AuthUrl(), "allow"));
  EXPECT_TRUE(FindValue(params, "code")->starts_with("4/"));
  EXPECT_EQ(FindValue(params, "scope"), kCalendar);
  EXPECT_EQ(FindValue(params, "state"), "s t&a=te");  // echoed unchanged
  EXPECT_FALSE(FindValue(params, "error"));
}

TEST_F(OAuthEndpointsTest, DenyRedirectsWithAccessDenied) {
  auto params = RedirectParams(Consent(AuthUrl(), "deny"));
  EXPECT_EQ(FindValue(params, "error"), "access_denied");
  EXPECT_EQ(FindValue(params, "state"), "s t&a=te");
  EXPECT_FALSE(FindValue(params, "code"));
}

TEST_F(OAuthEndpointsTest, ConsentFormCannotBeReplayed) {
  auto page = Call("GET", AuthUrl());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page.body, m, std::regex("name=\"pending\" value=\"([^\"]+)\"")));
  std::string form = FormEncode({{"pending", m[1]},
                                 {"account", state_.FindAccount("alice@example.com")->sub},
                                 {"decision", "allow"}});
  EXPECT_EQ(Call("POST", "/o/oauth2/v2/auth", form).status, 302);
  auto again = Call("POST", "/o/oauth2/v2/auth", form);
  EXPECT_EQ(again.status, 400);
  EXPECT_FALSE(again.headers.Has("Location"));
}

TEST_F(OAuthEndpointsTest, AutoApproveWithLoginHintSkipsThePage) {
  EXPECT_EQ(Call("GET", AuthUrl({{"login_hint", "alice@example.com"}})).status, 200);
  state_.SetAutoApprove(true);
  auto r = Call("GET", AuthUrl({{"login_hint", "alice@example.com"}}));
  auto params = RedirectParams(r);
  ASSERT_TRUE(FindValue(params, "code"));
  auto who = state_.FromAccessToken(
      Json(Exchange(*FindValue(params, "code")))["access_token"].get<std::string>());
  ASSERT_TRUE(who);
  EXPECT_EQ(who->email, "alice@example.com");
  // Without a hint (or an unknown one) the page is still shown.
  EXPECT_EQ(Call("GET", AuthUrl()).status, 200);
  EXPECT_EQ(Call("GET", AuthUrl({{"login_hint", "carol@example.com"}})).status, 200);
}

TEST_F(OAuthEndpointsTest, PromptNoneNeedsAnExistingConsent) {
  auto params = RedirectParams(
      Call("GET", AuthUrl({{"prompt", "none"}, {"login_hint", "alice@example.com"}})));
  EXPECT_EQ(FindValue(params, "error"), "consent_required");
  ASSERT_FALSE(CodeFor().empty());
  params = RedirectParams(
      Call("GET", AuthUrl({{"prompt", "none"}, {"login_hint", "alice@example.com"}})));
  EXPECT_TRUE(FindValue(params, "code"));
}

TEST_F(OAuthEndpointsTest, TokenExchangeShapeAndHeaders) {
  auto r = Exchange(CodeFor());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.headers.Get("Cache-Control"), "no-cache, no-store, max-age=0, must-revalidate");
  EXPECT_EQ(r.headers.Get("Pragma"), "no-cache");
  EXPECT_EQ(r.headers.Get("Expires"), "Mon, 01 Jan 1990 00:00:00 GMT");
  auto j = Json(r);
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"access_token", "expires_in", "refresh_token", "scope",
                                         "token_type"}));
  EXPECT_EQ(j["token_type"], "Bearer");
  EXPECT_EQ(j["expires_in"], 3599);
  EXPECT_EQ(j["scope"], kCalendar);

  auto refreshed = Call("POST", "/token",
                        FormEncode({{"grant_type", "refresh_token"},
                                    {"refresh_token", j["refresh_token"].get<std::string>()},
                                    {"client_id", "app"},
                                    {"client_secret", "app-secret"}}));
  ASSERT_EQ(refreshed.status, 200);
  auto rj = Json(refreshed);
  EXPECT_FALSE(rj.contains("refresh_token"));
  EXPECT_EQ(rj["token_type"], "Bearer");
  EXPECT_EQ(rj["scope"], kCalendar);
  EXPECT_EQ(refreshed.headers.Get("Pragma"), "no-cache");
}

TEST_F(OAuthEndpointsTest, TokenClientAuthentication) {
  std::string code = CodeFor();
  ExpectOAuthError(Exchange(code, {{"client_id", ""}}), 400, "invalid_request",
                   "Could not determine client ID from request.");
  ExpectOAuthError(Exchange(code, {{"client_id", "nope"}}), 401, "invalid_client",
                   "The OAuth client was not found.");
  ExpectOAuthError(Exchange(code, {{"client_secret", "wrong"}}), 401, "invalid_client",
                   "Unauthorized");
  ExpectOAuthError(Exchange(code, {{"client_secret", ""}}), 401, "invalid_client", "Unauthorized");
  // client_secret_basic.
  std::string basic = "Basic " + crypto::Base64Encode("app:app-secret");
  auto r =
      Call("POST", "/token",
           FormEncode(
               {{"grant_type", "authorization_code"}, {"code", code}, {"redirect_uri", kRedirect}}),
           "application/x-www-form-urlencoded", {{"Authorization", basic}});
  EXPECT_EQ(r.status, 200) << r.body;
  std::string bad_basic = "Basic " + crypto::Base64Encode("app:nope");
  r = Call(
      "POST", "/token",
      FormEncode(
          {{"grant_type", "authorization_code"}, {"code", CodeFor()}, {"redirect_uri", kRedirect}}),
      "application/x-www-form-urlencoded", {{"Authorization", bad_basic}});
  ExpectOAuthError(r, 401, "invalid_client", "Unauthorized");
}

TEST_F(OAuthEndpointsTest, TokenRequestErrors) {
  ExpectOAuthError(Call("POST", "/token", "client_id=app"), 400, "unsupported_grant_type",
                   "Invalid grant_type: ");
  ExpectOAuthError(Call("POST", "/token", "grant_type=password&client_id=app"), 400,
                   "unsupported_grant_type", "Invalid grant_type: password");
  ExpectOAuthError(Exchange("", {{"code", ""}}), 400, "invalid_request",
                   "Missing required parameter: code");
  ExpectOAuthError(Exchange("4/0Agarbage"), 400, "invalid_grant", "Malformed auth code.");
  std::string code = CodeFor();
  ExpectOAuthError(Exchange(code, {{"redirect_uri", "http://127.0.0.1:9000/other"}}), 400,
                   "redirect_uri_mismatch", "Bad Request");
  ASSERT_EQ(Exchange(code).status, 200);
  ExpectOAuthError(Exchange(code), 400, "invalid_grant", "Code was already redeemed.");
  ExpectOAuthError(
      Call("POST", "/token", "grant_type=refresh_token&client_id=app&client_secret=app-secret"),
      400, "invalid_request", "Missing required parameter: refresh_token");
  ExpectOAuthError(
      Call("POST", "/token",
           "grant_type=refresh_token&client_id=app&client_secret=app-secret&refresh_token=x"),
      400, "invalid_grant", "Token has been expired or revoked.");
  ExpectOAuthError(Call("POST", "/token", "%zz"), 400, "invalid_request", "Bad Request");
}

TEST_F(OAuthEndpointsTest, PkceThroughTheEndpoints) {
  std::string verifier = crypto::PkceVerifier();
  std::string code = CodeFor(
      {{"code_challenge", crypto::PkceChallengeS256(verifier)}, {"code_challenge_method", "S256"}});
  ExpectOAuthError(Exchange(code), 400, "invalid_grant", "Missing code verifier.");
  ExpectOAuthError(Exchange(code, {{"code_verifier", crypto::PkceVerifier()}}), 400,
                   "invalid_grant", "Invalid code verifier.");
  EXPECT_EQ(Exchange(code, {{"code_verifier", verifier}}).status, 200);
  // Without a method the challenge is plain.
  std::string plain = crypto::PkceVerifier();
  code = CodeFor({{"code_challenge", plain}});
  EXPECT_EQ(Exchange(code, {{"code_verifier", plain}}).status, 200);
}

TEST_F(OAuthEndpointsTest, JsonTokenBodyIsAccepted) {
  nlohmann::json body = {{"grant_type", "authorization_code"},
                         {"code", CodeFor()},
                         {"client_id", "app"},
                         {"client_secret", "app-secret"},
                         {"redirect_uri", kRedirect}};
  EXPECT_EQ(Call("POST", "/token", body.dump(), "application/json").status, 200);
}

TEST_F(OAuthEndpointsTest, RevokeEndpoint) {
  auto j = Json(Exchange(CodeFor()));
  std::string access = j["access_token"], refresh = j["refresh_token"];
  auto r = Call("POST", "/revoke", FormEncode({{"token", refresh}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(state_.FromAccessToken(access));
  auto again = Call("POST", "/revoke?token=" + UrlEncode(access));
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(Json(again)["error"], "invalid_token");
  EXPECT_EQ(Call("POST", "/revoke").status, 400);
  // The query form works too.
  auto j2 = Json(Exchange(CodeFor()));
  EXPECT_EQ(
      Call("POST", "/revoke?token=" + UrlEncode(j2["access_token"].get<std::string>())).status,
      200);
}

TEST_F(OAuthEndpointsTest, UserInfo) {
  std::string access = Json(Exchange(CodeFor({{"scope", "openid email profile"}})))["access_token"];
  for (const char* path : {"/v1/userinfo", "/oauth2/v3/userinfo"}) {
    auto r = Call("GET", path, "", "", {{"Authorization", "Bearer " + access}});
    ASSERT_EQ(r.status, 200) << path;
    auto j = Json(r);
    EXPECT_EQ(j["email"], "alice@example.com");
    EXPECT_EQ(j["email_verified"], true);
    EXPECT_EQ(j["name"], "Alice Doe");
    EXPECT_EQ(j["given_name"], "Alice");
    EXPECT_EQ(j["family_name"], "Doe");
    EXPECT_EQ(j["sub"], state_.FindAccount("alice@example.com")->sub);
  }
  auto no = Call("GET", "/v1/userinfo");
  EXPECT_EQ(no.status, 401);
  EXPECT_TRUE(no.headers.Has("WWW-Authenticate"));
  EXPECT_EQ(Call("GET", "/v1/userinfo", "", "", {{"Authorization", "Bearer ya29.bad"}}).status,
            401);
  // Only the scopes granted decide the fields.
  std::string calendar_only = Json(Exchange(CodeFor({{"scope", kCalendar}})))["access_token"];
  auto j =
      Json(Call("GET", "/v1/userinfo", "", "", {{"Authorization", "Bearer " + calendar_only}}));
  EXPECT_FALSE(j.contains("email"));
  EXPECT_TRUE(j.contains("sub"));
}

TEST_F(OAuthEndpointsTest, TokenInfo) {
  std::string access =
      Json(Exchange(CodeFor({{"scope", "email " + std::string(kCalendar)}})))["access_token"];
  clock_.Advance(std::chrono::seconds(99));
  auto r = Call("GET", "/tokeninfo?access_token=" + UrlEncode(access));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = Json(r);
  EXPECT_EQ(j["azp"], "app");
  EXPECT_EQ(j["aud"], "app");
  EXPECT_EQ(j["scope"], "email " + std::string(kCalendar));
  EXPECT_EQ(j["expires_in"], "3500");  // strings, as Google sends them
  EXPECT_EQ(j["exp"], std::to_string(ToUnixSeconds(clock_.Now()) + 3500));
  EXPECT_EQ(j["email"], "alice@example.com");
  EXPECT_EQ(j["email_verified"], "true");
  EXPECT_EQ(j["access_type"], "offline");
  auto post = Call("POST", "/tokeninfo", FormEncode({{"access_token", access}}));
  EXPECT_EQ(post.status, 200);
  auto bad = Call("GET", "/tokeninfo?access_token=ya29.nope");
  ExpectOAuthError(bad, 400, "invalid_token", "Invalid Value");
}

TEST_F(OAuthEndpointsTest, IdTokenVerifiesAgainstPublishedKeys) {
  auto j = Json(Exchange(CodeFor({{"scope", "openid email"}, {"nonce", "abc"}})));
  std::string id_token = j["id_token"];
  auto header = *net::ParseJson(*crypto::Base64UrlDecode(Split(id_token, '.')[0]));
  auto jwks = Json(Call("GET", "/oauth2/v3/certs"));
  ASSERT_EQ(jwks["keys"].size(), 1u);
  EXPECT_EQ(jwks["keys"][0]["kid"], header["kid"]);
  EXPECT_EQ(jwks["keys"][0]["kty"], "RSA");
  auto pem = Json(Call("GET", "/oauth2/v1/certs"));
  EXPECT_TRUE(pem[header["kid"].get<std::string>()].get<std::string>().starts_with(
      "-----BEGIN PUBLIC KEY-----"));
  auto info = Call("GET", "/tokeninfo?id_token=" + UrlEncode(id_token));
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(Json(info)["email"], "alice@example.com");
  EXPECT_EQ(Json(info)["nonce"], "abc");
  // A token with altered claims fails.
  auto parts = Split(id_token, '.');
  std::string forged = std::string(parts[0]) + "." +
                       crypto::Base64UrlEncode(R"({"sub":"1","exp":9999999999})") + "." +
                       std::string(parts[2]);
  EXPECT_EQ(Call("GET", "/tokeninfo?id_token=" + UrlEncode(forged)).status, 400);
  clock_.Advance(std::chrono::hours(2));
  EXPECT_EQ(Call("GET", "/tokeninfo?id_token=" + UrlEncode(id_token)).status, 400);
}

TEST_F(OAuthEndpointsTest, DiscoveryDocumentPointsAtThisHost) {
  auto j = Json(Call("GET", "/.well-known/openid-configuration"));
  EXPECT_EQ(j["token_endpoint"], "http://127.0.0.1:9999/token");
  EXPECT_EQ(j["authorization_endpoint"], "http://127.0.0.1:9999/o/oauth2/v2/auth");
  EXPECT_EQ(j["issuer"], "https://accounts.google.com");
}

}  // namespace
}  // namespace telemeet::emulator
