// GET /api/v1/audit and the admin audit the admin routes write (M25).
#include "api/admin_audit.h"

#include <gtest/gtest.h>

#include <set>

#include "api/testing_env.h"

namespace telemeet::api {
namespace {

using nlohmann::json;
using testing::ApiEnv;
using testing::Credentials;

class AdminAuditTest : public ::testing::Test {
 protected:
  json Ok(const net::Response& r, int status = 200) {
    EXPECT_EQ(r.status, status) << r.body;
    return ApiEnv::J(r);
  }
  json Audit(const std::string& query = "") {
    return Ok(env_.Call("GET", "/api/v1/audit" + query, nullptr, env_.admin));
  }
  std::string AdminActor() {
    return Ok(env_.Call("GET", "/api/v1/session", nullptr, env_.admin))["actor"];
  }

  ApiEnv env_;
};

TEST_F(AdminAuditTest, OnlyAdminsReadIt) {
  int64_t doctor =
      Ok(env_.Call("POST", "/api/v1/doctors", {{"name", "Dr Ada"}, {"email", "ada@clinic.example"}},
                   env_.write_key),
         201)["id"];
  Ok(env_.Call("POST", "/api/v1/users",
               {{"email", "ada.user@clinic.example"},
                {"password", "doctor password 1"},
                {"role", "doctor"},
                {"doctor_id", doctor}},
               env_.admin),
     201);
  Credentials doctor_session = env_.Login("ada.user@clinic.example", "doctor password 1");
  ASSERT_FALSE(doctor_session.cookie.empty());
  EXPECT_EQ(env_.Call("GET", "/api/v1/audit", nullptr, doctor_session).status, 403);
  EXPECT_EQ(env_.Call("GET", "/api/v1/audit", nullptr, env_.write_key).status, 403);
  EXPECT_EQ(env_.Call("GET", "/api/v1/audit", nullptr, env_.read_key).status, 403);
  EXPECT_EQ(env_.Call("GET", "/api/v1/audit", nullptr, {}).status, 401);
  EXPECT_EQ(Audit()["data"].size(), 1u) << "the doctor user's creation";
}

// Every kind of admin change lands in the audit, with the admin as actor, what changed and
// when, and none of the secrets that went through the routes.
TEST_F(AdminAuditTest, EveryAdminChangeIsRecordedWithoutItsSecrets) {
  const std::string admin = AdminActor();
  std::vector<std::string> secrets;

  json user =
      Ok(env_.Call(
             "POST", "/api/v1/users",
             {{"email", "ops@clinic.example"}, {"password", "first password 1"}, {"role", "admin"}},
             env_.admin),
         201);
  secrets.push_back("first password 1");
  const std::string user_path = "/api/v1/users/" + std::to_string(user["id"].get<int64_t>());
  Ok(env_.Call("PATCH", user_path, {{"password", "second password 2"}, {"name", "Ops"}},
               env_.admin));
  secrets.push_back("second password 2");

  json key = Ok(env_.Call("POST", "/api/v1/api_keys", {{"name", "billing"}, {"scopes", {"read"}}},
                          env_.admin),
                201);
  secrets.push_back(key["secret"]);
  EXPECT_EQ(env_.Call("DELETE", "/api/v1/api_keys/" + std::to_string(key["id"].get<int64_t>()),
                      nullptr, env_.admin)
                .status,
            204);

  json hook = Ok(env_.Call("POST", "/api/v1/webhook_endpoints",
                           {{"url", "https://hooks.example/services/T0/B0/pathtoken123"},
                            {"topics", {"meeting.ready"}}},
                           env_.admin),
                 201);
  secrets.push_back(hook["secret"]);
  secrets.push_back("pathtoken123");
  const std::string hook_path =
      "/api/v1/webhook_endpoints/" + std::to_string(hook["id"].get<int64_t>());
  Ok(env_.Call(
      "PATCH", hook_path,
      {{"url", "https://user:urlpassword@hooks2.example/x?key=querysecret"}, {"active", false}},
      env_.admin));
  secrets.push_back("urlpassword");
  secrets.push_back("querysecret");
  EXPECT_EQ(env_.Call("DELETE", hook_path, nullptr, env_.admin).status, 204);

  Ok(env_.Call(
      "PATCH", "/api/v1/settings/google",
      {{"client_id", "123.apps.googleusercontent.com"}, {"client_secret", "GOCSPX-very-secret"}},
      env_.admin));
  secrets.push_back("GOCSPX-very-secret");
  Ok(env_.Call("PATCH", "/api/v1/settings/meetings", {{"create_on", "booking"}}, env_.admin));
  Ok(env_.Call("PATCH", "/api/v1/settings/notifications/meeting.ready.patient",
               {{"subject", "Your consultation"}, {"html", nullptr}}, env_.admin));

  auto page = env_.Call("GET", "/api/v1/audit", nullptr, env_.admin);
  json entries = Ok(page)["data"];
  for (const std::string& secret : secrets) {
    EXPECT_EQ(page.body.find(secret), std::string::npos) << secret << " leaked: " << page.body;
  }
  std::vector<std::string> actions;
  for (const json& e : entries) {
    actions.push_back(e["action"]);
    EXPECT_EQ(e["actor"], admin);
    EXPECT_EQ(e["object"], "admin_audit_entry");
    EXPECT_FALSE(e["at"].is_null());
  }
  EXPECT_EQ(actions, (std::vector<std::string>{
                         "settings.notifications.updated", "settings.meetings.updated",
                         "google_settings.updated", "webhook_endpoint.deleted",
                         "webhook_endpoint.updated", "webhook_endpoint.created", "api_key.revoked",
                         "api_key.created", "user.updated", "user.created"}));
  auto find = [&](std::string_view action) {
    for (const json& e : entries) {
      if (e["action"] == action) return e;
    }
    return json();
  };
  EXPECT_EQ(find("user.created")["target"], "user:" + std::to_string(user["id"].get<int64_t>()));
  EXPECT_EQ(find("user.created")["detail"]["email"], "ops@clinic.example");
  EXPECT_EQ(find("user.updated")["detail"]["changed"], json({"name", "password"}));
  EXPECT_EQ(find("user.updated")["detail"]["name"], "Ops");
  EXPECT_EQ(find("api_key.created")["kind"], "api_key");
  EXPECT_EQ(find("api_key.created")["detail"]["name"], "billing");
  EXPECT_EQ(find("api_key.created")["detail"]["prefix"], key["prefix"]);
  EXPECT_EQ(find("webhook_endpoint.created")["detail"]["url"], "https://hooks.example");
  EXPECT_EQ(find("webhook_endpoint.updated")["detail"]["url"], "https://hooks2.example");
  EXPECT_EQ(find("webhook_endpoint.updated")["detail"]["active"], false);
  json google = find("google_settings.updated");
  EXPECT_EQ(google["kind"], "google_settings");
  EXPECT_EQ(google["detail"]["changed"], json({"client_id", "client_secret"}));
  EXPECT_EQ(google["detail"]["client_id"], "123.apps.googleusercontent.com");
  EXPECT_FALSE(google["detail"].contains("client_secret"));
  EXPECT_EQ(find("settings.meetings.updated")["detail"]["create_on"], "booking");
  json templates = find("settings.notifications.updated");
  EXPECT_EQ(templates["target"], "settings:notifications:meeting.ready.patient");
  EXPECT_EQ(templates["detail"]["changed"], json({"subject"}));
  EXPECT_EQ(templates["detail"]["reset"], json({"html"}));
}

TEST_F(AdminAuditTest, FiltersByActorAndKindAndPages) {
  for (int i = 0; i < 3; ++i) {
    Ok(env_.Call("POST", "/api/v1/api_keys", {{"name", "key " + std::to_string(i)}}, env_.admin),
       201);
  }
  Ok(env_.Call("PATCH", "/api/v1/settings/meetings", {{"cancel_mode", "mark_cancelled"}},
               env_.admin));
  EXPECT_EQ(Audit("?kind=api_key")["data"].size(), 3u);
  EXPECT_EQ(Audit("?kind=settings")["data"].size(), 1u);
  EXPECT_EQ(Audit("?kind=user")["data"].size(), 0u);
  EXPECT_EQ(Audit("?actor=" + AdminActor())["data"].size(), 4u);
  EXPECT_EQ(Audit("?actor=user:999")["data"].size(), 0u);
  EXPECT_EQ(Audit("?actor=" + AdminActor() + "&kind=settings")["data"].size(), 1u);

  auto bad = env_.Call("GET", "/api/v1/audit?kind=appointments", nullptr, env_.admin);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ApiEnv::J(bad)["error"]["field"], "kind");

  std::set<int64_t> seen;
  std::string cursor;
  int pages = 0;
  do {
    json page = Audit("?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const json& e : page["data"]) EXPECT_TRUE(seen.insert(e["id"].get<int64_t>()).second);
    cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 5);
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(pages, 2);
}

// The entry is written in the change's transaction: a change refused writes none.
TEST_F(AdminAuditTest, ARefusedChangeLeavesNoEntry) {
  json first = {
      {"email", "twin@clinic.example"}, {"password", "a password 123"}, {"role", "admin"}};
  Ok(env_.Call("POST", "/api/v1/users", first, env_.admin), 201);
  EXPECT_EQ(env_.Call("POST", "/api/v1/users", first, env_.admin).status, 409);
  EXPECT_EQ(env_.Call("DELETE", "/api/v1/webhook_endpoints/77", nullptr, env_.admin).status, 404);
  EXPECT_EQ(Audit()["data"].size(), 1u);
}

TEST(UrlOriginTest, KeepsSchemeHostAndPortOnly) {
  EXPECT_EQ(UrlOrigin("https://hooks.example:8443/a/b?c=d#e"), "https://hooks.example:8443");
  EXPECT_EQ(UrlOrigin("http://u:p@h.example/x"), "http://h.example");
  EXPECT_EQ(UrlOrigin("https://h.example?k=v"), "https://h.example");
  EXPECT_EQ(UrlOrigin("not a url"), "");
}

}  // namespace
}  // namespace telemeet::api
