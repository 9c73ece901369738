// The admin routes for email templates (routes_notifications.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/testing_env.h"
#include "notify/templates.h"

namespace telemeet::api {
namespace {

using nlohmann::json;
using testing::ApiEnv;

const std::string kBase = "/api/v1/settings/notifications";

void ExpectError(const net::Response& r, int status, std::string_view code,
                 std::string_view field = {}) {
  EXPECT_EQ(r.status, status) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_EQ(j["error"]["code"], code) << r.body;
  if (!field.empty()) {
    EXPECT_EQ(j["error"]["field"], field) << r.body;
  }
}

class NotificationRoutesTest : public ::testing::Test {
 protected:
  ApiEnv env_;
};

TEST_F(NotificationRoutesTest, ListsEveryTemplateWithDefaultsAndVariables) {
  auto r = env_.Call("GET", kBase, nullptr, env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_EQ(j["object"], "notification_settings");
  ASSERT_EQ(j["templates"].size(), notify::TemplateNames().size());
  const json& first = j["templates"][0];
  EXPECT_EQ(first["name"], "meeting.ready.patient");
  EXPECT_EQ(first["event"], "meeting.ready");
  EXPECT_EQ(first["recipient"], "patient");
  EXPECT_EQ(first["subject"], notify::DefaultTemplate("meeting.ready.patient").subject);
  EXPECT_EQ(first["customized"]["subject"], false);
  EXPECT_EQ(first["defaults"]["html"], notify::DefaultTemplate("meeting.ready.patient").html);
  bool has_meet_link = false;
  for (const json& v : j["variables"]) has_meet_link = has_meet_link || v["name"] == "meet_link";
  EXPECT_TRUE(has_meet_link);
}

TEST_F(NotificationRoutesTest, OnlyAdminsMayReadOrChange) {
  ExpectError(env_.Call("GET", kBase, nullptr, env_.write_key), 403, "permission_denied");
  ExpectError(
      env_.Call("PATCH", kBase + "/meeting.ready.patient", {{"subject", "x"}}, env_.write_key), 403,
      "permission_denied");
  ExpectError(env_.Call("GET", kBase, nullptr, {}), 401, "unauthenticated");
}

TEST_F(NotificationRoutesTest, PatchSavesAPartAndNullResetsIt) {
  const std::string url = kBase + "/meeting.cancelled.doctor";
  auto r = env_.Call("PATCH", url, {{"subject", "Cancelled: {{patient_name}}"}}, env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_EQ(j["subject"], "Cancelled: {{patient_name}}");
  EXPECT_EQ(j["customized"]["subject"], true);
  EXPECT_EQ(j["customized"]["text"], false);
  j = ApiEnv::J(env_.Call("GET", url, nullptr, env_.admin));
  EXPECT_EQ(j["subject"], "Cancelled: {{patient_name}}");

  r = env_.Call("PATCH", url, {{"subject", nullptr}}, env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  j = ApiEnv::J(r);
  EXPECT_EQ(j["subject"], notify::DefaultTemplate("meeting.cancelled.doctor").subject);
  EXPECT_EQ(j["customized"]["subject"], false);
}

TEST_F(NotificationRoutesTest, AnUnknownVariableIsRefusedNamingItAndNothingIsStored) {
  const std::string url = kBase + "/meeting.ready.patient";
  auto r = env_.Call("PATCH", url,
                     {{"subject", "Fine {{doctor_name}}"}, {"html", "<p>{{meeting_link}}</p>"}},
                     env_.admin);
  ExpectError(r, 400, "invalid_argument", "html");
  EXPECT_NE(ApiEnv::J(r)["error"]["message"].get<std::string>().find("meeting_link"),
            std::string::npos)
      << r.body;
  json j = ApiEnv::J(env_.Call("GET", url, nullptr, env_.admin));
  EXPECT_EQ(j["customized"]["subject"], false);  // the valid part was not stored either
  ExpectError(env_.Call("PATCH", url, {{"footer", "x"}}, env_.admin), 400, "invalid_argument",
              "footer");
  ExpectError(env_.Call("PATCH", url, json::object(), env_.admin), 400, "invalid_argument");
  ExpectError(env_.Call("GET", kBase + "/meeting.exploded.patient", nullptr, env_.admin), 404,
              "not_found");
}

TEST_F(NotificationRoutesTest, PutNeedsAllParts) {
  const std::string url = kBase + "/doctor.needs_reconnect.doctor";
  ExpectError(env_.Call("PUT", url, {{"subject", "s"}}, env_.admin), 400, "invalid_argument",
              "text");
  auto r = env_.Call("PUT", url,
                     {{"subject", "Reconnect"},
                      {"text", "Go to {{app_link}}"},
                      {"html", "<a href=\"{{app_link}}\">"}},
                     env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_EQ(j["text"], "Go to {{app_link}}");
  EXPECT_EQ(j["customized"]["html"], true);
}

TEST_F(NotificationRoutesTest, PreviewRendersSavedOrDraftPartsWithSamples) {
  const std::string url = kBase + "/meeting.ready.patient/preview";
  auto r = env_.Call("POST", url, json::object(), env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_EQ(j["object"], "notification_preview");
  EXPECT_NE(j["text"].get<std::string>().find("https://meet.google.com/abc-defg-hij"),
            std::string::npos);
  EXPECT_EQ(j["subject"].get<std::string>().find("{{"), std::string::npos);

  r = env_.Call("POST", url, {{"html", "<b>{{patient_name}}</b> {{doctor_name}}"}}, env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["html"], "<b>Grace Hopper</b> Dr. Ada Lovelace");
  ExpectError(env_.Call("POST", url, {{"text", "{{nope}}"}}, env_.admin), 400, "invalid_argument",
              "text");
  // A preview stores nothing.
  json t = ApiEnv::J(env_.Call("GET", kBase + "/meeting.ready.patient", nullptr, env_.admin));
  EXPECT_EQ(t["customized"]["html"], false);
}

// The reminder template is edited and previewed like the others.
TEST_F(NotificationRoutesTest, TheReminderTemplateIsEditableAndPreviews) {
  const std::string url = kBase + "/appointment.reminder.patient";
  auto r = env_.Call("POST", url + "/preview", json::object(), env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_NE(j["text"].get<std::string>().find("in 24 hours"), std::string::npos) << r.body;
  EXPECT_NE(j["text"].get<std::string>().find("https://telemeet.example/p/tok_sample"),
            std::string::npos);
  EXPECT_NE(j["html"].get<std::string>().find("Example Clinic"), std::string::npos);

  r = env_.Call("PATCH", url, {{"subject", "{{clinic_name}}: see you in {{reminder_lead}}"}},
                env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["customized"]["subject"], true);
  j = ApiEnv::J(env_.Call("POST", url + "/preview", json::object(), env_.admin));
  EXPECT_EQ(j["subject"], "Example Clinic: see you in 24 hours");
  ExpectError(env_.Call("PATCH", url, {{"text", "{{reminder_leed}}"}}, env_.admin), 400,
              "invalid_argument", "text");
}

TEST_F(NotificationRoutesTest, ReminderLeadTimesAreSavedResetAndCheckedNamingTheField) {
  const std::string url = "/api/v1/settings/reminders";
  auto r = env_.Call("GET", url, nullptr, env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = ApiEnv::J(r);
  EXPECT_EQ(j["object"], "reminder_settings");
  EXPECT_EQ(j["lead_times"], json({"24h", "1h"}));
  EXPECT_EQ(j["customized"], false);

  r = env_.Call("PATCH", url, {{"lead_times", {"30m", "2d", "90m", "2d"}}}, env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  j = ApiEnv::J(r);
  EXPECT_EQ(j["lead_times"], json({"2d", "90m", "30m"}));
  EXPECT_EQ(j["defaults"], json({"24h", "1h"}));
  EXPECT_EQ(j["customized"], true);
  EXPECT_EQ(ApiEnv::J(env_.Call("GET", url, nullptr, env_.admin))["lead_times"],
            json({"2d", "90m", "30m"}));

  ExpectError(env_.Call("PATCH", url, {{"lead_times", {"24h", "soon"}}}, env_.admin), 400,
              "invalid_argument", "lead_times");
  ExpectError(env_.Call("PATCH", url, {{"lead_times", {"1m"}}}, env_.admin), 400,
              "invalid_argument", "lead_times");
  ExpectError(env_.Call("PATCH", url, {{"lead_times", "24h"}}, env_.admin), 400, "invalid_argument",
              "lead_times");
  ExpectError(env_.Call("PATCH", url, json::object(), env_.admin), 400, "invalid_argument",
              "lead_times");
  ExpectError(env_.Call("PATCH", url, {{"lead_times", {"1h"}}}, env_.write_key), 403,
              "permission_denied");
  EXPECT_EQ(ApiEnv::J(env_.Call("GET", url, nullptr, env_.admin))["lead_times"],
            json({"2d", "90m", "30m"}))
      << "a refused change stores nothing";

  r = env_.Call("PATCH", url, {{"lead_times", json::array()}}, env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["lead_times"], json::array());
  r = env_.Call("PATCH", url, {{"lead_times", nullptr}}, env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["lead_times"], json({"24h", "1h"}));
  EXPECT_EQ(ApiEnv::J(r)["customized"], false);
}

}  // namespace
}  // namespace telemeet::api
