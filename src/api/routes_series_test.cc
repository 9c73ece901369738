// The appointment series routes (M15) against a real SQLite store, in process.
#include <gtest/gtest.h>

#include "api/testing_env.h"
#include "core/time.h"

namespace telemeet::api {
namespace {

using nlohmann::json;
using testing::ApiEnv;
using testing::Credentials;

class SeriesRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    doctor_ = Create(
        "/api/v1/doctors",
        {{"name", "Dr Ada"}, {"email", "ada@clinic.example"}, {"time_zone", "Europe/Berlin"}});
    other_doctor_ =
        Create("/api/v1/doctors", {{"name", "Dr Bob"}, {"email", "bob@clinic.example"}});
    service_ = Create(
        "/api/v1/services",
        {{"name", "Video consultation"}, {"telemedicine", true}, {"default_duration_minutes", 30}});
    patient_ = Create("/api/v1/patients", {{"name", "Pat Doe"}, {"email", "pat@example.com"}});
  }

  int64_t Create(const std::string& path, const json& body) {
    auto r = env_.Call("POST", path, body, env_.write_key);
    EXPECT_EQ(r.status, 201) << path << " " << r.body;
    return ApiEnv::J(r)["id"].get<int64_t>();
  }

  // Mondays 10:00 Berlin from 2026-10-19, across the end of summer time on 2026-10-25.
  json Weekly(int64_t doctor, std::string rrule = "FREQ=WEEKLY;COUNT=4") {
    return {{"doctor_id", doctor},         {"service_id", service_},       {"patient_id", patient_},
            {"start", "2026-10-19T10:00"}, {"time_zone", "Europe/Berlin"}, {"rrule", rrule}};
  }

  net::Response Post(const json& body, const Credentials& who, net::Headers extra = {}) {
    return env_.Call("POST", "/api/v1/appointment_series", body, who, std::move(extra));
  }

  Credentials DoctorSession(int64_t doctor, std::string email) {
    auto r = env_.Call("POST", "/api/v1/users",
                       {{"email", email},
                        {"password", "doctor password 1"},
                        {"role", "doctor"},
                        {"doctor_id", doctor}},
                       env_.admin);
    EXPECT_EQ(r.status, 201) << r.body;
    return env_.Login(email, "doctor password 1");
  }

  static void ExpectError(const net::Response& r, int status, std::string_view code,
                          std::string_view field = {}) {
    EXPECT_EQ(r.status, status) << r.body;
    json j = ApiEnv::J(r);
    EXPECT_EQ(j["error"]["code"], code) << r.body;
    if (!field.empty()) {
      EXPECT_EQ(j["error"]["field"], field) << r.body;
    }
  }

  int64_t Count(std::string_view what) {
    if (what == "series") {
      auto p = env_.store().Read([](store::Tx& tx) { return tx.ListSeries(0, {}); });
      return p ? static_cast<int64_t>(p->items.size()) : -1;
    }
    auto p =
        env_.store().Read([](store::Tx& tx) { return tx.ListAppointments({}, {.limit = 1000}); });
    return p ? static_cast<int64_t>(p->items.size()) : -1;
  }

  ApiEnv env_;
  int64_t doctor_ = 0, other_doctor_ = 0, service_ = 0, patient_ = 0;
};

TEST_F(SeriesRoutesTest, WeeklySeriesAcrossDstKeepsTenOClockLocal) {
  auto r = Post(Weekly(doctor_), env_.write_key);
  ASSERT_EQ(r.status, 201) << r.body;
  json s = ApiEnv::J(r);
  EXPECT_EQ(s["object"], "appointment_series");
  EXPECT_EQ(s["rrule"], "RRULE:FREQ=WEEKLY;COUNT=4");
  EXPECT_EQ(s["mode"], "per_occurrence");
  EXPECT_EQ(s["status"], "active");
  ASSERT_EQ(s["occurrences"].size(), 4u);
  std::vector<std::string> starts;
  for (const json& o : s["occurrences"]) {
    starts.push_back(o["start"]);
    EXPECT_EQ(o["series_id"], s["id"]);
    EXPECT_EQ(o["status"], "booked");
    EXPECT_EQ(o["time_zone"], "Europe/Berlin");
    EXPECT_TRUE(o["access_link"]["url"].get<std::string>().starts_with("https://tm.example/p?"));
    // Local 10:00 before and after the change of offset.
    auto local =
        core::FormatWithOffset(*core::ParseRfc3339(o["start"].get<std::string>()), "Europe/Berlin");
    EXPECT_EQ(local->substr(11, 8), "10:00:00") << *local;
  }
  EXPECT_EQ(starts, (std::vector<std::string>{"2026-10-19T08:00:00Z", "2026-10-26T09:00:00Z",
                                              "2026-11-02T09:00:00Z", "2026-11-09T09:00:00Z"}));
  // Each occurrence is an appointment of its own, with its own reconcile job.
  for (const json& o : s["occurrences"]) {
    auto one = env_.Call("GET", "/api/v1/appointments/" + std::to_string(o["id"].get<int64_t>()),
                         nullptr, env_.read_key);
    ASSERT_EQ(one.status, 200);
    EXPECT_EQ(ApiEnv::J(one)["series_id"], s["id"]);
    auto job = env_.store().Read(
        [&](store::Tx& tx) { return tx.GetJob(store::ReconcileJobKey(o["id"].get<int64_t>())); });
    EXPECT_TRUE(job);
  }
  auto got =
      env_.Call("GET", "/api/v1/appointment_series/" + std::to_string(s["id"].get<int64_t>()),
                nullptr, env_.read_key);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(ApiEnv::J(got)["occurrences"].size(), 4u);
  EXPECT_TRUE(ApiEnv::J(got)["occurrences"][0]["access_link"]["url"].is_null());
  EXPECT_TRUE(ApiEnv::J(got)["occurrences"][0]["meeting"].is_object());
}

TEST_F(SeriesRoutesTest, RefusalsNameTheFieldAndStoreNothing) {
  auto bad_rule = Post(Weekly(doctor_, "FREQ=WEEKLY;COUNT=4;BYMONTHDAY=3"), env_.write_key);
  ExpectError(bad_rule, 400, "invalid_argument", "rrule");
  EXPECT_NE(ApiEnv::J(bad_rule)["error"]["message"].get<std::string>().find("BYMONTHDAY"),
            std::string::npos);
  ExpectError(Post(Weekly(doctor_, "FREQ=DAILY;COUNT=101"), env_.write_key), 400,
              "invalid_argument", "rrule");
  // Sundays 02:30 Berlin: 2027-03-28 has no 02:30.
  json gap = Weekly(doctor_);
  gap["start"] = "2027-03-21T02:30";
  auto refused = Post(gap, env_.write_key);
  ExpectError(refused, 400, "invalid_argument", "start");
  EXPECT_NE(ApiEnv::J(refused)["error"]["message"].get<std::string>().find("2027-03-28"),
            std::string::npos);
  json bad_mode = Weekly(doctor_);
  bad_mode["mode"] = "weekly";
  ExpectError(Post(bad_mode, env_.write_key), 400, "invalid_argument", "mode");
  json unknown = Weekly(doctor_);
  unknown["count"] = 3;
  ExpectError(Post(unknown, env_.write_key), 400, "invalid_argument", "count");
  ExpectError(Post(Weekly(doctor_), {}), 401, "unauthenticated");
  ExpectError(Post(Weekly(doctor_), env_.read_key), 403, "permission_denied");

  // One confirmed occurrence colliding with a confirmed appointment refuses the whole series,
  // naming the occurrence.
  auto booked = env_.Call("POST", "/api/v1/appointments",
                          {{"doctor_id", doctor_},
                           {"service_id", service_},
                           {"patient_id", patient_},
                           {"start", "2026-11-02T09:15:00Z"},
                           {"status", "confirmed"}},
                          env_.write_key);
  ASSERT_EQ(booked.status, 201) << booked.body;
  json confirmed = Weekly(doctor_);
  confirmed["confirm"] = true;
  auto clash = Post(confirmed, env_.write_key);
  ExpectError(clash, 409, "failed_precondition", "start");
  EXPECT_NE(
      ApiEnv::J(clash)["error"]["message"].get<std::string>().find("occurrence 3 (2026-11-02)"),
      std::string::npos)
      << clash.body;
  EXPECT_EQ(Count("series"), 0);
  EXPECT_EQ(Count("appointments"), 1);
}

TEST_F(SeriesRoutesTest, IdempotencyKeyReturnsTheFirstSeries) {
  net::Headers h;
  h.Set("Idempotency-Key", "series-1");
  auto first = Post(Weekly(doctor_), env_.write_key, h);
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = Post(Weekly(doctor_), env_.write_key, h);
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(ApiEnv::J(again)["id"], ApiEnv::J(first)["id"]);
  EXPECT_TRUE(ApiEnv::J(again)["occurrences"][0]["access_link"]["url"].is_null());
  EXPECT_EQ(Count("series"), 1);
  EXPECT_EQ(Count("appointments"), 4);
  auto other = Post(Weekly(doctor_, "FREQ=WEEKLY;COUNT=2"), env_.write_key, h);
  ExpectError(other, 422, "idempotency_key_reused", "Idempotency-Key");
  EXPECT_EQ(Count("series"), 1);
  net::Headers bad;
  bad.Set("Idempotency-Key", std::string(300, 'k'));
  ExpectError(Post(Weekly(doctor_), env_.write_key, bad), 400, "invalid_argument",
              "Idempotency-Key");
}

TEST_F(SeriesRoutesTest, DoctorsTouchOnlyTheirOwnSeriesAndPatients) {
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  Credentials bob = DoctorSession(other_doctor_, "bob.user@clinic.example");
  // Ada has no appointment with the patient yet: the patient is not hers to book.
  ExpectError(Post(Weekly(doctor_), ada), 404, "not_found", "patient_id");
  ASSERT_EQ(env_.Call("POST", "/api/v1/appointments",
                      {{"doctor_id", doctor_},
                       {"service_id", service_},
                       {"patient_id", patient_},
                       {"start", "2026-06-02T09:00:00Z"}},
                      env_.write_key)
                .status,
            201);
  auto mine = Post(Weekly(doctor_), ada);
  ASSERT_EQ(mine.status, 201) << mine.body;
  const std::string path =
      "/api/v1/appointment_series/" + std::to_string(ApiEnv::J(mine)["id"].get<int64_t>());
  ExpectError(Post(Weekly(other_doctor_), ada), 403, "permission_denied");
  ExpectError(env_.Call("GET", path, nullptr, bob), 403, "permission_denied");
  ExpectError(env_.Call("DELETE", path, nullptr, bob), 403, "permission_denied");
  ExpectError(env_.Call("PATCH", path, {{"time_of_day", "11:00"}}, bob), 403, "permission_denied");
  auto bobs = env_.Call("GET", "/api/v1/appointment_series", nullptr, bob);
  ASSERT_EQ(bobs.status, 200);
  EXPECT_TRUE(ApiEnv::J(bobs)["data"].empty());
  auto adas = env_.Call("GET", "/api/v1/appointment_series", nullptr, ada);
  ASSERT_EQ(adas.status, 200);
  EXPECT_EQ(ApiEnv::J(adas)["data"].size(), 1u);
  EXPECT_EQ(env_.Call("GET", path, nullptr, ada).status, 200);
}

TEST_F(SeriesRoutesTest, MovesAndCancelsOnlyFutureOccurrences) {
  auto r = Post(Weekly(doctor_), env_.write_key);
  ASSERT_EQ(r.status, 201) << r.body;
  json s = ApiEnv::J(r);
  const std::string path = "/api/v1/appointment_series/" + std::to_string(s["id"].get<int64_t>());
  // After the first occurrence: it stays where it was.
  env_.clock.Set(*core::ParseRfc3339("2026-10-20T00:00:00Z"));

  auto moved = env_.Call("PATCH", path, {{"time_of_day", "11:30"}}, env_.write_key);
  ASSERT_EQ(moved.status, 200) << moved.body;
  json m = ApiEnv::J(moved);
  EXPECT_EQ(m["occurrences"][0]["start"], "2026-10-19T08:00:00Z");
  EXPECT_EQ(m["occurrences"][1]["start"], "2026-10-26T10:30:00Z");
  EXPECT_EQ(m["occurrences"][1]["end"], "2026-10-26T11:00:00Z");
  EXPECT_EQ(m["occurrences"][3]["start"], "2026-11-09T10:30:00Z");
  EXPECT_EQ(m["occurrences"][1]["revision"], 2);

  auto shifted = env_.Call("PATCH", path, {{"shift_minutes", -30}}, env_.write_key);
  ASSERT_EQ(shifted.status, 200) << shifted.body;
  EXPECT_EQ(ApiEnv::J(shifted)["occurrences"][2]["start"], "2026-11-02T10:00:00Z");

  ExpectError(env_.Call("PATCH", path, {{"time_of_day", "25:00"}}, env_.write_key), 400,
              "invalid_argument", "time_of_day");
  ExpectError(
      env_.Call("PATCH", path, {{"time_of_day", "11:00"}, {"shift_minutes", 5}}, env_.write_key),
      400, "invalid_argument");
  ExpectError(env_.Call("PATCH", path, {{"status", "active"}}, env_.write_key), 400,
              "invalid_argument", "status");

  // One occurrence cancelled on its own stays as it is; the rest of the series is cancelled.
  const int64_t second = m["occurrences"][1]["id"];
  ASSERT_EQ(env_.Call("POST", "/api/v1/appointments/" + std::to_string(second) + "/cancel", nullptr,
                      env_.write_key)
                .status,
            200);
  auto cancelled = env_.Call("DELETE", path, nullptr, env_.write_key);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  json c = ApiEnv::J(cancelled);
  EXPECT_EQ(c["status"], "cancelled");
  EXPECT_EQ(c["occurrences"][0]["status"], "booked");  // already past
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(c["occurrences"][i]["status"], "cancelled");
  EXPECT_EQ(c["active_occurrence_count"], 1);
  ExpectError(env_.Call("PATCH", path, {{"time_of_day", "09:00"}}, env_.write_key), 409,
              "failed_precondition", "status");
  // Cancelling again changes nothing and answers the same.
  auto again = env_.Call("PATCH", path, {{"status", "cancelled"}}, env_.write_key);
  ASSERT_EQ(again.status, 200) << again.body;
  ExpectError(env_.Call("GET", "/api/v1/appointment_series/999", nullptr, env_.read_key), 404,
              "not_found");
}

}  // namespace
}  // namespace telemeet::api
