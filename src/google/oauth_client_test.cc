#include "google/oauth_client.h"

#include <gtest/gtest.h>

#include <mutex>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "google/testing/fake_sleeper.h"
#include "google/testing/recording_observer.h"
#include "google/testing/scripted_transport.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using testing::Json;
using testing::OAuthError;
using testing::UrlQuery;

const std::string kToken = "https://oauth.test/token";
const std::string kRevoke = "https://oauth.test/revoke";

OAuthConfig Config() {
  return OAuthConfig{.client_id = "client-1.apps.example",
                     .client_secret = "s3cret-value",
                     .redirect_uri = "https://telemeet.example/oauth/callback",
                     .auth_url = "https://accounts.test/o/oauth2/v2/auth",
                     .token_url = kToken,
                     .revoke_url = kRevoke};
}

json TokenAnswer(bool with_refresh = true,
                 std::string scope = "https://www.googleapis.com/auth/calendar") {
  json j = {{"access_token", "ya29.access-1"},
            {"expires_in", 3599},
            {"token_type", "Bearer"},
            {"scope", scope}};
  if (with_refresh) j["refresh_token"] = "1//refresh-1";
  return j;
}

class OAuthClientTest : public ::testing::Test {
 protected:
  OAuthClient Client(OAuthConfig config = Config()) {
    return OAuthClient(
        std::move(config),
        OAuthDeps{
            .transport = transport_, .clock = clock_, .retry = retry_, .observer = &observer_});
  }
  KeyValues Form(size_t i = 0) {
    return ParseQuery(transport_.requests().at(i).body).value_or(KeyValues{});
  }

  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
  RetryPolicy retry_{RetryOptions{}, clock_, sleeper_, 11};
  testing::ScriptedTransport transport_;
  testing::RecordingObserver observer_;
};

TEST_F(OAuthClientTest, AuthorizationUrlAsksForOfflineConsentWithPkce) {
  auto req = Client().BuildAuthorizationUrl("state-xyz", "dr.who@example.com");
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->url.rfind("https://accounts.test/o/oauth2/v2/auth?", 0), 0u);
  KeyValues q = UrlQuery(req->url);
  KeyValues expected = {{"client_id", "client-1.apps.example"},
                        {"redirect_uri", "https://telemeet.example/oauth/callback"},
                        {"response_type", "code"},
                        {"scope", "https://www.googleapis.com/auth/calendar"},
                        {"access_type", "offline"},
                        {"prompt", "consent"},
                        {"include_granted_scopes", "true"},
                        {"state", "state-xyz"},
                        {"code_challenge", crypto::PkceChallengeS256(req->code_verifier)},
                        {"code_challenge_method", "S256"},
                        {"login_hint", "dr.who@example.com"}};
  EXPECT_EQ(q, expected);
  EXPECT_GE(req->code_verifier.size(), 43u);
  EXPECT_LE(req->code_verifier.size(), 128u);
  EXPECT_EQ(req->code_verifier.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"),
            std::string::npos);
  // The secret never appears in the URL.
  EXPECT_EQ(req->url.find("s3cret"), std::string::npos);
  EXPECT_EQ(req->url.find(req->code_verifier), std::string::npos);
}

TEST_F(OAuthClientTest, AuthorizationUrlVariants) {
  auto a = Client().BuildAuthorizationUrl("s1");
  auto b = Client().BuildAuthorizationUrl("s1");
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(FindValue(UrlQuery(a->url), "login_hint").has_value());
  EXPECT_NE(a->code_verifier, b->code_verifier);  // fresh randomness each time
  EXPECT_EQ(Client().BuildAuthorizationUrl("").error().code(), ErrorCode::kInvalidArgument);

  OAuthConfig events = Config();
  events.scope = std::string(kCalendarEventsScope);
  auto c = OAuthClient(events, {transport_, clock_, retry_}).BuildAuthorizationUrl("s");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(FindValue(UrlQuery(c->url), "scope"), std::string(kCalendarEventsScope));

  OAuthConfig no_calendar = Config();
  no_calendar.scope = "openid email";
  EXPECT_FALSE(OAuthClient(no_calendar, {transport_, clock_, retry_})
                   .BuildAuthorizationUrl("s")
                   .has_value());
}

TEST_F(OAuthClientTest, ExtraScopesAreAddedOnceForIncrementalAuthorization) {
  auto req = Client().BuildAuthorizationUrl(
      "s", "", {"openid", std::string(kCalendarScope), "https://www.googleapis.com/auth/x"});
  ASSERT_TRUE(req.has_value());
  KeyValues q = UrlQuery(req->url);
  EXPECT_EQ(FindValue(q, "scope"),
            "https://www.googleapis.com/auth/calendar openid https://www.googleapis.com/auth/x");
  EXPECT_EQ(FindValue(q, "include_granted_scopes"), "true");
}

TEST_F(OAuthClientTest, IdTokenSubjectIsReadForOurClientOnly) {
  auto token = [](const json& claims) {
    return crypto::Base64UrlEncode(R"({"alg":"RS256"})") + "." +
           crypto::Base64UrlEncode(claims.dump()) + ".c2ln";
  };
  const std::string client = "client-1.apps.example";
  EXPECT_EQ(IdTokenSubject(token({{"sub", "1234567890"}, {"aud", client}}), client), "1234567890");
  EXPECT_EQ(IdTokenSubject(token({{"sub", "1234567890"}, {"aud", "other"}}), client), "");
  EXPECT_EQ(IdTokenSubject(token({{"aud", client}}), client), "");
  EXPECT_EQ(IdTokenSubject(token({{"sub", "a/../b"}, {"aud", client}}), client), "");
  EXPECT_EQ(IdTokenSubject("not-a-jwt", client), "");
  EXPECT_EQ(IdTokenSubject("", client), "");
  EXPECT_EQ(IdTokenSubject(token({{"sub", "1"}, {"aud", ""}}), ""), "");
}

TEST_F(OAuthClientTest, ExchangePostsTheFormAndTypesTheGrant) {
  transport_.On("POST", kToken, Json(200, TokenAnswer()));
  auto grant = Client().ExchangeCode("4/code-abc", "verifier-123");
  ASSERT_TRUE(grant.has_value()) << grant.error().ToString();
  HttpRequest r = transport_.requests()[0];
  EXPECT_EQ(r.url, kToken);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/x-www-form-urlencoded");
  KeyValues expected = {{"grant_type", "authorization_code"},
                        {"code", "4/code-abc"},
                        {"client_id", "client-1.apps.example"},
                        {"client_secret", "s3cret-value"},
                        {"redirect_uri", "https://telemeet.example/oauth/callback"},
                        {"code_verifier", "verifier-123"}};
  EXPECT_EQ(Form(), expected);
  EXPECT_EQ(grant->access_token, "ya29.access-1");
  EXPECT_EQ(grant->refresh_token, "1//refresh-1");
  EXPECT_EQ(grant->expires_at, clock_.Now() + std::chrono::seconds(3599));
  EXPECT_TRUE(grant->HasScope(kCalendarScope));
}

TEST_F(OAuthClientTest, ExchangeRefusesAGrantWithoutTheCalendarScope) {
  transport_.On(
      "POST", kToken,
      Json(200, TokenAnswer(true, "openid https://www.googleapis.com/auth/userinfo.email")));
  auto grant = Client().ExchangeCode("4/code", "v");
  ASSERT_FALSE(grant.has_value());
  EXPECT_EQ(grant.error().kind(), ErrorKind::kScopeNotGranted);
  EXPECT_TRUE(grant.error().NeedsReconnect());
}

TEST_F(OAuthClientTest, ExchangeAcceptsCalendarEventsWhenThatWasAsked) {
  OAuthConfig cfg = Config();
  cfg.scope = std::string(kCalendarEventsScope);
  transport_.On("POST", kToken, Json(200, TokenAnswer(true, std::string(kCalendarEventsScope))));
  EXPECT_TRUE(Client(cfg).ExchangeCode("4/code", "v").has_value());
}

TEST_F(OAuthClientTest, ExchangeWithoutRefreshTokenIsAnError) {
  transport_.On("POST", kToken, Json(200, TokenAnswer(false)));
  auto grant = Client().ExchangeCode("4/code", "v");
  ASSERT_FALSE(grant.has_value());
  EXPECT_EQ(grant.error().kind(), ErrorKind::kBadResponse);
}

TEST_F(OAuthClientTest, ExchangeErrorsKeepGoogleDescriptionAndAreNotRetried) {
  transport_.On("POST", kToken, OAuthError(400, "invalid_grant", "Code was already redeemed."));
  auto grant = Client().ExchangeCode("4/code", "v");
  ASSERT_FALSE(grant.has_value());
  EXPECT_EQ(grant.error().kind(), ErrorKind::kInvalidGrant);
  EXPECT_EQ(grant.error().message(), "Code was already redeemed.");
  EXPECT_EQ(transport_.Count("POST", kToken), 1);
}

TEST_F(OAuthClientTest, ExchangeIsNotRepeatedAfterAnAmbiguousFailure) {
  transport_.On("POST", kToken, OAuthError(503, "backend_error", "x"));
  EXPECT_EQ(Client().ExchangeCode("4/code", "v").error().kind(), ErrorKind::kServer);
  EXPECT_EQ(transport_.Count("POST", kToken), 1);
}

TEST_F(OAuthClientTest, RefreshKeepsTheRefreshTokenGoogleDidNotResend) {
  transport_.On("POST", kToken, Json(200, TokenAnswer(false)));
  auto grant = Client().Refresh("1//refresh-old");
  ASSERT_TRUE(grant.has_value()) << grant.error().ToString();
  EXPECT_EQ(grant->refresh_token, "1//refresh-old");
  KeyValues expected = {{"grant_type", "refresh_token"},
                        {"refresh_token", "1//refresh-old"},
                        {"client_id", "client-1.apps.example"},
                        {"client_secret", "s3cret-value"}};
  EXPECT_EQ(Form(), expected);
}

TEST_F(OAuthClientTest, RefreshTakesANewRefreshTokenWhenSent) {
  transport_.On("POST", kToken, Json(200, TokenAnswer(true)));
  EXPECT_EQ(Client().Refresh("1//refresh-old")->refresh_token, "1//refresh-1");
}

TEST_F(OAuthClientTest, RefreshRetriesTransientFailures) {
  transport_.On("POST", kToken, OAuthError(500, "internal_failure", "x"))
      .On("POST", kToken, testing::TransportError(ErrorCode::kUnavailable))
      .On("POST", kToken, Json(200, TokenAnswer(false)));
  ASSERT_TRUE(Client().Refresh("1//r").has_value());
  EXPECT_EQ(transport_.Count("POST", kToken), 3);
}

TEST_F(OAuthClientTest, RefreshErrorsAreTyped) {
  transport_
      .On("POST", kToken, OAuthError(400, "invalid_grant", "Token has been expired or revoked."))
      .On("POST", kToken, OAuthError(401, "invalid_client", "The OAuth client was not found."));
  auto dead = Client().Refresh("1//r");
  EXPECT_EQ(dead.error().kind(), ErrorKind::kInvalidGrant);
  EXPECT_EQ(dead.error().message(), "Token has been expired or revoked.");
  auto config = Client().Refresh("1//r");
  EXPECT_EQ(config.error().kind(), ErrorKind::kInvalidClient);
  EXPECT_EQ(config.error().message(), "The OAuth client was not found.");
}

TEST_F(OAuthClientTest, RevokeTreatsAnUnknownTokenAsRevoked) {
  transport_.On("POST", kRevoke, testing::Text(200, "{}"))
      .On("POST", kRevoke, OAuthError(400, "invalid_token", "Token expired or revoked"));
  EXPECT_TRUE(Client().Revoke("1//r").has_value());
  EXPECT_TRUE(Client().Revoke("1//r").has_value());
  EXPECT_EQ(Form(0), (KeyValues{{"token", "1//r"}}));
}

TEST(ClientSecretTest, SealedAtRestAndBoundToItsPurpose) {
  crypto::KeyRing keys;
  ASSERT_TRUE(keys.Add("k1", crypto::RandomBytes(32)));
  auto sealed = SealClientSecret(keys, "s3cret-value");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->find("s3cret"), std::string::npos);
  EXPECT_EQ(sealed->rfind("k1.", 0), 0u);
  EXPECT_EQ(OpenClientSecret(keys, *sealed), "s3cret-value");
  // A refresh token's sealed value does not open as the client secret.
  auto other = keys.Seal("s3cret-value", "doctor:1/google_refresh_token");
  EXPECT_FALSE(OpenClientSecret(keys, *other).has_value());
}

// A live configuration that a test changes between operations.
class SwitchableConfig final : public OAuthConfigSource {
 public:
  explicit SwitchableConfig(OAuthConfig c) { Set(std::move(c)); }
  void Set(OAuthConfig c) {
    std::lock_guard lock(mu_);
    current_ = std::make_shared<const OAuthConfig>(std::move(c));
  }
  std::shared_ptr<const OAuthConfig> Current() const override {
    std::lock_guard lock(mu_);
    return current_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const OAuthConfig> current_;
};

TEST_F(OAuthClientTest, ALiveClientUsesTheConfigurationOfTheMomentForEachOperation) {
  SwitchableConfig live(Config());
  OAuthClient client(live, OAuthDeps{.transport = transport_, .clock = clock_, .retry = retry_});
  transport_.On("POST", kToken, Json(200, TokenAnswer(false)));
  ASSERT_TRUE(client.Refresh("1//r"));
  EXPECT_EQ(FindValue(Form(0), "client_id"), "client-1.apps.example");

  OAuthConfig second = Config();
  second.client_id = "client-2.apps.example";
  second.client_secret = "other-secret";
  live.Set(second);
  ASSERT_TRUE(client.Refresh("1//r"));
  EXPECT_EQ(FindValue(Form(1), "client_id"), "client-2.apps.example");
  EXPECT_EQ(FindValue(Form(1), "client_secret"), "other-secret");
  EXPECT_EQ(client.config().client_id, "client-2.apps.example");
  auto url = client.BuildAuthorizationUrl("s");
  ASSERT_TRUE(url);
  EXPECT_EQ(FindValue(UrlQuery(url->url), "client_id"), "client-2.apps.example");
}

TEST_F(OAuthClientTest, CheckClientTakesInvalidGrantAsProofThatTheClientWorks) {
  transport_.On("POST", kToken, OAuthError(400, "invalid_grant", "Malformed auth code."));
  EXPECT_TRUE(Client().CheckClient());
  KeyValues form = Form();
  EXPECT_EQ(FindValue(form, "grant_type"), "authorization_code");
  EXPECT_EQ(FindValue(form, "client_id"), "client-1.apps.example");
  EXPECT_EQ(FindValue(form, "client_secret"), "s3cret-value");
  EXPECT_EQ(FindValue(form, "redirect_uri"), "https://telemeet.example/oauth/callback");
}

TEST_F(OAuthClientTest, CheckClientReportsWrongCredentialsAndOddAnswers) {
  transport_.On("POST", kToken, OAuthError(401, "invalid_client", "Unauthorized"));
  auto wrong = Client().CheckClient();
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().kind(), ErrorKind::kInvalidClient);

  testing::ScriptedTransport accepting;
  accepting.On("POST", kToken, Json(200, TokenAnswer()));
  OAuthClient odd(Config(), OAuthDeps{.transport = accepting, .clock = clock_, .retry = retry_});
  EXPECT_EQ(odd.CheckClient().error().kind(), ErrorKind::kBadResponse);

  OAuthConfig none = Config();
  none.client_id.clear();
  EXPECT_EQ(Client(none).CheckClient().error().kind(), ErrorKind::kInvalidClient);
}

TEST_F(OAuthClientTest, ObserverNeverSeesSecrets) {
  transport_.On("POST", kToken, Json(200, TokenAnswer()));
  ASSERT_TRUE(Client().ExchangeCode("4/code-abc", "verifier-123"));
  auto records = observer_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].operation, "oauth.exchange");
  EXPECT_EQ(records[0].path, "/token");
  EXPECT_EQ(records[0].status, 200);
  EXPECT_EQ(records[0].outcome, "ok");
  for (std::string secret : {"4/code-abc", "verifier-123", "s3cret", "ya29", "1//"}) {
    EXPECT_EQ(records[0].path.find(secret), std::string::npos);
    EXPECT_EQ(records[0].operation.find(secret), std::string::npos);
  }
}

}  // namespace
}  // namespace telemeet::google
