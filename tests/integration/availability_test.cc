// The doctor's real availability (M17) through the real `telemeet serve` binary in sandbox mode:
// the first demo doctor connects Google through the in-process emulator, events are put on
// their calendar as they would be by hand (the emulator's control route), and the availability
// route, the google_busy booking policy and the free/busy cache are driven over HTTP. freeBusy
// calls are counted in the emulator's request log.
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

class AvailabilityTest : public ::testing::Test {
 protected:
  // One server for the suite: starting one and connecting Google takes seconds. Each test uses
  // days of its own, so the cache and the calendar never carry one test's state into another.
  static void SetUpTestSuite() {
    server_ = new testing::SandboxServer();
    // An hour: answers never expire during the suite, so only an invalidation refreshes them.
    ASSERT_TRUE(server_->Start({"--set", "availability.cache_ttl_seconds=3600"}));
    auto [ds, doctors] = server_->Api("GET", "/api/v1/doctors");
    ASSERT_EQ(ds, 200);
    doctor_ = new json(doctors["data"][0]);
    other_doctor_ = new json(doctors["data"][1]);
    service_id_ = server_->Api("GET", "/api/v1/services").second["data"][0]["id"];
    auto [ps, patient] = server_->Api("POST", "/api/v1/patients",
                                      {{"name", "Ada Lovelace"}, {"email", "ada@example.org"}});
    ASSERT_EQ(ps, 201) << patient.dump();
    patient_id_ = patient["id"];
    Connect();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Stop(), 0);
    delete server_;
    delete doctor_;
    delete other_doctor_;
  }

  static std::string Email() { return (*doctor_)["email"]; }
  static int64_t DoctorId() { return (*doctor_)["id"]; }
  static std::string Path(const std::string& rest = "") {
    return "/api/v1/doctors/" + std::to_string(DoctorId()) + rest;
  }

  // The doctor connects Google (the emulator approves the hinted account without a browser) and
  // the calendar sync opens its push channel.
  static void Connect() {
    net::HttpClient http;
    ASSERT_EQ(Emulator("PATCH", "/_emulator/settings", {{"autoApprove", true}}).status, 200);
    auto [cs, connect] = server_->Api("POST", Path("/google/connect"));
    ASSERT_EQ(cs, 201) << connect.dump();
    auto consent = http.Send(
        {.url = connect["authorization_url"].get<std::string>() + "&login_hint=" + Email()});
    ASSERT_TRUE(consent.has_value());
    ASSERT_EQ(consent->status, 302) << consent->body;
    auto landed = http.Send({.url = std::string(*consent->headers.Get("Location"))});
    ASSERT_TRUE(landed.has_value());
    ASSERT_EQ(landed->status, 200) << landed->body;
    for (int i = 0; i < 200; ++i) {
      auto state = Emulator("GET", "/_emulator/calendars/" + Email());
      if (state.status == 200 && !json::parse(state.body)["channels"].empty()) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "the calendar sync never opened its push channel";
  }

  static net::ClientResponse Emulator(const std::string& method, const std::string& path,
                                      const json& body = nullptr) {
    net::HttpClient http;
    net::ClientRequest req{.method = method, .url = server_->google_url() + path};
    if (!body.is_null()) {
      req.headers.Add("Content-Type", "application/json");
      req.body = body.dump();
    }
    auto r = http.Send(req);
    EXPECT_TRUE(r.has_value());
    return r ? *r : net::ClientResponse{};
  }

  // A private event on the doctor's calendar, as the doctor would add it in Google Calendar.
  static void PutGoogleEvent(const std::string& start, const std::string& end) {
    auto r = Emulator(
        "POST", "/_emulator/calendars/" + Email() + "/events",
        {{"summary", "Private"}, {"start", {{"dateTime", start}}}, {"end", {{"dateTime", end}}}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  static int FreeBusyCalls() {
    auto r = Emulator("GET", "/_emulator/requests");

    int n = 0;
    const json log = json::parse(r.body);
    for (const json& e : log["requests"]) {
      if (e["path"].get<std::string>().starts_with("/calendar/v3/freeBusy")) ++n;
    }
    return n;
  }

  // Until Google sees no more traffic for a while: earlier tests' reconciles and the pushes
  // our own writes cause (each one rightly drops the doctor's cached answers) are over.
  static void WaitQuiet() {
    std::string last;
    for (int i = 0; i < 20; ++i) {
      std::string now = Emulator("GET", "/_emulator/requests").body +
                        Emulator("GET", "/_emulator/push-log").body;
      if (now == last) return;
      last = std::move(now);
      std::this_thread::sleep_for(700ms);
    }
  }

  static void SetPolicy(const std::string& policy) {
    auto admin = server_->SignIn(server_->DemoLogin("admin"));
    ASSERT_TRUE(admin);
    auto [s, out] =
        server_->Call(*admin, "PATCH", "/api/v1/settings/booking", {{"google_busy", policy}});
    ASSERT_EQ(s, 200) << out.dump();
    ASSERT_EQ(out["google_busy"], policy);
  }

  static std::pair<int, json> Book(const std::string& start, const std::string& end) {
    return server_->Api("POST", "/api/v1/appointments",
                        {{"doctor_id", DoctorId()},
                         {"service_id", service_id_},
                         {"patient_id", patient_id_},
                         {"start", start},
                         {"end", end}});
  }

  static std::pair<int, json> Availability(const std::string& from, const std::string& to,
                                           const std::string& extra = "") {
    return server_->Api("GET", Path("/availability?from=" + from + "&to=" + to + extra));
  }

  static inline testing::SandboxServer* server_ = nullptr;
  static inline json* doctor_ = nullptr;
  static inline json* other_doctor_ = nullptr;
  static inline int64_t service_id_ = 0;
  static inline int64_t patient_id_ = 0;
};

json Interval(const std::string& start, const std::string& end) {
  return {{"start", start}, {"end", end}};
}

TEST_F(AvailabilityTest, MergesGoogleAndTelemeetBusyAndSlotsInWorkingHours) {
  // Mondays 09:00-12:00 in Berlin; 2030-03-04 is a Monday (+01:00).
  const json monday = json::array({json::array({"09:00", "12:00"})});
  auto [ws, doctor] = server_->Api(
      "PATCH", Path(), {{"time_zone", "Europe/Berlin"}, {"working_hours", {{"mon", monday}}}});
  ASSERT_EQ(ws, 200) << doctor.dump();
  EXPECT_EQ(doctor["working_hours"]["mon"], monday);
  EXPECT_EQ(doctor["working_hours"]["tue"], json::array());
  EXPECT_EQ(server_->Api("GET", Path()).second["working_hours"], doctor["working_hours"]);
  SetPolicy("ignore");
  PutGoogleEvent("2030-03-04T09:00:00Z", "2030-03-04T09:45:00Z");            // 10:00-10:45 local
  auto [bs, booked] = Book("2030-03-04T08:30:00Z", "2030-03-04T09:00:00Z");  // 09:30 local
  ASSERT_EQ(bs, 201) << booked.dump();

  auto [s, a] = Availability("2030-03-04T00:00:00Z", "2030-03-05T00:00:00Z");
  ASSERT_EQ(s, 200) << a.dump();
  EXPECT_EQ(a["google_consulted"], true);
  EXPECT_EQ(a["time_zone"], "Europe/Berlin");
  EXPECT_EQ(a["busy_google"],
            json::array({Interval("2030-03-04T09:00:00Z", "2030-03-04T09:45:00Z")}));
  EXPECT_EQ(a["busy_telemeet"],
            json::array({Interval("2030-03-04T08:30:00Z", "2030-03-04T09:00:00Z")}));
  EXPECT_EQ(a["busy"], json::array({Interval("2030-03-04T08:30:00Z", "2030-03-04T09:45:00Z")}));
  // 09:00 local free; 09:30-10:45 busy; then 11:00 and 11:30 local (10:45 is off the grid).
  EXPECT_EQ(a["free"], json::array({Interval("2030-03-04T08:00:00Z", "2030-03-04T08:30:00Z"),
                                    Interval("2030-03-04T10:00:00Z", "2030-03-04T10:30:00Z"),
                                    Interval("2030-03-04T10:30:00Z", "2030-03-04T11:00:00Z")}));

  // Bad input names its field.
  auto bad = [&](const std::string& from, const std::string& to, const std::string& extra) {
    auto [st, e] = Availability(from, to, extra);
    EXPECT_EQ(st, 400) << e.dump();
    return e["error"]["field"];
  };
  EXPECT_EQ(bad("2030-03-04T00:00:00Z", "2030-03-05T00:00:00Z", "&slot_minutes=3"), "slot_minutes");
  EXPECT_EQ(bad("2030-03-04T00:00:00Z", "2030-06-04T00:00:00Z", ""), "to");
  EXPECT_EQ(bad("2030-03-04T00:00:00Z", "2030-03-03T00:00:00Z", ""), "to");
  EXPECT_EQ(bad("yesterday", "2030-03-03T00:00:00Z", ""), "from");
  auto [hs, he] = server_->Api(
      "PATCH", Path(),
      {{"working_hours", {{"mon", json::array({json::array({"12:00", "09:00"})})}}}});
  EXPECT_EQ(hs, 400);
  EXPECT_EQ(he["error"]["field"], "working_hours.mon[0]");
  auto [ds, de] = server_->Api("PATCH", Path(), {{"working_hours", {{"monday", json::array()}}}});
  EXPECT_EQ(ds, 400);
  EXPECT_EQ(de["error"]["field"], "working_hours.monday");
  // Cleared: any time of day.
  auto [cs, cleared] = server_->Api("PATCH", Path(), {{"working_hours", nullptr}});
  ASSERT_EQ(cs, 200);
  EXPECT_TRUE(cleared["working_hours"].is_null());
}

TEST_F(AvailabilityTest, PolicyRefusesWarnsOrIgnoresABusyGoogleSlot) {
  PutGoogleEvent("2030-04-01T10:00:00Z", "2030-04-01T12:00:00Z");
  SetPolicy("refuse");
  auto [rs, refused] = Book("2030-04-01T10:00:00Z", "2030-04-01T10:30:00Z");
  EXPECT_EQ(rs, 409) << refused.dump();
  EXPECT_EQ(refused["error"]["code"], "slot_busy");
  EXPECT_EQ(refused["error"]["field"], "start");
  EXPECT_EQ(refused["error"]["busy"][0], Interval("2030-04-01T10:00:00Z", "2030-04-01T12:00:00Z"));
  // Nothing was written.
  auto list = server_->Api("GET", "/api/v1/appointments?doctor_id=" + std::to_string(DoctorId()) +
                                      "&from=2030-04-01T00:00:00Z&to=2030-04-02T00:00:00Z");
  EXPECT_TRUE(list.second["data"].empty()) << list.second.dump();
  // A free time books without a warning.
  auto [fs, free] = Book("2030-04-01T12:00:00Z", "2030-04-01T12:30:00Z");
  EXPECT_EQ(fs, 201) << free.dump();
  EXPECT_EQ(free["warnings"], json::array());

  SetPolicy("warn");
  auto [ws, warned] = Book("2030-04-01T10:30:00Z", "2030-04-01T11:00:00Z");
  ASSERT_EQ(ws, 201) << warned.dump();
  ASSERT_EQ(warned["warnings"].size(), 1u) << warned.dump();
  EXPECT_EQ(warned["warnings"][0]["code"], "slot_busy");

  SetPolicy("ignore");
  const int before = FreeBusyCalls();
  auto [is, ignored] = Book("2030-04-01T11:00:00Z", "2030-04-01T11:30:00Z");
  ASSERT_EQ(is, 201) << ignored.dump();
  EXPECT_EQ(ignored["warnings"], json::array());
  EXPECT_EQ(FreeBusyCalls(), before);  // Google is not even asked

  // Moving an appointment into the busy time is checked too.
  SetPolicy("refuse");
  auto [ms, moved] = server_->Api(
      "POST", "/api/v1/appointments/" + std::to_string(free["id"].get<int64_t>()) + "/reschedule",
      {{"start", "2030-04-01T11:30:00Z"}, {"end", "2030-04-01T12:00:00Z"}});
  EXPECT_EQ(ms, 409) << moved.dump();
  EXPECT_EQ(moved["error"]["code"], "slot_busy");
}

TEST_F(AvailabilityTest, OwnEventIsNotBusyButAnotherAppointmentsIs) {
  SetPolicy("refuse");
  auto [bs, booked] = Book("2030-05-06T09:00:00Z", "2030-05-06T09:30:00Z");
  ASSERT_EQ(bs, 201) << booked.dump();
  const std::string id = std::to_string(booked["id"].get<int64_t>());
  ASSERT_EQ(server_->Api("POST", "/api/v1/appointments/" + id + "/confirm").first, 200);
  json a;
  for (int i = 0; i < 200; ++i) {
    a = server_->Api("GET", "/api/v1/appointments/" + id).second;
    if (a["meeting"]["state"] == "ready") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(a["meeting"]["state"], "ready") << a.dump();
  // Our event is on the calendar now (our write dropped the cached answer).
  auto [vs, v] = Availability("2030-05-06T00:00:00Z", "2030-05-07T00:00:00Z");
  ASSERT_EQ(vs, 200);
  EXPECT_EQ(v["busy_google"],
            json::array({Interval("2030-05-06T09:00:00Z", "2030-05-06T09:30:00Z")}));

  // Moving it by a quarter of an hour overlaps only its own event: allowed.
  auto [ms, moved] =
      server_->Api("POST", "/api/v1/appointments/" + id + "/reschedule",
                   {{"start", "2030-05-06T09:15:00Z"}, {"end", "2030-05-06T09:45:00Z"}});
  EXPECT_EQ(ms, 200) << moved.dump();
  EXPECT_EQ(moved["warnings"], json::array());
  // Another appointment at the event's time is refused: only the same appointment is exempt.
  auto [os, other] = Book("2030-05-06T09:00:00Z", "2030-05-06T09:30:00Z");
  EXPECT_EQ(os, 409) << other.dump();
}

TEST_F(AvailabilityTest, CachedPerDoctorAndDroppedByAPushForTheirCalendar) {
  const std::string from = "2030-06-03T00:00:00Z";
  const std::string to = "2030-06-04T00:00:00Z";
  WaitQuiet();
  const int before = FreeBusyCalls();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Availability(from, to).first, 200);
  EXPECT_EQ(FreeBusyCalls() - before, 1);  // one call for twenty requests

  // The doctor adds an event in Google Calendar: the push drops the cached answer, so the next
  // request sees it at once (the cache would otherwise keep the old answer for an hour).
  PutGoogleEvent("2030-06-03T13:00:00Z", "2030-06-03T14:00:00Z");
  json v;
  for (int i = 0; i < 100; ++i) {
    v = Availability(from, to).second;
    if (!v["busy_google"].empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(v["busy_google"],
            json::array({Interval("2030-06-03T13:00:00Z", "2030-06-03T14:00:00Z")}));
  const int after_push = FreeBusyCalls();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Availability(from, to).first, 200);
  EXPECT_EQ(FreeBusyCalls(), after_push);  // cached again
}

TEST_F(AvailabilityTest, GoogleFailureFailsClosedUnderRefuseAndWarnsUnderWarn) {
  auto fault = Emulator("POST", "/_emulator/faults",
                        {{"kind", "backendError"},
                         {"method", "POST"},
                         {"pathPrefix", "/calendar/v3/freeBusy"},
                         {"fraction", 1.0}});
  ASSERT_EQ(fault.status / 100, 2) << fault.body;
  SetPolicy("refuse");
  auto [rs, refused] = Book("2030-07-01T10:00:00Z", "2030-07-01T10:30:00Z");
  EXPECT_EQ(rs, 503) << refused.dump();
  EXPECT_EQ(refused["error"]["code"], "availability_unchecked");
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("could not be checked"),
            std::string::npos);
  SetPolicy("warn");
  auto [ws, warned] = Book("2030-07-01T10:00:00Z", "2030-07-01T10:30:00Z");
  EXPECT_EQ(ws, 201) << warned.dump();
  ASSERT_EQ(warned["warnings"].size(), 1u);
  EXPECT_EQ(warned["warnings"][0]["code"], "availability_unchecked");
  auto [as, a] = Availability("2030-07-01T00:00:00Z", "2030-07-02T00:00:00Z");
  EXPECT_EQ(as, 503) << a.dump();
  EXPECT_EQ(a["error"]["code"], "google_unavailable");
  ASSERT_EQ(Emulator("DELETE", "/_emulator/faults").status / 100, 2);
  EXPECT_EQ(Availability("2030-07-01T00:00:00Z", "2030-07-02T00:00:00Z").first, 200);
}

TEST_F(AvailabilityTest, WhoMaySeeIt) {
  const std::string range = "?from=2030-08-05T00:00:00Z&to=2030-08-06T00:00:00Z";
  // The second demo doctor never connected Google: telemeet's own appointments only.
  const std::string other =
      "/api/v1/doctors/" + std::to_string((*other_doctor_)["id"].get<int64_t>());
  auto [ns, none] = server_->Api("GET", other + "/availability" + range);
  ASSERT_EQ(ns, 200) << none.dump();
  EXPECT_EQ(none["google_consulted"], false);
  EXPECT_EQ(none["google_status"], "not_connected");
  EXPECT_EQ(none["free"].size(), 48u);  // any half hour of the day

  // A doctor sees their own, and another doctor's answers as missing.
  std::optional<testing::SandboxServer::Session> mine;
  for (int i = 0; i < 2 && !mine; ++i) {
    auto s = server_->SignIn(server_->DemoLogin("doctor", i));
    ASSERT_TRUE(s);
    if (server_->Call(*s, "GET", "/api/v1/session").second["user"]["doctor_id"] == DoctorId()) {
      mine = s;
    }
  }
  ASSERT_TRUE(mine);
  EXPECT_EQ(server_->Call(*mine, "GET", Path("/availability") + range).first, 200);
  auto [os, o] = server_->Call(*mine, "GET", other + "/availability" + range);
  EXPECT_EQ(os, 404) << o.dump();
  // Without credentials: 401.
  EXPECT_EQ(server_->Send({.url = server_->base_url() + Path("/availability") + range})->status,
            401);
}

}  // namespace
}  // namespace telemeet
