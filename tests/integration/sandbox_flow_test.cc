// The whole product through the real `telemeet serve` binary in sandbox mode: the demo clinic's
// API key books through the REST API, a doctor connects Google through the in-process emulator's
// consent flow, and the reconciler gives the appointment its Meet link, keeps it through a
// reschedule and removes the event on cancellation.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/time.h"
#include "net/http_client.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class SandboxFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sandbox_.Start());
    ASSERT_TRUE(sandbox_.api_key().starts_with("tm_"));
    base_ = sandbox_.base_url();
    google_ = sandbox_.google_url();
  }
  void TearDown() override { EXPECT_EQ(sandbox_.Stop(), 0); }

  // An API call with the demo key; the parsed body (null when empty) and the status.
  std::pair<int, json> Api(const std::string& method, const std::string& path,
                           const json& body = nullptr) {
    return sandbox_.Api(method, path, body);
  }

  // Polls the appointment until `done(meeting)` holds; the last appointment seen.
  json AwaitMeeting(int64_t id, const std::function<bool(const json&)>& done) {
    json a;
    for (int i = 0; i < 200; ++i) {
      a = Api("GET", "/api/v1/appointments/" + std::to_string(id)).second;
      if (a.is_object() && done(a["meeting"])) return a;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "meeting never reached the expected state: " << a.dump();
    return a;
  }

  testing::SandboxServer sandbox_;
  std::string base_, google_;
  net::HttpClient http_;
};

TEST_F(SandboxFlowTest, ConnectBookRescheduleCancel) {
  // The demo clinic: two doctors and a telemedicine service.
  auto [ds, doctors] = Api("GET", "/api/v1/doctors");
  ASSERT_EQ(ds, 200) << doctors.dump();
  ASSERT_EQ(doctors["data"].size(), 2u);
  const json doctor = doctors["data"][0];
  const int64_t doctor_id = doctor["id"];
  auto [ss, services] = Api("GET", "/api/v1/services");
  ASSERT_EQ(ss, 200);
  const int64_t service_id = services["data"][0]["id"];
  EXPECT_EQ(services["data"][0]["telemedicine"], true);

  // Booked and confirmed before the doctor connected: the meeting waits for the doctor.
  auto [ps, patient] = Api("POST", "/api/v1/patients",
                           {{"name", "Mary Seacole"},
                            {"email", "mary@patients.example"},
                            {"time_zone", "Europe/London"}});
  ASSERT_EQ(ps, 201) << patient.dump();
  auto [as, appointment] = Api("POST", "/api/v1/appointments",
                               {{"doctor_id", doctor_id},
                                {"service_id", service_id},
                                {"patient_id", patient["id"]},
                                {"start", "2030-03-04T10:00:00Z"},
                                {"end", "2030-03-04T10:30:00Z"},
                                {"time_zone", "Europe/London"}});
  ASSERT_EQ(as, 201) << appointment.dump();
  const int64_t id = appointment["id"];
  ASSERT_EQ(Api("POST", "/api/v1/appointments/" + std::to_string(id) + "/confirm").first, 200);
  AwaitMeeting(id, [](const json& m) { return m["state"] == "awaiting_doctor"; });

  // The doctor connects: the emulator approves for the hinted account without a browser.
  net::ClientRequest settings{.method = "PATCH", .url = google_ + "/_emulator/settings"};
  settings.headers.Add("Content-Type", "application/json");
  settings.body = R"({"autoApprove":true})";
  ASSERT_EQ(http_.Send(settings)->status, 200);
  auto [cs, connect] = Api("POST", "/api/v1/doctors/" + std::to_string(doctor_id) +
                                       "/google/connect");
  ASSERT_EQ(cs, 201) << connect.dump();
  std::string auth_url = connect["authorization_url"];
  ASSERT_TRUE(auth_url.starts_with(google_ + "/o/oauth2/v2/auth?")) << auth_url;
  auto consent = http_.Send({.url = auth_url + "&login_hint=" +
                                    doctor["email"].get<std::string>()});
  ASSERT_TRUE(consent.has_value());
  ASSERT_EQ(consent->status, 302) << consent->body;
  std::string callback = std::string(*consent->headers.Get("Location"));
  ASSERT_TRUE(callback.starts_with(base_ + "/oauth/google/callback?")) << callback;
  auto landed = http_.Send({.url = callback});
  ASSERT_TRUE(landed.has_value());
  EXPECT_EQ(landed->status, 200) << landed->body;
  EXPECT_NE(landed->body.find("connected"), std::string::npos);

  // The waiting meeting resumes by itself and gets the emulator's Meet link.
  json ready = AwaitMeeting(id, [](const json& m) {
    return m["state"] == "ready" && m["join_url"].is_string();
  });
  std::string link = ready["meeting"]["join_url"];
  EXPECT_TRUE(link.starts_with("https://meet.google.com/")) << link;

  // Rescheduled: the event moves, the link stays.
  auto [rs, moved] = Api("POST", "/api/v1/appointments/" + std::to_string(id) + "/reschedule",
                         {{"start", "2030-03-05T14:00:00Z"}, {"end", "2030-03-05T14:30:00Z"}});
  ASSERT_EQ(rs, 200) << moved.dump();
  // The link stays published meanwhile, and the view says the move is not at Google yet; once it
  // says so no more, the event is at the new time.
  EXPECT_EQ(moved["meeting"]["state"], "ready") << moved.dump();
  EXPECT_EQ(moved["meeting"]["syncing"], true) << moved.dump();
  json synced = AwaitMeeting(id, [](const json& m) { return m["syncing"] == false; });
  EXPECT_EQ(synced["meeting"]["state"], "ready") << synced.dump();
  {
    auto at_google =
        http_.Send({.url = google_ + "/_emulator/calendars/" + doctor["email"].get<std::string>()});
    ASSERT_TRUE(at_google.has_value());
    bool moved_there = false;
    for (const json& e : json::parse(at_google->body)["events"].get<std::vector<json>>()) {
      if (e.value("status", "") == "cancelled") continue;
      auto start = core::ParseRfc3339(e["start"]["dateTime"].get<std::string>());
      moved_there |= start && core::FormatRfc3339(*start) == "2030-03-05T14:00:00Z";
    }
    EXPECT_TRUE(moved_there) << at_google->body;
  }
  json audit;
  for (int i = 0; i < 200; ++i) {
    audit = Api("GET", "/api/v1/appointments/" + std::to_string(id) + "/audit").second;
    if (audit.dump().find("google.events.patch") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(audit.dump().find("google.events.patch"), std::string::npos) << audit.dump();
  json after = AwaitMeeting(id, [&](const json& m) { return m["state"] == "ready"; });
  EXPECT_EQ(after["meeting"]["join_url"], link);

  // Cancelled: the event is deleted at Google.
  ASSERT_EQ(Api("POST", "/api/v1/appointments/" + std::to_string(id) + "/cancel").first, 200);
  AwaitMeeting(id, [](const json& m) { return m["state"] == "cancelled"; });
  auto state = http_.Send(
      {.url = google_ + "/_emulator/calendars/" + doctor["email"].get<std::string>()});
  ASSERT_TRUE(state.has_value());
  ASSERT_EQ(state->status, 200) << state->body;
  json calendar = json::parse(state->body);
  int live = 0;
  for (const auto& e : calendar["events"]) {
    if (e.value("status", "") != "cancelled") ++live;
  }
  EXPECT_EQ(live, 0) << state->body;
}

}  // namespace
}  // namespace telemeet
