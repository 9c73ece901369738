// integrations.allowed_return_origins (issue 20): a booking system on a listed origin (KiviCare)
// gets the doctor back after the Google connect; every other absolute return_to is still an open
// redirect and refused with 400 naming return_to. The real binary, sandbox mode.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using nlohmann::json;
using testing::SandboxServer;

class ReturnOriginsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(
        {"--set", "log.level=warn", "--set",
         "integrations.allowed_return_origins=https://clinic.example,http://127.0.0.1:8081"}));
    auto [status, doctors] = server_.Api("GET", "/api/v1/doctors");
    ASSERT_EQ(status, 200) << doctors.dump();
    ASSERT_FALSE(doctors["data"].empty());
    doctor_id_ = doctors["data"][0]["id"].get<int64_t>();
    doctor_email_ = doctors["data"][0]["email"].get<std::string>();
  }

  std::pair<int, json> Connect(const std::string& return_to) {
    return server_.Api("POST", "/api/v1/doctors/" + std::to_string(doctor_id_) + "/google/connect",
                       {{"return_to", return_to}});
  }

  SandboxServer server_;
  int64_t doctor_id_ = 0;
  std::string doctor_email_;
};

TEST_F(ReturnOriginsTest, AListedOriginGetsTheDoctorBack) {
  const std::string back = "https://clinic.example/wp-admin/admin.php?page=dashboard#/doctor";
  auto [status, started] = Connect(back);
  ASSERT_EQ(status, 201) << started.dump();
  auto landed =
      server_.FinishConnect(started["authorization_url"].get<std::string>(), doctor_email_);
  ASSERT_TRUE(landed.has_value()) << landed.error().ToString();
  EXPECT_EQ(landed->status, 303) << landed->body;
  EXPECT_EQ(landed->headers.Get("Location").value_or(""), back);
  // Ports are part of the origin; scheme and host compare without case, as browsers do.
  EXPECT_EQ(Connect("http://127.0.0.1:8081/wp-admin/").first, 201);
  EXPECT_EQ(Connect("HTTPS://Clinic.Example/x").first, 201);
  EXPECT_EQ(Connect("/doctor").first, 201);  // a path on this site, as before
}

TEST_F(ReturnOriginsTest, EveryOtherAbsoluteReturnToIsRefused) {
  for (std::string bad : std::vector<std::string>{
           "https://evil.example/",                   // an unlisted origin
           "https://clinic.example.evil.example/",    // a listed origin as a prefix
           "https://clinic.example:8443/",            // another port
           "http://clinic.example/",                  // another scheme
           "http://127.0.0.1:80811/",                 // a listed origin as a prefix
           "https://clinic.example@evil.example/",    // userinfo: goes to evil.example
           "https://evil.example@clinic.example/",    // userinfo at all
           "https://clinic.example\\@evil.example/",  // backslash read as a slash
           "https://clinic.example\\.evil.example/",
           "//clinic.example/",  // scheme-relative
           "//evil.example/",
           "/\\evil.example",
           "javascript:alert(document.cookie)",
           "javascript://clinic.example/%0aalert(1)",
           "data:text/html,<script>alert(1)</script>",
           "https://clinic.example/\r\nSet-Cookie: injected=1",  // response splitting
           "https://clinic.example\t.evil.example/",
           std::string("https://clinic.example\0.evil.example/", 38),
           " https://clinic.example/",
           "https:/clinic.example/",
           "https://clinic.example" + std::string(2100, 'a'),
       }) {
    auto [status, body] = Connect(bad);
    EXPECT_EQ(status, 400) << json(bad).dump() << " " << body.dump();
    EXPECT_EQ(body["error"]["field"], "return_to") << json(bad).dump();
  }
}

TEST(ReturnOriginsDefaultTest, NoOriginIsListedByDefault) {
  SandboxServer server;
  ASSERT_TRUE(server.Start({"--set", "log.level=warn"}));
  auto [s, doctors] = server.Api("GET", "/api/v1/doctors");
  ASSERT_EQ(s, 200);
  int64_t id = doctors["data"][0]["id"].get<int64_t>();
  auto [status, body] =
      server.Api("POST", "/api/v1/doctors/" + std::to_string(id) + "/google/connect",
                 {{"return_to", "https://clinic.example/"}});
  EXPECT_EQ(status, 400) << body.dump();
  EXPECT_EQ(body["error"]["field"], "return_to");
}

}  // namespace
}  // namespace telemeet
