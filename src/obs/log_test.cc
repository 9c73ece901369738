#include "obs/log.h"

#include <gtest/gtest.h>

#include <sstream>

namespace telemeet::obs {
namespace {

TEST(LoggerTest, WritesOneJsonObjectPerLine) {
  std::ostringstream out;
  Logger log(out);
  log.Info("request", {{"method", "GET"}, {"status", 200}});
  auto line = nlohmann::json::parse(out.str());
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "request");
  EXPECT_EQ(line["status"], 200);
  EXPECT_TRUE(line["ts"].get<std::string>().ends_with("Z"));
}

TEST(LoggerTest, SecretsInFieldsAreRedacted) {
  std::ostringstream out;
  Logger log(out);
  log.Warn("refresh failed", {{"refresh_token", "1//secret-value"},
                              {"response", {{"access_token", "ya29.secret"}, {"expires_in", 3599}}}});
  EXPECT_EQ(out.str().find("secret-value"), std::string::npos);
  EXPECT_EQ(out.str().find("ya29.secret"), std::string::npos);
  EXPECT_NE(out.str().find("3599"), std::string::npos);
}

TEST(LoggerTest, LevelFilters) {
  std::ostringstream out;
  Logger log(out);
  log.SetLevel(Level::kWarn);
  log.Info("hidden");
  log.Debug("hidden");
  EXPECT_TRUE(out.str().empty());
  log.Error("shown");
  EXPECT_NE(out.str().find("shown"), std::string::npos);
  EXPECT_EQ(ParseLevel("warn"), Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud").has_value());
}

}  // namespace
}  // namespace telemeet::obs
