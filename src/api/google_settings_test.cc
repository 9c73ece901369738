#include "api/google_settings.h"

#include <gtest/gtest.h>

#include "api/testing_env.h"

namespace telemeet::api {
namespace {

using nlohmann::json;
using testing::ApiEnv;

google::OAuthConfig ConfiguredClient() {
  return google::OAuthConfig{.client_id = "configured.apps.googleusercontent.com",
                             .client_secret = "configured-secret",
                             .redirect_uri = "https://tm.example/oauth/google/callback",
                             .auth_url = "https://accounts.example/auth",
                             .token_url = "https://oauth.example/token",
                             .revoke_url = "https://oauth.example/revoke"};
}

class GoogleSettingsTest : public ::testing::Test {
 protected:
  void Use(bool sandbox) {
    live_ =
        std::make_unique<LiveGoogleConfig>(env_.store(), env_.keys, env_.clock, ConfiguredClient(),
                                           LiveGoogleConfig::Options{.sandbox = sandbox});
    ASSERT_TRUE(live_->Reload());
    env_.deps->google_config = live_.get();
  }
  net::Response Patch(const json& body) {
    return env_.Call("PATCH", "/api/v1/settings/google", body, env_.admin);
  }

  ApiEnv env_;
  std::unique_ptr<LiveGoogleConfig> live_;
};

TEST_F(GoogleSettingsTest, SavedSettingsTakeEffectAtOnceAndNullGoesBackToTheConfiguredValue) {
  Use(/*sandbox=*/false);
  EXPECT_EQ(live_->Current()->client_id, "configured.apps.googleusercontent.com");
  auto r = Patch({{"client_id", "saved.apps.googleusercontent.com"},
                  {"client_secret", "GOCSPX-saved"},
                  {"scope", std::string(google::kCalendarEventsScope)}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_EQ(j["client_id"], "saved.apps.googleusercontent.com");
  EXPECT_EQ(j["restart_required"], false);
  EXPECT_TRUE(j["notice"].is_null());
  EXPECT_EQ(r.body.find("GOCSPX"), std::string::npos);

  auto now = live_->Current();
  EXPECT_EQ(now->client_id, "saved.apps.googleusercontent.com");
  EXPECT_EQ(now->client_secret, "GOCSPX-saved");
  EXPECT_EQ(now->scope, google::kCalendarEventsScope);
  EXPECT_EQ(now->token_url, "https://oauth.example/token");  // not a setting: stays

  // The stored secret is sealed for its setting: it opens with that AAD only.
  auto sealed =
      env_.store().Read([](store::Tx& tx) { return tx.GetSetting(kGoogleClientSecretSetting); });
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->find("GOCSPX"), std::string::npos);
  EXPECT_EQ(*env_.keys.Open(*sealed, "setting:google.client_secret"), "GOCSPX-saved");
  EXPECT_FALSE(env_.keys.Open(*sealed, "doctor:1/refresh").has_value());

  ASSERT_EQ(Patch({{"client_id", nullptr}, {"client_secret", nullptr}}).status, 200);
  EXPECT_EQ(live_->Current()->client_id, "configured.apps.googleusercontent.com");
  EXPECT_EQ(live_->Current()->client_secret, "configured-secret");
  EXPECT_EQ(live_->Current()->scope, google::kCalendarEventsScope);
  auto gone =
      env_.store().Read([](store::Tx& tx) { return tx.GetSetting(kGoogleClientSecretSetting); });
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
}

TEST_F(GoogleSettingsTest, EmptyValuesAreRefusedAndNothingIsSaved) {
  Use(/*sandbox=*/false);
  auto r = Patch({{"client_id", "new.apps.googleusercontent.com"}, {"client_secret", " "}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ApiEnv::J(r)["error"]["field"], "client_secret");
  EXPECT_EQ(live_->Current()->client_id, "configured.apps.googleusercontent.com");
  auto id = env_.store().Read([](store::Tx& tx) { return tx.GetSetting(kGoogleClientIdSetting); });
  EXPECT_FALSE(id.has_value());
}

TEST_F(GoogleSettingsTest, InSandboxSavedCredentialsWaitForARestart) {
  Use(/*sandbox=*/true);
  auto r = Patch({{"client_id", "real.apps.googleusercontent.com"}, {"client_secret", "GOCSPX-r"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_EQ(j["sandbox"], true);
  EXPECT_EQ(j["restart_required"], true);
  EXPECT_NE(j["notice"].get<std::string>().find("restart telemeet to leave the sandbox"),
            std::string::npos);
  // The emulator's client stays in use: real credentials never go to the emulator.
  EXPECT_EQ(live_->Current()->client_id, "configured.apps.googleusercontent.com");
  // ... and after a restart there is no sandbox any more.
  EXPECT_EQ(SandboxDecision(env_.store(), ""), false);
}

TEST_F(GoogleSettingsTest, SandboxOnlyWithoutAConfiguredOrSavedClientId) {
  EXPECT_EQ(SandboxDecision(env_.store(), ""), true);
  EXPECT_EQ(SandboxDecision(env_.store(), "configured"), false);
  ASSERT_TRUE(env_.store().Transact(
      [](store::Tx& tx) { return tx.PutSetting(kGoogleClientIdSetting, "saved"); }));
  EXPECT_EQ(SandboxDecision(env_.store(), ""), false);
}

TEST_F(GoogleSettingsTest, AnotherInstancesSaveIsPickedUpOnceStale) {
  Use(/*sandbox=*/false);
  // Another instance writes the setting straight to the shared store.
  ASSERT_TRUE(env_.store().Transact(
      [](store::Tx& tx) { return tx.PutSetting(kGoogleClientIdSetting, "elsewhere"); }));
  live_->ReloadIfStale();
  EXPECT_EQ(live_->Current()->client_id, "configured.apps.googleusercontent.com");
  env_.clock.Advance(std::chrono::seconds(6));
  live_->ReloadIfStale();
  EXPECT_EQ(live_->Current()->client_id, "elsewhere");
}

TEST_F(GoogleSettingsTest, AnUnreadableSecretKeepsThePreviousConfiguration) {
  Use(/*sandbox=*/false);
  ASSERT_TRUE(env_.store().Transact(
      [](store::Tx& tx) { return tx.PutSetting(kGoogleClientSecretSetting, "k9.garbage"); }));
  auto s = live_->Reload();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().field(), "client_secret");
  EXPECT_EQ(live_->Current()->client_secret, "configured-secret");
}

TEST_F(GoogleSettingsTest, TestNeedsAnOAuthClient) {
  auto r = env_.Call("POST", "/api/v1/settings/google/test", nullptr, env_.admin);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(env_.Call("POST", "/api/v1/settings/google/test", nullptr, env_.write_key).status, 403);
}

}  // namespace
}  // namespace telemeet::api
