// Issue 18 through the real binary in sandbox mode: a doctor allows the Meet features by
// incremental authorization, the admin sets the policies (attendance complete, access type
// restricted), and a consultation held in the emulator's Meet (its control API: the doctor
// signed in and a patient overlapping 20 minutes) completes the appointment with the summary in
// its view, the appointment.attended event and the audit trail; the space's access type is
// patched. Without the feature the view says what it needs. Names never reach the audit trail
// or the server's output.
#include <gtest/gtest.h>

#include <chrono>
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

// A patient's name as Meet shows it: it must stay out of telemeet.
constexpr std::string_view kPatientMeetName = "Zebulon Quartermain";

class AttendanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sandbox_.Start({"--set", "log.level=info", "--set", "attendance.grace_minutes=0",
                                "--set", "attendance.poll_interval_minutes=1"}));
    google_ = sandbox_.google_url();
    auto [ds, doctors] = sandbox_.Api("GET", "/api/v1/doctors");
    ASSERT_EQ(ds, 200) << doctors.dump();
    const std::string mine = sandbox_.DemoLogin("doctor", 0).email;
    for (const json& d : doctors["data"]) {
      if (d["email"] == mine) doctor_ = d;
    }
    ASSERT_FALSE(doctor_.is_null()) << doctors.dump();
    auto [ss, services] = sandbox_.Api("GET", "/api/v1/services");
    ASSERT_EQ(ss, 200);
    service_id_ = services["data"][0]["id"];
    auto [ps, patient] = sandbox_.Api("POST", "/api/v1/patients",
                                      {{"name", "Mary Seacole"}, {"time_zone", "Europe/London"}});
    ASSERT_EQ(ps, 201) << patient.dump();
    patient_id_ = patient["id"];
    auto admin = sandbox_.SignIn(sandbox_.DemoLogin("admin"));
    ASSERT_TRUE(admin.has_value());
    admin_ = *admin;
  }
  void TearDown() override { EXPECT_EQ(sandbox_.Stop(), 0); }

  std::string DoctorPath(const std::string& rest = "") {
    return "/api/v1/doctors/" + std::to_string(doctor_["id"].get<int64_t>()) + rest;
  }
  static std::string Path(int64_t id, const std::string& rest = "") {
    return "/api/v1/appointments/" + std::to_string(id) + rest;
  }

  void Connect(const json& features) {
    net::ClientRequest settings{.method = "PATCH", .url = google_ + "/_emulator/settings"};
    settings.headers.Add("Content-Type", "application/json");
    settings.body = R"({"autoApprove":true})";
    ASSERT_EQ(http_.Send(settings)->status, 200);
    json body = json::object();
    if (!features.is_null()) body["features"] = features;
    auto [cs, connect] = sandbox_.Api("POST", DoctorPath("/google/connect"), body);
    ASSERT_EQ(cs, 201) << connect.dump();
    auto landed = sandbox_.FinishConnect(connect["authorization_url"], doctor_["email"]);
    ASSERT_TRUE(landed.has_value());
    ASSERT_EQ(landed->status, 200) << landed->body;
  }

  // Confirmed, begun 25 minutes ago and ending in `ends_in`.
  json BookEndingIn(std::chrono::seconds ends_in) {
    const Instant now =
        std::chrono::time_point_cast<std::chrono::seconds>(SystemClock::Instance().Now());
    start_ = now - 25min;
    auto [as, a] = sandbox_.Api("POST", "/api/v1/appointments",
                                {{"doctor_id", doctor_["id"]},
                                 {"service_id", service_id_},
                                 {"patient_id", patient_id_},
                                 {"start", core::FormatRfc3339(start_)},
                                 {"end", core::FormatRfc3339(now + ends_in)},
                                 {"time_zone", "Europe/London"}});
    EXPECT_EQ(as, 201) << a.dump();
    EXPECT_EQ(sandbox_.Api("POST", Path(a.value("id", int64_t{0}), "/confirm")).first, 200);
    return a;
  }

  json Await(int64_t id, const std::function<bool(const json&)>& done, const std::string& what) {
    json a;
    for (int i = 0; i < 900; ++i) {  // a look that came too early is repeated a minute later
      a = sandbox_.Api("GET", Path(id)).second;
      if (a.is_object() && done(a)) return a;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "timed out waiting for " << what << ": " << a.dump();
    return a;
  }

  static std::string CodeOf(const json& appointment) {
    std::string url = appointment["meeting"]["join_url"];
    return url.substr(url.rfind('/') + 1);
  }

  json Emulator(const std::string& method, const std::string& path, const json& body = nullptr) {
    net::ClientRequest r{.method = method, .url = google_ + path};
    if (!body.is_null()) {
      r.headers.Add("Content-Type", "application/json");
      r.body = body.dump();
    }
    auto answer = http_.Send(r);
    EXPECT_TRUE(answer.has_value());
    if (!answer) return nullptr;
    EXPECT_LT(answer->status, 300) << path << ": " << answer->body;
    return json::parse(answer->body, nullptr, false);
  }

  testing::SandboxServer sandbox_;
  testing::SandboxServer::Session admin_;
  net::HttpClient http_;
  std::string google_;
  json doctor_;
  int64_t service_id_ = 0;
  int64_t patient_id_ = 0;
  Instant start_{};
};

TEST_F(AttendanceTest, AConsultationHeldTwentyMinutesCompletesTheAppointment) {
  auto [ps, policy] = sandbox_.Call(admin_, "PATCH", "/api/v1/settings/meetings",
                                    {{"attendance", "complete"}, {"access_type", "restricted"}});
  ASSERT_EQ(ps, 200) << policy.dump();
  Connect({"attendance", "access_type"});
  auto [gs, connection] = sandbox_.Api("GET", DoctorPath("/google"));
  ASSERT_EQ(gs, 200);
  EXPECT_EQ(connection["features"], (json{{"attendance", "granted"}, {"access_type", "granted"}}));

  json booked = BookEndingIn(15s);
  const int64_t id = booked["id"];
  json ready = Await(
      id, [](const json& a) { return a["meeting"]["state"] == "ready"; }, "the Meet link");
  const std::string code = CodeOf(ready);
  // The doctor (signed in) and the patient (anonymous) overlap exactly 20 minutes, ending two
  // minutes ago.
  Emulator("POST", "/_emulator/meet/spaces/" + code + "/hold",
           {{"minutes", 20},
            {"patientName", kPatientMeetName},
            {"startTime", core::FormatRfc3339(start_ + 2min)}});

  json done = Await(
      id,
      [](const json& a) {
        return a["attendance"].is_object() && a["attendance"]["state"] == "final";
      },
      "the attendance summary");
  const json& att = done["attendance"];
  EXPECT_EQ(att["outcome"], "attended");
  EXPECT_EQ(att["doctor_joined"], true);
  EXPECT_EQ(att["others_joined"], 1);
  EXPECT_EQ(att["overlap_minutes"], 20);
  EXPECT_EQ(att["first_join"], core::FormatRfc3339(start_ + 2min));
  EXPECT_EQ(att["action"], "completed");
  EXPECT_EQ(done["status"], "completed");
  // Who may join: patched on the space, and Meet says so.
  EXPECT_EQ(done["meeting"]["access_type"]["state"], "applied") << done.dump();
  EXPECT_EQ(done["meeting"]["access_type"]["applied"], "restricted");
  json space = Emulator("GET", "/_emulator/meet/spaces/" + code);
  EXPECT_EQ(space["config"]["accessType"], "RESTRICTED") << space.dump();
  EXPECT_FALSE(done["meeting"]["join_url"].is_null());

  // The integrator's event, and the audit trail; no Meet name in either, nor in the logs.
  auto [es, events] = sandbox_.Api("GET", "/api/v1/events");
  ASSERT_EQ(es, 200) << events.dump();
  bool attended = false;
  for (const json& e : events["data"]) {
    if (e["type"] == "appointment.attended" && e["appointment_id"] == id) {
      attended = true;
      EXPECT_EQ(e["data"]["attendance"]["overlap_minutes"], 20);
    }
  }
  EXPECT_TRUE(attended) << events.dump();
  auto [as, audit] = sandbox_.Api("GET", Path(id, "/audit"));
  ASSERT_EQ(as, 200);
  bool recorded = false, read_records = false, patched = false;
  for (const json& e : audit["data"]) {
    recorded |= e["action"] == "attendance.recorded";
    read_records |= e["action"] == "google.meet.conferenceRecords.list";
    patched |= e["action"] == "google.meet.spaces.patch";
  }
  EXPECT_TRUE(recorded && read_records && patched) << audit.dump();
  EXPECT_EQ(audit.dump().find(kPatientMeetName), std::string::npos);
  EXPECT_EQ(events.dump().find(kPatientMeetName), std::string::npos);
  EXPECT_EQ(sandbox_.process().output().find(kPatientMeetName), std::string::npos);
  EXPECT_EQ(sandbox_.process().errors().find(kPatientMeetName), std::string::npos);
}

TEST_F(AttendanceTest, WithoutTheFeatureTheViewSaysWhatItNeeds) {
  auto [ps, policy] =
      sandbox_.Call(admin_, "PATCH", "/api/v1/settings/meetings", {{"attendance", "record"}});
  ASSERT_EQ(ps, 200) << policy.dump();
  Connect(nullptr);  // the calendar only
  auto [gs, connection] = sandbox_.Api("GET", DoctorPath("/google"));
  ASSERT_EQ(gs, 200);
  EXPECT_EQ(connection["features"]["attendance"], "missing");

  json booked = BookEndingIn(2s);
  const int64_t id = booked["id"];
  json done = Await(
      id,
      [](const json& a) {
        return a["attendance"].is_object() && a["attendance"]["state"] == "scope_missing";
      },
      "the missing scope");
  EXPECT_TRUE(done["attendance"]["outcome"].is_null());
  EXPECT_NE(done["attendance"]["error"].get<std::string>().find("meetings.space.readonly"),
            std::string::npos);
  EXPECT_EQ(done["status"], "confirmed");
  EXPECT_FALSE(done["meeting"]["join_url"].is_null());
  EXPECT_TRUE(done["meeting"]["access_type"].is_null());  // policy default: left alone

  // An unknown feature is refused naming the field.
  auto [bs, bad] = sandbox_.Api("POST", DoctorPath("/google/connect"), {{"features", {"camera"}}});
  EXPECT_EQ(bs, 400) << bad.dump();
  EXPECT_EQ(bad["error"]["field"], "features");
}

}  // namespace
}  // namespace telemeet
