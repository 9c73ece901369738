// The availability route and the booking settings without Google (ApiDeps::availability unset):
// telemeet's own appointments only, working hours, validation, who may ask. The Google side is
// tested against the emulator in tests/integration/availability_test.cc.
#include <gtest/gtest.h>

#include "api/testing_env.h"

namespace telemeet::api {
namespace {

using nlohmann::json;
using testing::ApiEnv;
using testing::Credentials;

class AvailabilityRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Tuesdays 09:00-12:00 in Berlin (+02:00 in June).
    auto r =
        env_.Call("POST", "/api/v1/doctors",
                  {{"name", "Dr Ada"},
                   {"email", "ada@clinic.example"},
                   {"time_zone", "Europe/Berlin"},
                   {"working_hours", {{"tue", json::array({json::array({"09:00", "12:00"})})}}}},
                  env_.write_key);
    ASSERT_EQ(r.status, 201) << r.body;
    doctor_ = ApiEnv::J(r)["id"];
    EXPECT_EQ(ApiEnv::J(r)["working_hours"]["tue"][0], json::array({"09:00", "12:00"}));
    other_ = Id(env_.Call("POST", "/api/v1/doctors",
                          {{"name", "Dr Bob"}, {"email", "bob@clinic.example"}}, env_.write_key));
    service_ =
        Id(env_.Call("POST", "/api/v1/services",
                     {{"name", "Video"}, {"telemedicine", true}, {"default_duration_minutes", 60}},
                     env_.write_key));
    patient_ = Id(env_.Call("POST", "/api/v1/patients", {{"name", "Pat"}}, env_.write_key));
  }

  static int64_t Id(const net::Response& r) {
    EXPECT_EQ(r.status, 201) << r.body;
    return ApiEnv::J(r)["id"];
  }

  net::Response Availability(
      int64_t doctor, const Credentials& who,
      std::string query = "?from=2026-06-02T00:00:00Z&to=2026-06-03T00:00:00Z") {
    return env_.Call("GET", "/api/v1/doctors/" + std::to_string(doctor) + "/availability" + query,
                     nullptr, who);
  }

  ApiEnv env_;
  int64_t doctor_ = 0, other_ = 0, service_ = 0, patient_ = 0;
};

TEST_F(AvailabilityRoutesTest, OwnAppointmentsOnlyWithoutGoogle) {
  // 09:00-10:00 local booked, 10:00-11:00 local booked then cancelled.
  for (auto start : {"2026-06-02T07:00:00Z", "2026-06-02T08:00:00Z"}) {
    Id(env_.Call("POST", "/api/v1/appointments",
                 {{"doctor_id", doctor_},
                  {"service_id", service_},
                  {"patient_id", patient_},
                  {"start", start}},
                 env_.write_key));
  }
  auto list = ApiEnv::J(env_.Call(
      "GET", "/api/v1/appointments?doctor_id=" + std::to_string(doctor_), nullptr, env_.read_key));
  const int64_t second = list["data"][1]["id"];
  ASSERT_EQ(env_.Call("POST", "/api/v1/appointments/" + std::to_string(second) + "/cancel", nullptr,
                      env_.write_key)
                .status,
            200);
  auto r = Availability(doctor_, env_.read_key,
                        "?from=2026-06-02T00:00:00Z&to=2026-06-03T00:00:00Z"
                        "&slot_minutes=60");
  ASSERT_EQ(r.status, 200) << r.body;
  json a = ApiEnv::J(r);
  EXPECT_EQ(a["google_consulted"], false);
  EXPECT_EQ(a["google_status"], "google_not_configured");
  EXPECT_EQ(a["busy"],
            json::array({{{"start", "2026-06-02T07:00:00Z"}, {"end", "2026-06-02T08:00:00Z"}}}));
  // 10:00 and 11:00 local: the cancelled appointment frees its hour.
  EXPECT_EQ(a["free"],
            json::array({{{"start", "2026-06-02T08:00:00Z"}, {"end", "2026-06-02T09:00:00Z"}},
                         {{"start", "2026-06-02T09:00:00Z"}, {"end", "2026-06-02T10:00:00Z"}}}));
}

TEST_F(AvailabilityRoutesTest, WhoMayAskAndWhatIsRefused) {
  EXPECT_EQ(Availability(doctor_, {}).status, 401);
  EXPECT_EQ(Availability(doctor_, env_.admin).status, 200);
  auto mine = env_.Call("POST", "/api/v1/users",
                        {{"email", "bob@clinic.example"},
                         {"password", "doctor password 1"},
                         {"role", "doctor"},
                         {"doctor_id", other_}},
                        env_.admin);
  ASSERT_EQ(mine.status, 201) << mine.body;
  Credentials bob = env_.Login("bob@clinic.example", "doctor password 1");
  EXPECT_EQ(Availability(other_, bob).status, 200);
  EXPECT_EQ(Availability(doctor_, bob).status, 404);  // another doctor's calendar
  EXPECT_EQ(Availability(999, env_.read_key).status, 404);
  auto field = [&](std::string query) {
    auto r = Availability(doctor_, env_.read_key, query);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    return ApiEnv::J(r)["error"]["field"];
  };
  EXPECT_EQ(field("?to=2026-06-03T00:00:00Z"), "from");
  EXPECT_EQ(field("?from=2026-06-02T00:00:00Z&to=2026-09-02T00:00:00Z"), "to");
  EXPECT_EQ(field("?from=2026-06-02T00:00:00Z&to=2026-06-03T00:00:00Z&slot_minutes=x"),
            "slot_minutes");
  for (auto [hours, name] :
       {std::pair{json("weekdays"), "working_hours"},
        std::pair{json{{"tue", json::array({json::array({"09:00"})})}}, "working_hours.tue[0]"},
        std::pair{json{{"tue", json::array({json::array({"09:00", "12:00"}),
                                            json::array({"11:00", "13:00"})})}},
                  "working_hours.tue"}}) {
    auto r = env_.Call("PATCH", "/api/v1/doctors/" + std::to_string(doctor_),
                       {{"working_hours", hours}}, env_.write_key);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(ApiEnv::J(r)["error"]["field"], name) << r.body;
  }
  // Refused changes left the hours as they were.
  auto d = ApiEnv::J(
      env_.Call("GET", "/api/v1/doctors/" + std::to_string(doctor_), nullptr, env_.read_key));
  EXPECT_EQ(d["working_hours"]["tue"], json::array({json::array({"09:00", "12:00"})}));
}

TEST_F(AvailabilityRoutesTest, BookingPolicySettings) {
  auto got = env_.Call("GET", "/api/v1/settings/booking", nullptr, env_.admin);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(ApiEnv::J(got)["google_busy"], "warn");
  EXPECT_EQ(ApiEnv::J(got)["google_busy_source"], "config");
  EXPECT_EQ(env_.Call("GET", "/api/v1/settings/booking", nullptr, env_.write_key).status, 403);
  auto bad = env_.Call("PATCH", "/api/v1/settings/booking", {{"google_busy", "block"}}, env_.admin);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ApiEnv::J(bad)["error"]["field"], "google_busy");
  auto set =
      env_.Call("PATCH", "/api/v1/settings/booking", {{"google_busy", "refuse"}}, env_.admin);
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(ApiEnv::J(set)["google_busy"], "refuse");
  EXPECT_EQ(ApiEnv::J(set)["google_busy_source"], "settings");
  // Without Google wired, booking is never checked: the booking goes through with no warning.
  auto booked = env_.Call("POST", "/api/v1/appointments",
                          {{"doctor_id", doctor_},
                           {"service_id", service_},
                           {"patient_id", patient_},
                           {"start", "2026-06-02T07:00:00Z"}},
                          env_.write_key);
  ASSERT_EQ(booked.status, 201) << booked.body;
  EXPECT_EQ(ApiEnv::J(booked)["warnings"], json::array());
}

}  // namespace
}  // namespace telemeet::api
