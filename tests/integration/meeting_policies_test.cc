// Issue 16 through the real binary in sandbox mode. Patient invitations (M14): the admin's policy
// puts the patient on the Google event with the configured sendUpdates, and a new email of the
// patient patches the attendees. POST /api/v1/appointments/{id}/meeting/refresh (M13): the meeting
// view as Google has it, who may ask (another doctor's appointment is refused as reading it is), an
// appointment without an event (409 naming why), and the rate limit per appointment (429 with
// Retry-After, no Google call).
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

class MeetingPoliciesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> args = {"--set", "log.level=warn"};
    for (std::string& a : ExtraArgs()) args.push_back(std::move(a));
    ASSERT_TRUE(sandbox_.Start(args));
    google_ = sandbox_.google_url();
    auto [ds, doctors] = sandbox_.Api("GET", "/api/v1/doctors");
    ASSERT_EQ(ds, 200) << doctors.dump();
    ASSERT_GE(doctors["data"].size(), 2u);
    // The first demo doctor signs in; the other one is "another doctor".
    const std::string mine = sandbox_.DemoLogin("doctor", 0).email;
    for (const json& d : doctors["data"]) {
      if (d["email"] == mine) {
        mine_ = d;
      } else if (other_.is_null()) {
        other_ = d;
      }
    }
    ASSERT_FALSE(mine_.is_null()) << doctors.dump();
    ASSERT_FALSE(other_.is_null());
    auto [ss, services] = sandbox_.Api("GET", "/api/v1/services");
    ASSERT_EQ(ss, 200);
    service_id_ = services["data"][0]["id"];
    auto [ps, patient] = sandbox_.Api("POST", "/api/v1/patients",
                                      {{"name", "Mary Seacole"},
                                       {"email", "mary@patients.example"},
                                       {"time_zone", "Europe/London"}});
    ASSERT_EQ(ps, 201) << patient.dump();
    patient_id_ = patient["id"];
  }
  void TearDown() override { EXPECT_EQ(sandbox_.Stop(), 0); }
  virtual std::vector<std::string> ExtraArgs() { return {}; }

  int64_t BookConfirmed(const json& doctor, const std::string& start, const std::string& end) {
    auto [as, a] = sandbox_.Api("POST", "/api/v1/appointments",
                                {{"doctor_id", doctor["id"]},
                                 {"service_id", service_id_},
                                 {"patient_id", patient_id_},
                                 {"start", start},
                                 {"end", end},
                                 {"time_zone", "Europe/London"}});
    EXPECT_EQ(as, 201) << a.dump();
    const int64_t id = a.value("id", int64_t{0});
    EXPECT_EQ(sandbox_.Api("POST", Path(id, "/confirm")).first, 200);
    return id;
  }

  static std::string Path(int64_t id, const std::string& rest = "") {
    return "/api/v1/appointments/" + std::to_string(id) + rest;
  }

  json AwaitMeeting(int64_t id, const std::function<bool(const json&)>& done) {
    json a;
    for (int i = 0; i < 200; ++i) {
      a = sandbox_.Api("GET", Path(id)).second;
      if (a.is_object() && done(a["meeting"])) return a["meeting"];
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "meeting never reached the expected state: " << a.dump();
    return a;
  }

  // The first doctor connects Google through the emulator (auto-approved).
  void ConnectMine() {
    net::ClientRequest settings{.method = "PATCH", .url = google_ + "/_emulator/settings"};
    settings.headers.Add("Content-Type", "application/json");
    settings.body = R"({"autoApprove":true})";
    ASSERT_EQ(http_.Send(settings)->status, 200);
    auto [cs, connect] =
        sandbox_.Api("POST", "/api/v1/doctors/" + std::to_string(mine_["id"].get<int64_t>()) +
                                 "/google/connect");
    ASSERT_EQ(cs, 201) << connect.dump();
    auto landed = sandbox_.FinishConnect(connect["authorization_url"], mine_["email"]);
    ASSERT_TRUE(landed.has_value());
    ASSERT_EQ(landed->status, 200) << landed->body;
  }

  int EventReads() {
    auto log = http_.Send({.url = google_ + "/_emulator/requests"});
    EXPECT_TRUE(log.has_value());
    if (!log) return -1;
    int n = 0;
    const json parsed = json::parse(log->body);
    for (const json& r : parsed["requests"]) {
      n += r["method"] == "GET" &&
           r["path"].get<std::string>().find("/events/") != std::string::npos;
    }
    return n;
  }

  // The emulator logs an exchange after answering it: the count settles shortly after.
  int EventReadsSettled(int expected) {
    int n = EventReads();
    for (int i = 0; i < 50 && n < expected; ++i) {
      std::this_thread::sleep_for(20ms);
      n = EventReads();
    }
    return n;
  }

  testing::SandboxServer sandbox_;
  std::string google_;
  json mine_, other_;
  int64_t service_id_ = 0, patient_id_ = 0;
  net::HttpClient http_;
};

TEST_F(MeetingPoliciesTest, InvitedPatientsAreGuestsOfTheEventAndFollowTheirEmail) {
  auto admin = sandbox_.SignIn(sandbox_.DemoLogin("admin"));
  ASSERT_TRUE(admin.has_value());
  auto [ps, policy] = sandbox_.Call(*admin, "PATCH", "/api/v1/settings/meetings",
                                    {{"invite_patient", true}, {"send_updates", "all"}});
  ASSERT_EQ(ps, 200) << policy.dump();
  ConnectMine();
  const int64_t id = BookConfirmed(mine_, "2030-03-06T10:00:00Z", "2030-03-06T10:30:00Z");
  json ready = AwaitMeeting(id, [](const json& m) { return m["state"] == "ready"; });
  const std::string event_id = ready["event_id"];

  auto event = [&]() -> json {
    auto state =
        http_.Send({.url = google_ + "/_emulator/calendars/" + mine_["email"].get<std::string>()});
    EXPECT_TRUE(state.has_value());
    if (!state) return nullptr;
    const json calendar = json::parse(state->body);
    for (const json& e : calendar["events"]) {
      if (e.value("id", "") == event_id) return e;
    }
    return nullptr;
  };
  json made = event();
  ASSERT_TRUE(made.is_object());
  ASSERT_EQ(made["attendees"].size(), 1u) << made.dump();
  EXPECT_EQ(made["attendees"][0]["email"], "mary@patients.example");
  // The insert asked Google to send its invitation.
  auto log = http_.Send({.url = google_ + "/_emulator/requests"});
  ASSERT_TRUE(log.has_value());
  const json requests = json::parse(log->body)["requests"];
  int inserts = 0;
  for (const json& r : requests) {
    if (r["method"] == "POST" && r["path"] == "/calendar/v3/calendars/primary/events") {
      ++inserts;
      EXPECT_NE(r.value("query", "").find("sendUpdates=all"), std::string::npos) << r.dump();
    }
  }
  EXPECT_EQ(inserts, 1);

  // The patient's new email reaches the event; nothing else of it changes.
  auto [us, updated] = sandbox_.Api("PATCH", "/api/v1/patients/" + std::to_string(patient_id_),
                                    {{"email", "mary@new.example"}});
  ASSERT_EQ(us, 200) << updated.dump();
  json now;
  for (int i = 0; i < 100; ++i) {
    now = event();
    if (now.is_object() && now["attendees"].size() == 1u &&
        now["attendees"][0]["email"] == "mary@new.example") {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(now["attendees"][0]["email"], "mary@new.example") << now.dump();
  EXPECT_EQ(now["start"], made["start"]);
  EXPECT_EQ(now["hangoutLink"], made["hangoutLink"]);
}

TEST_F(MeetingPoliciesTest, RefreshAnswersTheMeetingOnceInTenSecondsForThoseWhoMayWrite) {
  ConnectMine();
  const int64_t id = BookConfirmed(mine_, "2030-03-04T10:00:00Z", "2030-03-04T10:30:00Z");
  json ready = AwaitMeeting(id, [](const json& m) { return m["state"] == "ready"; });
  auto doctor = sandbox_.SignIn(sandbox_.DemoLogin("doctor", 0));
  ASSERT_TRUE(doctor.has_value());

  // The appointment's doctor may refresh it: the meeting view, as Google has it.
  const int reads = EventReads();
  auto [st, meeting] = sandbox_.Call(*doctor, "POST", Path(id, "/meeting/refresh"));
  ASSERT_EQ(st, 200) << meeting.dump();
  EXPECT_EQ(meeting["object"], "meeting");
  EXPECT_EQ(meeting["state"], "ready");
  EXPECT_EQ(meeting["join_url"], ready["join_url"]);
  EXPECT_TRUE(meeting["changed_in_google"].is_null());
  EXPECT_EQ(EventReadsSettled(reads + 1), reads + 1) << "one events.get";

  // Again at once, by anyone: 429 with Retry-After, and Google is not asked.
  auto [again, refused] = sandbox_.Api("POST", Path(id, "/meeting/refresh"));
  EXPECT_EQ(again, 429) << refused.dump();
  EXPECT_EQ(refused["error"]["code"], "resource_exhausted");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(EventReads(), reads + 1) << "a refused refresh asks Google nothing";
  net::ClientRequest raw{.method = "POST",
                         .url = sandbox_.base_url() + Path(id, "/meeting/refresh")};
  raw.headers.Add("Authorization", "Bearer " + sandbox_.api_key());
  auto direct = sandbox_.Send(raw);
  ASSERT_TRUE(direct.has_value());
  EXPECT_EQ(direct->status, 429);
  auto header = direct->headers.Get("Retry-After");
  ASSERT_TRUE(header.has_value());
  const int seconds = std::stoi(std::string(*header));
  EXPECT_GE(seconds, 1);
  EXPECT_LE(seconds, 10);
}

TEST_F(MeetingPoliciesTest, AnotherDoctorsAppointmentIsRefusedAndNoEventIsAConflict) {
  // The other doctor never connected: their confirmed appointment has no event.
  const int64_t theirs = BookConfirmed(other_, "2030-03-05T10:00:00Z", "2030-03-05T10:30:00Z");
  AwaitMeeting(theirs, [](const json& m) { return m["state"] == "awaiting_doctor"; });
  auto doctor = sandbox_.SignIn(sandbox_.DemoLogin("doctor", 0));
  ASSERT_TRUE(doctor.has_value());
  // As for reading it (one rule, api/auth.h AuthorizeDoctor): refused, and nothing is read.
  auto [read, seen] = sandbox_.Call(*doctor, "GET", Path(theirs));
  auto [st, body] = sandbox_.Call(*doctor, "POST", Path(theirs, "/meeting/refresh"));
  EXPECT_EQ(st, read) << body.dump();
  EXPECT_EQ(st, 403) << body.dump();
  EXPECT_EQ(body["error"]["code"], "permission_denied");
  // The admin (here the integrator's key) learns why there is nothing to refresh.
  auto [cs, conflict] = sandbox_.Api("POST", Path(theirs, "/meeting/refresh"));
  EXPECT_EQ(cs, 409) << conflict.dump();
  EXPECT_EQ(conflict["error"]["field"], "meeting.state");
  EXPECT_NE(conflict["error"]["message"].get<std::string>().find("has not connected Google"),
            std::string::npos)
      << conflict.dump();
  // Unknown appointments and a bad id.
  EXPECT_EQ(sandbox_.Api("POST", Path(987654, "/meeting/refresh")).first, 404);
  // Without credentials nothing happens.
  net::ClientRequest anonymous{.method = "POST",
                               .url = sandbox_.base_url() + Path(theirs, "/meeting/refresh")};
  auto refused = sandbox_.Send(anonymous);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
}

// The config file's meeting.* keys are the defaults: shown by the settings and applied by the
// worker until an admin saves a policy.
class MeetingPoliciesFromConfigTest : public MeetingPoliciesTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--set", "meeting.invite_patient=true", "--set",
            "meeting.event_reminders=popup:5, email:30"};
  }
};

TEST_F(MeetingPoliciesFromConfigTest, TheConfiguredDefaultsApply) {
  auto admin = sandbox_.SignIn(sandbox_.DemoLogin("admin"));
  ASSERT_TRUE(admin.has_value());
  auto [gs, policy] = sandbox_.Call(*admin, "GET", "/api/v1/settings/meetings");
  ASSERT_EQ(gs, 200) << policy.dump();
  EXPECT_EQ(policy["invite_patient"], true);
  EXPECT_EQ(policy["event_reminders"], "popup:5,email:30");
  ConnectMine();
  const int64_t id = BookConfirmed(mine_, "2030-03-07T10:00:00Z", "2030-03-07T10:30:00Z");
  json ready = AwaitMeeting(id, [](const json& m) { return m["state"] == "ready"; });
  auto state =
      http_.Send({.url = google_ + "/_emulator/calendars/" + mine_["email"].get<std::string>()});
  ASSERT_TRUE(state.has_value());
  const json calendar = json::parse(state->body);
  json event;
  for (const json& e : calendar["events"]) {
    if (e["id"] == ready["event_id"]) event = e;
  }
  ASSERT_TRUE(event.is_object()) << state->body;
  EXPECT_EQ(event["attendees"][0]["email"], "mary@patients.example");
  EXPECT_EQ(
      event["reminders"],
      (json{{"useDefault", false},
            {"overrides",
             {{{"method", "popup"}, {"minutes", 5}}, {{"method", "email"}, {"minutes", 30}}}}}));
}

}  // namespace
}  // namespace telemeet
