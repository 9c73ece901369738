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

TEST(RedactTest, UrlHidesItsPasswordAndSecretParameters) {
  EXPECT_EQ(RedactUrl("postgres://app:s3cr%40t@db.internal:5432/telemeet"),
            "postgres://app:[REDACTED]@db.internal:5432/telemeet");
  EXPECT_EQ(RedactUrl("postgresql://app:p@ss@db/tm?sslmode=require&password=x"),
            "postgresql://app:[REDACTED]@db/tm?sslmode=require&password=[REDACTED]");
  EXPECT_EQ(RedactUrl("postgres://app@db/tm"), "postgres://app@db/tm");
  EXPECT_EQ(RedactUrl("postgres://db/tm?user=app"), "postgres://db/tm?user=app");
  EXPECT_EQ(RedactUrl("sqlite:/var/lib/telemeet/telemeet.db"),
            "sqlite:/var/lib/telemeet/telemeet.db");
  EXPECT_EQ(RedactUrl("postgres://app:pw@db"), "postgres://app:[REDACTED]@db");
  // '?' and '#' in a password are not a query or fragment: libpq reads up to the last '@'.
  EXPECT_EQ(RedactUrl("postgresql://u:pa?ss@db/telemeet"), "postgresql://u:[REDACTED]@db/telemeet");
  EXPECT_EQ(RedactUrl("postgresql://u:p#w@db:5432/tm"), "postgresql://u:[REDACTED]@db:5432/tm");
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
