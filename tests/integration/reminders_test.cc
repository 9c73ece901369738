// Patient reminders through the real `telemeet serve` binary (sandbox mode, emails written as
// .eml files into the data dir): the configured lead time and clinic name reach the email, and a
// booking made after its reminder's moment gets none.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/time.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The .eml files holding a reminder, their text with quoted-printable soft breaks undone.
std::vector<std::string> ReminderMails(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::stringstream text;
    text << std::ifstream(entry.path()).rdbuf();
    std::string mail = text.str();
    for (size_t at = mail.find("=\r\n"); at != std::string::npos; at = mail.find("=\r\n", at)) {
      mail.erase(at, 3);
    }
    if (mail.find("Subject: Reminder:") != std::string::npos) out.push_back(mail);
  }
  return out;
}

TEST(RemindersIntegrationTest, TheConfiguredLeadTimeAndClinicNameReachThePatient) {
  testing::SandboxServer sandbox;
  ASSERT_TRUE(sandbox.Start(
      {"--set", "notify.clinic_name=Sunny Side Clinic", "--set", "notify.reminders=5m"}));
  auto [ds, doctors] = sandbox.Api("GET", "/api/v1/doctors");
  ASSERT_EQ(ds, 200) << doctors.dump();
  ASSERT_GE(doctors["data"].size(), 2u);
  auto [ss, services] = sandbox.Api("GET", "/api/v1/services");
  ASSERT_EQ(ss, 200);
  auto [ps, patient] = sandbox.Api(
      "POST", "/api/v1/patients",
      {{"name", "Mary Seacole"}, {"email", "mary@patients.example"}, {"time_zone", "UTC"}});
  ASSERT_EQ(ps, 201) << patient.dump();
  auto book = [&](const json& doctor, Instant start) {
    auto [as, a] = sandbox.Api("POST", "/api/v1/appointments",
                               {{"doctor_id", doctor["id"]},
                                {"service_id", services["data"][0]["id"]},
                                {"patient_id", patient["id"]},
                                {"start", core::FormatRfc3339(start)},
                                {"end", core::FormatRfc3339(start + 30min)},
                                {"time_zone", "UTC"}});
    EXPECT_EQ(as, 201) << a.dump();
  };
  const Instant now = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  book(doctors["data"][1], now + 4min);       // its 5 min moment is already past: none
  book(doctors["data"][0], now + 5min + 8s);  // its 5 min moment is 8 s from now

  const std::filesystem::path mail = sandbox.data_dir() / "mail";
  std::vector<std::string> sent;
  for (int i = 0; i < 300 && sent.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    sent = ReminderMails(mail);
  }
  ASSERT_EQ(sent.size(), 1u);
  std::this_thread::sleep_for(2s);  // a second one (or one for the 4 min booking) shows by now
  sent = ReminderMails(mail);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].find("mary@patients.example"), std::string::npos);
  EXPECT_NE(sent[0].find("in 5 minutes"), std::string::npos) << sent[0];
  EXPECT_NE(sent[0].find("Sunny Side Clinic"), std::string::npos) << sent[0];
  EXPECT_NE(sent[0].find(sandbox.base_url() + "/p?token"), std::string::npos) << sent[0];
  EXPECT_EQ(sandbox.Stop(), 0);
}

}  // namespace
}  // namespace telemeet
