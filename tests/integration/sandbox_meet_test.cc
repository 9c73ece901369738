// Holding a consultation in sandbox mode (issue 18, M30): the demo doctor connects Google, an
// appointment gets its Meet link, and one call to the in-process emulator's control API
// (/_emulator/meet/spaces/{code}/hold, as the README shows a newcomer) makes the doctor and a
// patient meet in that link's space; Meet REST v2 then reports it as Google would.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "net/http_client.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class SandboxMeetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sandbox_.Start());
    google_ = sandbox_.google_url();
  }
  void TearDown() override { EXPECT_EQ(sandbox_.Stop(), 0); }

  std::pair<int, json> Emulator(const std::string& method, const std::string& path,
                                const std::string& body = "") {
    net::ClientRequest req{.method = method, .url = google_ + path};
    if (!body.empty()) {
      req.headers.Add("Content-Type", "application/json");
      req.body = body;
    }
    auto r = http_.Send(req);
    if (!r) return {0, nullptr};
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  testing::SandboxServer sandbox_;
  std::string google_;
  net::HttpClient http_;
};

TEST_F(SandboxMeetTest, ANewcomerHoldsAConsultationInTheAppointmentsMeet) {
  auto [ds, doctors] = sandbox_.Api("GET", "/api/v1/doctors");
  ASSERT_EQ(ds, 200) << doctors.dump();
  const json doctor = doctors["data"][0];
  const std::string email = doctor["email"];
  auto [ss, services] = sandbox_.Api("GET", "/api/v1/services");
  ASSERT_EQ(ss, 200);

  // Connect the demo doctor through the emulator's consent (auto-approved for the hint).
  ASSERT_EQ(Emulator("PATCH", "/_emulator/settings", R"({"autoApprove":true})").first, 200);
  auto [cs, connect] = sandbox_.Api(
      "POST", "/api/v1/doctors/" + std::to_string(doctor["id"].get<int64_t>()) + "/google/connect");
  ASSERT_EQ(cs, 201) << connect.dump();
  auto consent =
      http_.Send({.url = connect["authorization_url"].get<std::string>() + "&login_hint=" + email});
  ASSERT_TRUE(consent && consent->status == 302);
  auto landed = http_.Send({.url = std::string(*consent->headers.Get("Location"))});
  ASSERT_TRUE(landed && landed->status == 200);

  auto [ps, patient] = sandbox_.Api("POST", "/api/v1/patients",
                                    {{"name", "Mary Seacole"},
                                     {"email", "mary@patients.example"},
                                     {"time_zone", "Europe/London"}});
  ASSERT_EQ(ps, 201) << patient.dump();
  auto [as, appointment] = sandbox_.Api("POST", "/api/v1/appointments",
                                        {{"doctor_id", doctor["id"]},
                                         {"service_id", services["data"][0]["id"]},
                                         {"patient_id", patient["id"]},
                                         {"start", "2030-03-04T10:00:00Z"},
                                         {"end", "2030-03-04T10:30:00Z"},
                                         {"time_zone", "Europe/London"}});
  ASSERT_EQ(as, 201) << appointment.dump();
  const std::string path =
      "/api/v1/appointments/" + std::to_string(appointment["id"].get<int64_t>());
  ASSERT_EQ(sandbox_.Api("POST", path + "/confirm").first, 200);
  std::string link;
  for (int i = 0; i < 200 && link.empty(); ++i) {
    json a = sandbox_.Api("GET", path).second;
    if (a.is_object() && a["meeting"]["join_url"].is_string()) link = a["meeting"]["join_url"];
    if (link.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(link.starts_with("https://meet.google.com/")) << link;
  const std::string code = link.substr(std::string("https://meet.google.com/").size());

  // The Calendar-made conference has a Meet space owned by the doctor.
  auto [gs, space] = Emulator("GET", "/_emulator/meet/spaces/" + code);
  ASSERT_EQ(gs, 200) << space.dump();
  EXPECT_EQ(space["owner"], email);
  EXPECT_EQ(space["conferenceRecords"].size(), 0u);

  // Hold it: the doctor and a patient together for 20 minutes, ending now.
  auto [hs, held] = Emulator("POST", "/_emulator/meet/spaces/" + code + "/hold",
                             R"({"minutes":20,"patientName":"Mary"})");
  ASSERT_EQ(hs, 201) << held.dump();
  json state = Emulator("GET", "/_emulator/meet/spaces/" + code).second;
  ASSERT_EQ(state["conferenceRecords"].size(), 1u) << state.dump();
  const json& record = state["conferenceRecords"][0];
  EXPECT_EQ(record["name"], held["conferenceRecord"]);
  EXPECT_TRUE(record.contains("endTime"));
  ASSERT_EQ(record["participants"].size(), 2u);
  EXPECT_EQ(record["participants"][0]["signedinUser"]["displayName"], doctor["name"]);
  EXPECT_TRUE(
      record["participants"][0]["signedinUser"]["user"].get<std::string>().starts_with("users/"));
  EXPECT_EQ(record["participants"][1]["anonymousUser"]["displayName"], "Mary");

  // Holding needs a space: an unknown code is a 404 naming it.
  EXPECT_EQ(Emulator("POST", "/_emulator/meet/spaces/zzz-zzzz-zzz/hold", "{}").first, 404);
}

}  // namespace
}  // namespace telemeet
