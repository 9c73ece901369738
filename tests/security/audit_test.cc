// The admin audit over HTTP on the real binary: only an admin session reads it; an integrator's
// API key and a doctor's session are refused; a secret that went through an admin route (a new
// API key, a webhook secret, a password, the Google client secret) never shows in it.
#include <gtest/gtest.h>

#include "tests/support/sandbox_server.h"

namespace telemeet::testing {
namespace {

TEST(AdminAuditSecurityTest, OnlyAdminsReadItAndNoSecretIsInIt) {
  SandboxServer s;
  ASSERT_TRUE(s.Start({"--set", "log.level=warn"}));
  auto admin = s.SignIn(s.DemoLogin("admin"));
  ASSERT_TRUE(admin);
  auto doctor = s.SignIn(s.DemoLogin("doctor"));
  ASSERT_TRUE(doctor);

  EXPECT_EQ(s.Api("GET", "/api/v1/audit").first, 403) << "the demo API key (read/write)";
  EXPECT_EQ(s.Call(*doctor, "GET", "/api/v1/audit").first, 403);
  EXPECT_EQ(s.Call(*doctor, "GET", "/api/v1/audit?actor=user:1").first, 403);

  std::vector<std::string> secrets;
  auto [key_status, key] =
      s.Call(*admin, "POST", "/api/v1/api_keys", {{"name", "probe"}, {"scopes", {"read"}}});
  ASSERT_EQ(key_status, 201) << key;
  secrets.push_back(key["secret"]);
  auto [hook_status, hook] = s.Call(*admin, "POST", "/api/v1/webhook_endpoints",
                                    {{"url", "https://hooks.example/T/B/secret-path-token"}});
  ASSERT_EQ(hook_status, 201) << hook;
  secrets.push_back(hook["secret"]);
  secrets.push_back("secret-path-token");
  auto [user_status, user] = s.Call(
      *admin, "POST", "/api/v1/users",
      {{"email", "probe@clinic.example"}, {"password", "probe-password-42"}, {"role", "admin"}});
  ASSERT_EQ(user_status, 201) << user;
  secrets.push_back("probe-password-42");
  auto [google_status, google] =
      s.Call(*admin, "PATCH", "/api/v1/settings/google", {{"client_secret", "GOCSPX-probe-42"}});
  ASSERT_EQ(google_status, 200) << google;
  secrets.push_back("GOCSPX-probe-42");

  auto [status, audit] = s.Call(*admin, "GET", "/api/v1/audit");
  ASSERT_EQ(status, 200) << audit;
  ASSERT_EQ(audit["data"].size(), 4u) << audit;
  const std::string text = audit.dump();
  for (const std::string& secret : secrets) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " is in " << text;
  }
  EXPECT_EQ(audit["data"][0]["action"], "google_settings.updated");
  EXPECT_EQ(audit["data"][0]["detail"]["changed"], nlohmann::json({"client_secret"}));
}

}  // namespace
}  // namespace telemeet::testing
