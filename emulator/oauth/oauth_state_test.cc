#include "emulator/oauth/oauth_state.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "net/json.h"

namespace telemeet::emulator {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kCalendar[] = "https://www.googleapis.com/auth/calendar";

class OAuthStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(state_.AddClient({.client_id = "app",
                                  .client_secret = "app-secret",
                                  .redirect_uris = {"http://127.0.0.1:9000/cb"}}));
    ASSERT_TRUE(state_.AddClient({.client_id = "other",
                                  .client_secret = "other-secret",
                                  .redirect_uris = {"https://other.example/cb"}}));
    ASSERT_TRUE(state_.AddAccount({.email = "alice@example.com", .sub = "", .name = "Alice Doe"}));
    ASSERT_TRUE(state_.AddAccount({.email = "bob@example.com", .sub = "42", .name = "Bob"}));
  }

  AuthorizationRequest Request(bool offline = true, std::vector<std::string> prompt = {}) {
    AuthorizationRequest r;
    r.client_id = "app";
    r.redirect_uri = "http://127.0.0.1:9000/cb";
    r.scopes = {kCalendar};
    r.offline = offline;
    r.prompt = std::move(prompt);
    return r;
  }
  Account Alice() { return *state_.FindAccount("alice@example.com"); }

  OAuthResult<TokenResponse> Exchange(const std::string& code,
                                      std::optional<std::string> verifier = std::nullopt,
                                      std::string client = "app",
                                      std::string redirect = "http://127.0.0.1:9000/cb") {
    return state_.ExchangeCode({.client_id = client,
                                .code = code,
                                .redirect_uri = redirect,
                                .code_verifier = std::move(verifier)});
  }

  FakeClock clock_;
  OAuthState state_{clock_};
};

TEST(RedirectUriTest, FollowsGoogleRules) {
  EXPECT_EQ(RedirectUriProblem("https://app.example/cb"), "");
  EXPECT_EQ(RedirectUriProblem("http://localhost:8080/cb"), "");
  EXPECT_EQ(RedirectUriProblem("http://127.0.0.1:8080/cb"), "");
  EXPECT_EQ(RedirectUriProblem("http://[::1]:8080/cb"), "");
  EXPECT_NE(RedirectUriProblem("http://app.example/cb"), "");        // http only on loopback
  EXPECT_NE(RedirectUriProblem("https://10.1.2.3/cb"), "");          // raw non-loopback IP
  EXPECT_NE(RedirectUriProblem("https://app.example/cb#frag"), "");  // fragment
  EXPECT_NE(RedirectUriProblem("https://u:p@app.example/cb"), "");   // userinfo
  EXPECT_NE(RedirectUriProblem("https://app.example/a/../cb"), "");
  EXPECT_NE(RedirectUriProblem("https://*.example/cb"), "");
  EXPECT_NE(RedirectUriProblem("ftp://app.example/cb"), "");
}

TEST_F(OAuthStateTest, RegistrationValidates) {
  auto bad = state_.AddClient(
      {.client_id = "x", .client_secret = "s", .redirect_uris = {"http://evil.example/cb"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(state_.FindClient("x"));
  EXPECT_FALSE(state_.AddAccount({.email = "no-at-sign", .sub = "", .name = ""}));
}

TEST_F(OAuthStateTest, AccountsGetStableDerivedSubAndName) {
  Account a = Alice();
  EXPECT_EQ(a.sub.size(), 21u);
  EXPECT_EQ(a.sub[0], '1');
  EXPECT_EQ(a.name, "Alice Doe");
  FakeClock c2;
  OAuthState other(c2);
  ASSERT_TRUE(other.AddAccount({.email = "ALICE@example.com", .sub = "", .name = ""}));
  EXPECT_EQ(other.FindAccount("alice@example.com")->sub, a.sub);
  EXPECT_EQ(other.FindAccount("alice@example.com")->name, "ALICE");
  EXPECT_EQ(state_.FindAccount("42")->email, "bob@example.com");
}

TEST_F(OAuthStateTest, CodeExchangeGivesTokensThatAuthenticate) {
  std::string code = state_.IssueCode(Request(), Alice());
  EXPECT_TRUE(code.starts_with("4/"));
  EXPECT_LE(code.size(), 256u);
  auto t = Exchange(code);
  ASSERT_TRUE(t) << t.error().description;
  EXPECT_TRUE(t->access_token.starts_with("ya29."));
  EXPECT_LE(t->access_token.size(), 2048u);
  EXPECT_LE(t->refresh_token.size(), 512u);
  EXPECT_FALSE(t->refresh_token.empty());
  EXPECT_EQ(t->expires_in, 3599);
  EXPECT_EQ(t->scope, kCalendar);
  EXPECT_TRUE(t->id_token.empty());  // no openid scope
  auto who = state_.FromAccessToken(t->access_token);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->email, "alice@example.com");
  EXPECT_EQ(who->client_id, "app");
  EXPECT_TRUE(who->HasScope(kCalendar));
  EXPECT_FALSE(state_.FromAccessToken("ya29.unknown"));
  EXPECT_FALSE(state_.FromAccessToken(t->refresh_token));
}

TEST_F(OAuthStateTest, CodesAreSingleUse) {
  std::string code = state_.IssueCode(Request(), Alice());
  ASSERT_TRUE(Exchange(code));
  auto again = Exchange(code);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().status, 400);
  EXPECT_EQ(again.error().error, "invalid_grant");
  EXPECT_EQ(again.error().description, "Code was already redeemed.");
}

TEST_F(OAuthStateTest, UnknownCodeIsMalformed) {
  auto r = Exchange("4/0Anot-a-real-code");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, "invalid_grant");
  EXPECT_EQ(r.error().description, "Malformed auth code.");
}

TEST_F(OAuthStateTest, CodesExpireAfterTenMinutes) {
  std::string early = state_.IssueCode(Request(), Alice());
  std::string late = state_.IssueCode(Request(), Alice());
  clock_.Advance(minutes(9) + seconds(59));
  EXPECT_TRUE(Exchange(early));
  clock_.Advance(seconds(1));
  auto r = Exchange(late);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, "invalid_grant");
  EXPECT_EQ(r.error().description, "Token has been expired or revoked.");
}

TEST_F(OAuthStateTest, CodeIsBoundToClientAndRedirectUri) {
  std::string code = state_.IssueCode(Request(), Alice());
  auto wrong_client = Exchange(code, std::nullopt, "other");
  ASSERT_FALSE(wrong_client);
  EXPECT_EQ(wrong_client.error().error, "invalid_grant");
  auto wrong_uri = Exchange(code, std::nullopt, "app", "http://127.0.0.1:9000/cb/");
  ASSERT_FALSE(wrong_uri);
  EXPECT_EQ(wrong_uri.error().status, 400);
  EXPECT_EQ(wrong_uri.error().error, "redirect_uri_mismatch");
  EXPECT_TRUE(Exchange(code));  // failed attempts do not burn the code
}

TEST_F(OAuthStateTest, PkceS256) {
  std::string verifier = crypto::PkceVerifier();
  AuthorizationRequest r = Request();
  r.code_challenge = crypto::PkceChallengeS256(verifier);
  r.code_challenge_method = "S256";
  std::string code = state_.IssueCode(r, Alice());
  auto missing = Exchange(code);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().description, "Missing code verifier.");
  auto wrong = Exchange(code, crypto::PkceVerifier());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().error, "invalid_grant");
  EXPECT_EQ(wrong.error().description, "Invalid code verifier.");
  // The challenge itself is not a valid verifier under S256.
  EXPECT_FALSE(Exchange(code, r.code_challenge));
  EXPECT_TRUE(Exchange(code, verifier));
}

TEST_F(OAuthStateTest, PkcePlain) {
  std::string verifier = crypto::PkceVerifier();
  AuthorizationRequest r = Request();
  r.code_challenge = verifier;
  r.code_challenge_method = "plain";
  std::string code = state_.IssueCode(r, Alice());
  EXPECT_FALSE(Exchange(code, verifier + "x"));
  EXPECT_FALSE(Exchange(code, "short"));
  EXPECT_TRUE(Exchange(code, verifier));
}

TEST_F(OAuthStateTest, RefreshTokenOnlyOnFirstOfflineConsentOrPromptConsent) {
  auto online = Exchange(state_.IssueCode(Request(/*offline=*/false), Alice()));
  ASSERT_TRUE(online);
  EXPECT_TRUE(online->refresh_token.empty());
  // Offline access was not granted before, so asking for it is a first consent.
  auto offline = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(offline);
  EXPECT_FALSE(offline->refresh_token.empty());
  // Asking again without prompt=consent gives none, as Google does.
  auto again = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->refresh_token.empty());
  auto forced = Exchange(state_.IssueCode(Request(true, {"consent"}), Alice()));
  ASSERT_TRUE(forced);
  EXPECT_FALSE(forced->refresh_token.empty());

  // A fresh account: first offline consent gives one, the next one does not.
  Account bob = *state_.FindAccount("bob@example.com");
  auto first = Exchange(state_.IssueCode(Request(), bob));
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->refresh_token.empty());
  auto second = Exchange(state_.IssueCode(Request(), bob));
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->refresh_token.empty());
  // New scopes are a new consent.
  AuthorizationRequest wider = Request();
  wider.scopes.push_back("https://www.googleapis.com/auth/calendar.events");
  auto third = Exchange(state_.IssueCode(wider, bob));
  ASSERT_TRUE(third);
  EXPECT_FALSE(third->refresh_token.empty());
}

TEST_F(OAuthStateTest, RefreshGivesNewAccessTokenWithoutRefreshToken) {
  auto t = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(t);
  clock_.Advance(seconds(3599));
  EXPECT_FALSE(state_.FromAccessToken(t->access_token));  // expired
  auto r = state_.Refresh("app", t->refresh_token);
  ASSERT_TRUE(r) << r.error().description;
  EXPECT_TRUE(r->refresh_token.empty());
  EXPECT_NE(r->access_token, t->access_token);
  EXPECT_EQ(r->scope, kCalendar);
  EXPECT_EQ(r->expires_in, 3599);
  EXPECT_TRUE(state_.FromAccessToken(r->access_token));
  // Refresh tokens are not rotated: the same one works again.
  EXPECT_TRUE(state_.Refresh("app", t->refresh_token));
}

TEST_F(OAuthStateTest, RefreshErrors) {
  auto t = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(t);
  auto other = state_.Refresh("other", t->refresh_token);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().status, 401);
  EXPECT_EQ(other.error().error, "unauthorized_client");
  auto unknown = state_.Refresh("app", "1//0nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().error, "invalid_grant");
  EXPECT_EQ(unknown.error().description, "Token has been expired or revoked.");
}

TEST_F(OAuthStateTest, AccessTokenLifetimeIsConfigurable) {
  state_.SetAccessTokenLifetime(seconds(60));
  auto t = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expires_in, 60);
  clock_.Advance(seconds(59));
  EXPECT_TRUE(state_.FromAccessToken(t->access_token));
  clock_.Advance(seconds(1));
  EXPECT_FALSE(state_.FromAccessToken(t->access_token));
}

TEST_F(OAuthStateTest, AtMostOneHundredRefreshTokensPerAccountAndClient) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 101; ++i) {
    auto t = Exchange(state_.IssueCode(Request(true, {"consent"}), Alice()));
    ASSERT_TRUE(t);
    tokens.push_back(t->refresh_token);
  }
  EXPECT_FALSE(state_.Refresh("app", tokens[0]));  // the oldest was dropped silently
  EXPECT_TRUE(state_.Refresh("app", tokens[1]));
  EXPECT_TRUE(state_.Refresh("app", tokens[100]));
  // Another client's tokens for the same account do not count.
  ASSERT_TRUE(state_.AddClient(
      {.client_id = "third", .client_secret = "s", .redirect_uris = {"https://third.example/cb"}}));
  AuthorizationRequest r = Request();
  r.client_id = "third";
  r.redirect_uri = "https://third.example/cb";
  auto t = Exchange(state_.IssueCode(r, Alice()), std::nullopt, "third", r.redirect_uri);
  ASSERT_TRUE(t);
  EXPECT_TRUE(state_.Refresh("app", tokens[1]));
}

TEST_F(OAuthStateTest, RevokingAnyTokenRevokesTheWholeGrant) {
  auto t = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(t);
  auto r = state_.Refresh("app", t->refresh_token);
  ASSERT_TRUE(r);
  EXPECT_TRUE(state_.Revoke(r->access_token));
  EXPECT_FALSE(state_.FromAccessToken(t->access_token));
  EXPECT_FALSE(state_.FromAccessToken(r->access_token));
  EXPECT_FALSE(state_.Refresh("app", t->refresh_token));
  EXPECT_FALSE(state_.Revoke(t->refresh_token));  // already gone
  EXPECT_FALSE(state_.HasConsent(Alice().sub, "app", {kCalendar}));

  // Revoking the refresh token kills the access tokens; a new consent is a first consent again.
  auto t2 = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(t2);
  EXPECT_FALSE(t2->refresh_token.empty());
  EXPECT_TRUE(state_.Revoke(t2->refresh_token));
  EXPECT_FALSE(state_.FromAccessToken(t2->access_token));
}

TEST_F(OAuthStateTest, CodeOfARevokedGrantFails) {
  std::string code = state_.IssueCode(Request(), Alice());
  EXPECT_EQ(state_.RevokeGrant("alice@example.com", "app"), 1);
  auto r = Exchange(code);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, "invalid_grant");
}

TEST_F(OAuthStateTest, ControlRevokeGrantAndExpireTokens) {
  auto a = Exchange(state_.IssueCode(Request(), Alice()));
  auto b = Exchange(state_.IssueCode(Request(), *state_.FindAccount("bob@example.com")));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(state_.ExpireAccessTokens(), 2);
  EXPECT_FALSE(state_.FromAccessToken(a->access_token));
  EXPECT_FALSE(state_.FromAccessToken(b->access_token));
  auto refreshed = state_.Refresh("app", a->refresh_token);
  ASSERT_TRUE(refreshed);  // refresh tokens survive
  EXPECT_TRUE(state_.FromAccessToken(refreshed->access_token));

  EXPECT_EQ(state_.RevokeGrant("alice@example.com"), 1);
  EXPECT_FALSE(state_.FromAccessToken(refreshed->access_token));
  EXPECT_FALSE(state_.Refresh("app", a->refresh_token));
  EXPECT_TRUE(state_.Refresh("app", b->refresh_token));
  EXPECT_EQ(state_.RevokeGrant("nobody@example.com"), 0);
}

TEST_F(OAuthStateTest, IncludeGrantedScopesUnionsEarlierGrants) {
  ASSERT_TRUE(Exchange(state_.IssueCode(Request(), Alice())));
  AuthorizationRequest r = Request(false);
  r.scopes = {"email"};
  r.include_granted_scopes = true;
  auto t = Exchange(state_.IssueCode(r, Alice()));
  ASSERT_TRUE(t);
  auto who = state_.FromAccessToken(t->access_token);
  ASSERT_TRUE(who);
  EXPECT_TRUE(who->HasScope("email"));
  EXPECT_TRUE(who->HasScope(kCalendar));
  r.include_granted_scopes = false;
  auto narrow = state_.FromAccessToken(Exchange(state_.IssueCode(r, Alice()))->access_token);
  EXPECT_FALSE(narrow->HasScope(kCalendar));
}

TEST_F(OAuthStateTest, OpenIdScopeGivesSignedIdToken) {
  AuthorizationRequest r = Request();
  r.scopes = {"openid", "email", "profile"};
  r.nonce = "n-123";
  auto t = Exchange(state_.IssueCode(r, Alice()));
  ASSERT_TRUE(t);
  ASSERT_FALSE(t->id_token.empty());
  auto parts = Split(t->id_token, '.');
  ASSERT_EQ(parts.size(), 3u);
  auto header = net::ParseJson(*crypto::Base64UrlDecode(parts[0]));
  auto claims = net::ParseJson(*crypto::Base64UrlDecode(parts[1]));
  ASSERT_TRUE(header && claims);
  EXPECT_EQ((*header)["alg"], "RS256");
  EXPECT_EQ((*claims)["iss"], "https://accounts.google.com");
  EXPECT_EQ((*claims)["aud"], "app");
  EXPECT_EQ((*claims)["sub"], Alice().sub);
  EXPECT_EQ((*claims)["email"], "alice@example.com");
  EXPECT_EQ((*claims)["email_verified"], true);
  EXPECT_EQ((*claims)["name"], "Alice Doe");
  EXPECT_EQ((*claims)["nonce"], "n-123");
  EXPECT_EQ((*claims)["exp"].get<int64_t>() - (*claims)["iat"].get<int64_t>(), 3600);
  // Refresh answers carry an id_token too when openid was granted.
  auto refreshed = state_.Refresh("app", t->refresh_token);
  ASSERT_TRUE(refreshed);
  EXPECT_FALSE(refreshed->id_token.empty());
}

TEST_F(OAuthStateTest, PendingConsentIsTakenOnceAndExpires) {
  std::string id = state_.StartPending(Request());
  EXPECT_TRUE(state_.TakePending(id));
  EXPECT_FALSE(state_.TakePending(id));
  std::string late = state_.StartPending(Request());
  clock_.Advance(minutes(11));
  EXPECT_FALSE(state_.TakePending(late));
}

TEST_F(OAuthStateTest, SnapshotNeverShowsSecretsOrTokens) {
  auto t = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(t);
  std::string dump = state_.Snapshot().dump();
  EXPECT_EQ(dump.find("app-secret"), std::string::npos);
  EXPECT_EQ(dump.find(t->access_token), std::string::npos);
  EXPECT_EQ(dump.find(t->refresh_token), std::string::npos);
  EXPECT_NE(dump.find("\"live_access_tokens\":1"), std::string::npos);
}

TEST_F(OAuthStateTest, ResetForgetsEverything) {
  auto t = Exchange(state_.IssueCode(Request(), Alice()));
  ASSERT_TRUE(t);
  state_.Reset();
  EXPECT_FALSE(state_.FromAccessToken(t->access_token));
  EXPECT_FALSE(state_.FindClient("app"));
  EXPECT_TRUE(state_.accounts().empty());
}

}  // namespace
}  // namespace telemeet::emulator
