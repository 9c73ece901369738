#include "base/redact.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace telemeet {
namespace {

TEST(RedactTest, FormAndTargetHideSecretsOnly) {
  EXPECT_EQ(RedactForm("grant_type=refresh_token&refresh_token=1%2F%2Fabc&client_id=x"),
            "grant_type=refresh_token&refresh_token=[REDACTED]&client_id=x");
  EXPECT_EQ(RedactTarget("/oauth/google/callback?code=4/0Ab&state=s3&scope=a"),
            "/oauth/google/callback?code=[REDACTED]&state=[REDACTED]&scope=a");
  EXPECT_EQ(RedactTarget("/healthz"), "/healthz");
}

TEST(RedactTest, HeadersKeepTheSchemeOnly) {
  EXPECT_EQ(RedactHeader("Authorization", "Bearer ya29.secret"), "Bearer [REDACTED]");
  EXPECT_EQ(RedactHeader("cookie", "sid=1"), "[REDACTED]");
  EXPECT_EQ(RedactHeader("Content-Type", "application/json"), "application/json");
}

TEST(RedactTest, JsonAtAnyDepth) {
  auto in = nlohmann::json::parse(
      R"({"access_token":"ya29","nested":{"client_secret":"s","list":[{"password":"p"}]},"n":1})");
  auto out = RedactJson(in);
  EXPECT_EQ(out["access_token"], "[REDACTED]");
  EXPECT_EQ(out["nested"]["client_secret"], "[REDACTED]");
  EXPECT_EQ(out["nested"]["list"][0]["password"], "[REDACTED]");
  EXPECT_EQ(out["n"], 1);
  EXPECT_EQ(out.dump().find("ya29"), std::string::npos);
}

}  // namespace
}  // namespace telemeet
