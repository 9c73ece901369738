// Recurring series (M15) through the real `telemeet serve` binary in sandbox mode: a weekly
// series across the end of summer time booked over the REST API (Idempotency-Key honoured), in
// both modes, reconciled against the in-process emulator: per_occurrence gives each occurrence
// its own event and link at 10:00 local; single_event gives one recurring event whose link every
// occurrence shares, and cancelling one occurrence deletes only its instance.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "net/http_client.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class SeriesFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sandbox_.Start());
    google_ = sandbox_.google_url();
    auto [ds, doctors] = sandbox_.Api("GET", "/api/v1/doctors");
    ASSERT_EQ(ds, 200);
    doctor_ = doctors["data"][0];
    service_id_ = sandbox_.Api("GET", "/api/v1/services").second["data"][0]["id"];
    auto [ps, patient] = sandbox_.Api(
        "POST", "/api/v1/patients",
        {{"name", "Mary Seacole"}, {"email", "mary@patients.example"}, {"time_zone", "UTC"}});
    ASSERT_EQ(ps, 201);
    patient_id_ = patient["id"];
    Connect();
  }
  void TearDown() override { EXPECT_EQ(sandbox_.Stop(), 0); }

  void Connect() {
    net::ClientRequest settings{.method = "PATCH", .url = google_ + "/_emulator/settings"};
    settings.headers.Add("Content-Type", "application/json");
    settings.body = R"({"autoApprove":true})";
    ASSERT_EQ(http_.Send(settings)->status, 200);
    auto [cs, connect] =
        sandbox_.Api("POST", "/api/v1/doctors/" + std::to_string(doctor_["id"].get<int64_t>()) +
                                 "/google/connect");
    ASSERT_EQ(cs, 201) << connect.dump();
    auto consent = http_.Send({.url = connect["authorization_url"].get<std::string>() +
                                      "&login_hint=" + doctor_["email"].get<std::string>()});
    ASSERT_TRUE(consent.has_value());
    ASSERT_EQ(consent->status, 302);
    auto landed = http_.Send({.url = std::string(*consent->headers.Get("Location"))});
    ASSERT_TRUE(landed.has_value());
    ASSERT_EQ(landed->status, 200);
  }

  json Weekly(std::string mode) {
    return {{"doctor_id", doctor_["id"]},
            {"service_id", service_id_},
            {"patient_id", patient_id_},
            {"start", "2030-10-21T10:00"},  // Mondays; summer time ends 2030-10-27
            {"time_zone", "Europe/Berlin"},
            {"rrule", "FREQ=WEEKLY;COUNT=3"},
            {"mode", mode},
            {"confirm", true}};
  }

  // POST /appointment_series with the demo key and an Idempotency-Key.
  std::pair<int, json> PostWithKey(const json& body, const std::string& key) {
    net::ClientRequest r{.method = "POST",
                         .url = sandbox_.base_url() + "/api/v1/appointment_series"};
    r.headers.Add("Authorization", "Bearer " + sandbox_.api_key());
    r.headers.Add("Content-Type", "application/json");
    r.headers.Add("Idempotency-Key", key);
    r.body = body.dump();
    auto answer = http_.Send(r);
    if (!answer) return {0, nullptr};
    return {answer->status, json::parse(answer->body, nullptr, false)};
  }

  // Polls the series until every occurrence satisfies `done`; the series last seen.
  json AwaitSeries(int64_t id, const std::function<bool(const json&)>& done) {
    json s;
    for (int i = 0; i < 300; ++i) {
      s = sandbox_.Api("GET", "/api/v1/appointment_series/" + std::to_string(id)).second;
      bool all = s.is_object() && !s["occurrences"].empty();
      for (const json& o : s["occurrences"]) all = all && done(o);
      if (all) return s;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "the series never got there: " << s.dump();
    return s;
  }

  json CalendarEvents() {
    auto state = http_.Send(
        {.url = google_ + "/_emulator/calendars/" + doctor_["email"].get<std::string>()});
    EXPECT_TRUE(state.has_value());
    return json::parse(state->body, nullptr, false)["events"];
  }

  testing::SandboxServer sandbox_;
  std::string google_;
  json doctor_;
  int64_t service_id_ = 0, patient_id_ = 0;
  net::HttpClient http_;
};

TEST_F(SeriesFlowTest, PerOccurrenceAndSingleEventSeries) {
  // Per occurrence, booked twice with one Idempotency-Key: one series.
  auto [s1, first] = PostWithKey(Weekly("per_occurrence"), "series-flow-1");
  ASSERT_EQ(s1, 201) << first.dump();
  auto [s2, again] = PostWithKey(Weekly("per_occurrence"), "series-flow-1");
  ASSERT_EQ(s2, 201) << again.dump();
  EXPECT_EQ(again["id"], first["id"]);
  json per = AwaitSeries(first["id"], [](const json& o) {
    return o["meeting"]["state"] == "ready" && o["meeting"]["join_url"].is_string();
  });
  std::set<std::string> links;
  for (const json& o : per["occurrences"]) links.insert(o["meeting"]["join_url"]);
  EXPECT_EQ(links.size(), 3u);  // a link each
  json events = CalendarEvents();
  ASSERT_EQ(events.size(), 3u) << events.dump();
  std::set<std::string> starts;
  for (const json& e : events) starts.insert(e["start"]["dateTime"]);
  EXPECT_EQ(starts, (std::set<std::string>{"2030-10-21T10:00:00+02:00", "2030-10-28T10:00:00+01:00",
                                           "2030-11-04T10:00:00+01:00"}));
  // The rest of it is cancelled: every event goes.
  ASSERT_EQ(
      sandbox_
          .Api("DELETE", "/api/v1/appointment_series/" + std::to_string(first["id"].get<int64_t>()))
          .first,
      200);
  AwaitSeries(first["id"], [](const json& o) { return o["meeting"]["state"] == "cancelled"; });

  // Single event: one recurring event, one link for all.
  json weekly = Weekly("single_event");
  weekly["start"] = "2030-10-21T11:00";
  auto [s3, single] = sandbox_.Api("POST", "/api/v1/appointment_series", weekly);
  ASSERT_EQ(s3, 201) << single.dump();
  EXPECT_EQ(single["mode"], "single_event");
  json ready = AwaitSeries(single["id"], [](const json& o) {
    return o["meeting"]["state"] == "ready" && o["meeting"]["join_url"].is_string();
  });
  const std::string link = ready["occurrences"][0]["meeting"]["join_url"];
  for (const json& o : ready["occurrences"]) EXPECT_EQ(o["meeting"]["join_url"], link);
  int recurring = 0;
  for (const json& e : CalendarEvents()) {
    if (e.contains("recurrence") && e.value("status", "") != "cancelled") {
      ++recurring;
      EXPECT_EQ(e["recurrence"], json::array({"RRULE:FREQ=WEEKLY;COUNT=3"}));
      EXPECT_EQ(e["hangoutLink"], link);
    }
  }
  EXPECT_EQ(recurring, 1);

  // Cancelling the second occurrence deletes its instance only; the others keep the link.
  const int64_t second = ready["occurrences"][1]["id"];
  ASSERT_EQ(
      sandbox_.Api("POST", "/api/v1/appointments/" + std::to_string(second) + "/cancel").first,
      200);
  json after = AwaitSeries(single["id"], [&](const json& o) {
    return o["id"] == second ? o["meeting"]["state"] == "cancelled"
                             : o["meeting"]["state"] == "ready";
  });
  EXPECT_EQ(after["occurrences"][0]["meeting"]["join_url"], link);
  EXPECT_EQ(after["occurrences"][2]["meeting"]["join_url"], link);
  bool found_audit = false;
  auto audit =
      sandbox_.Api("GET", "/api/v1/appointments/" + std::to_string(second) + "/audit").second;
  for (const json& e : audit["data"]) {
    if (e["action"] == "google.events.delete" &&
        e["detail"].dump().find("_20301028T100000Z") != std::string::npos) {
      found_audit = true;
    }
  }
  EXPECT_TRUE(found_audit) << audit.dump();
}

}  // namespace
}  // namespace telemeet
