#include "api/api.h"

#include <gtest/gtest.h>

#include <set>

#include "api/testing_env.h"
#include "api/webhooks.h"
#include "core/time.h"
#include "sync/attendance.h"

namespace telemeet::api {
namespace {

using nlohmann::json;
using testing::ApiEnv;
using testing::Credentials;

class ApiTest : public ::testing::Test {
 protected:
  // A doctor, a telemedicine service and a patient, created by the write key.
  void SetUp() override {
    doctor_ = Create(
        "/api/v1/doctors",
        {{"name", "Dr Ada"}, {"email", "ada@clinic.example"}, {"time_zone", "Europe/Berlin"}});
    other_doctor_ =
        Create("/api/v1/doctors", {{"name", "Dr Bob"}, {"email", "bob@clinic.example"}});
    service_ = Create(
        "/api/v1/services",
        {{"name", "Video consultation"}, {"telemedicine", true}, {"default_duration_minutes", 20}});
    patient_ = Create("/api/v1/patients", {{"name", "Pat Doe"}, {"email", "pat@example.com"}});
  }

  int64_t Create(const std::string& path, const json& body) {
    auto r = env_.Call("POST", path, body, env_.write_key);
    EXPECT_EQ(r.status, 201) << path << " " << r.body;
    return ApiEnv::J(r)["id"].get<int64_t>();
  }

  json Booking(int64_t doctor, std::string start = "2026-06-02T09:00:00Z") {
    return {{"doctor_id", doctor},
            {"service_id", service_},
            {"patient_id", patient_},
            {"start", start}};
  }

  net::Response Book(int64_t doctor, const Credentials& who,
                     std::string start = "2026-06-02T09:00:00Z") {
    return env_.Call("POST", "/api/v1/appointments", Booking(doctor, start), who);
  }

  // A doctor user for `doctor`, signed in.
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

  ApiEnv env_;
  int64_t doctor_ = 0, other_doctor_ = 0, service_ = 0, patient_ = 0;
};

// --- Authentication ---

TEST_F(ApiTest, NoCredentialsIsUnauthenticated) {
  auto r = env_.Call("GET", "/api/v1/doctors", nullptr, {});
  ExpectError(r, 401, "unauthenticated");
  EXPECT_TRUE(r.headers.Has("WWW-Authenticate"));
}

TEST_F(ApiTest, MalformedUnknownOrWrongKeysAreRefused) {
  ExpectError(env_.Call("GET", "/api/v1/doctors", nullptr, {.bearer = "nonsense"}), 401,
              "unauthenticated");
  ExpectError(env_.Call("GET", "/api/v1/doctors", nullptr,
                        {.bearer = "tm_0123456789ab_aaaaaaaaaaaaaaaaaaaaaaaa"}),
              401, "unauthenticated");
  // The right prefix with a wrong secret.
  std::string wrong = env_.write_key.bearer;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  ExpectError(env_.Call("GET", "/api/v1/doctors", nullptr, {.bearer = wrong}), 401,
              "unauthenticated");
}

TEST_F(ApiTest, RevokedKeyStopsWorking) {
  auto keys = ApiEnv::J(env_.Call("GET", "/api/v1/api_keys", nullptr, env_.admin));
  int64_t id = 0;
  for (const auto& k : keys["data"]) {
    if (k["name"] == "booking") id = k["id"];
  }
  ASSERT_NE(id, 0);
  EXPECT_EQ(env_.Call("GET", "/api/v1/doctors", nullptr, env_.write_key).status, 200);
  EXPECT_EQ(
      env_.Call("DELETE", "/api/v1/api_keys/" + std::to_string(id), nullptr, env_.admin).status,
      204);
  ExpectError(env_.Call("GET", "/api/v1/doctors", nullptr, env_.write_key), 401, "unauthenticated");
}

TEST_F(ApiTest, KeyRevokedByAnotherInstanceStopsWithinTheCacheTtl) {
  EXPECT_EQ(env_.Call("GET", "/api/v1/doctors", nullptr, env_.write_key).status, 200);
  auto parsed = ParseApiKey(env_.write_key.bearer);
  ASSERT_TRUE(parsed);
  // Revoked in the store directly, as another telemeet instance would.
  ASSERT_TRUE(env_.store().Transact([&](store::Tx& tx) -> Status {
    auto k = tx.GetApiKeyByPrefix(parsed->prefix);
    if (!k) return std::unexpected(k.error());
    return tx.RevokeApiKey(k->id);
  }));
  EXPECT_EQ(env_.Call("GET", "/api/v1/doctors", nullptr, env_.write_key).status, 200);
  env_.clock.Advance(std::chrono::seconds(2));
  ExpectError(env_.Call("GET", "/api/v1/doctors", nullptr, env_.write_key), 401, "unauthenticated");
}

TEST_F(ApiTest, ARequestWithAKeyWritesNothingItself) {
  // With SQLite a read runs on an I/O thread: the key's last use is left to the background
  // writer (UsageRecorder), never written inside the request.
  auto fresh = CreateApiKey(env_.store(), "fresh", "read");
  ASSERT_TRUE(fresh.has_value());
  ASSERT_EQ(env_.Call("GET", "/api/v1/doctors", nullptr, {.bearer = fresh->secret}).status, 200);
  auto last_used = [&] {
    auto k = env_.store().Read(
        [&](store::Tx& tx) { return tx.GetApiKeyByPrefix(fresh->key.prefix); });
    return k && k->last_used_at.has_value();
  };
  EXPECT_FALSE(last_used());
  ASSERT_TRUE(env_.deps->usage->Flush().has_value());
  EXPECT_TRUE(last_used());
}

TEST_F(ApiTest, KeySecretIsStoredHashedAndLastUseRecorded) {
  ASSERT_TRUE(env_.deps->usage->Flush().has_value());  // written in the background
  auto keys = ApiEnv::J(env_.Call("GET", "/api/v1/api_keys", nullptr, env_.admin));
  for (const auto& k : keys["data"]) {
    EXPECT_FALSE(k.contains("secret"));
    EXPECT_FALSE(k.contains("key_hash"));
    if (k["name"] == "booking") {
      EXPECT_FALSE(k["last_used_at"].is_null());  // used in SetUp
    }
    if (k["name"] == "reports") {
      EXPECT_TRUE(k["last_used_at"].is_null());
    }
  }
  auto parsed = ParseApiKey(env_.write_key.bearer);
  ASSERT_TRUE(parsed);
  auto stored =
      env_.store().Read([&](store::Tx& tx) { return tx.GetApiKeyByPrefix(parsed->prefix); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->key_hash, TokenHash(parsed->secret));
  EXPECT_EQ(stored->key_hash.find(parsed->secret), std::string::npos);
}

TEST_F(ApiTest, ReadOnlyKeyCannotWrite) {
  EXPECT_EQ(env_.Call("GET", "/api/v1/doctors", nullptr, env_.read_key).status, 200);
  ExpectError(env_.Call("POST", "/api/v1/patients", {{"name", "X"}}, env_.read_key), 403,
              "permission_denied");
  ExpectError(Book(doctor_, env_.read_key), 403, "permission_denied");
}

TEST_F(ApiTest, ApiKeysCannotUseAdminRoutes) {
  for (auto [method, path] :
       {std::pair{"GET", "/api/v1/settings/google"}, std::pair{"GET", "/api/v1/api_keys"},
        std::pair{"GET", "/api/v1/users"}, std::pair{"GET", "/api/v1/webhook_endpoints"},
        std::pair{"PATCH", "/api/v1/settings/meetings"},
        std::pair{"PATCH", "/api/v1/settings/google"},
        std::pair{"POST", "/api/v1/settings/google/test"},
        std::pair{"GET", "/api/v1/webhook_endpoints/1"}}) {
    ExpectError(env_.Call(method, path, nullptr, env_.write_key), 403, "permission_denied");
  }
  ExpectError(env_.Call("POST", "/api/v1/api_keys", {{"name", "escalate"}, {"scopes", {"write"}}},
                        env_.write_key),
              403, "permission_denied");
}

TEST_F(ApiTest, CookieWritesNeedTheCsrfToken) {
  Credentials no_csrf = env_.admin;
  no_csrf.csrf.clear();
  ExpectError(env_.Call("POST", "/api/v1/patients", {{"name", "X"}}, no_csrf), 403,
              "permission_denied", "X-CSRF-Token");
  Credentials wrong = env_.admin;
  wrong.csrf = "forged";
  ExpectError(env_.Call("POST", "/api/v1/patients", {{"name", "X"}}, wrong), 403,
              "permission_denied", "X-CSRF-Token");
  // Reads need no token; writes with it succeed.
  EXPECT_EQ(env_.Call("GET", "/api/v1/patients", nullptr, no_csrf).status, 200);
  EXPECT_EQ(env_.Call("POST", "/api/v1/patients", {{"name", "X"}}, env_.admin).status, 201);
}

TEST_F(ApiTest, SessionCookieIsHttpOnlyStrictAndSecure) {
  auto r =
      env_.Call("POST", "/api/v1/session",
                {{"email", "admin@clinic.example"}, {"password", "correct horse battery"}}, {});
  ASSERT_EQ(r.status, 201);
  std::string cookie = r.headers.Get("Set-Cookie").value_or("");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Secure"), std::string::npos);  // public_url is https
}

TEST_F(ApiTest, FailedSignInsSlowTheAccountDownWithoutLockingIt) {
  for (int i = 0; i < 5; ++i) {
    ExpectError(env_.Call("POST", "/api/v1/session",
                          {{"email", "admin@clinic.example"}, {"password", "wrong guess"}}, {}),
                401, "unauthenticated");
  }
  // The sixth attempt must wait, even with the right password; the answer says how long.
  auto refused =
      env_.Call("POST", "/api/v1/session",
                {{"email", "admin@clinic.example"}, {"password", "correct horse battery"}}, {});
  ExpectError(refused, 429, "resource_exhausted");
  EXPECT_EQ(refused.headers.Get("Retry-After"), "5");
  env_.clock.Advance(std::chrono::seconds(5));
  EXPECT_FALSE(env_.Login("admin@clinic.example", "correct horse battery").cookie.empty());
  // Nothing of it was stored: failures are counted in memory.
  auto settings = env_.store().Read([](store::Tx& tx) { return tx.ListSettings(""); });
  ASSERT_TRUE(settings.has_value());
  for (const auto& [k, v] : *settings) EXPECT_FALSE(k.starts_with("login.")) << k;
}

TEST(ClientAddressTest, OnlyATrustedProxyNamesTheClient) {
  const std::vector<std::string> proxies = {"127.0.0.1"};
  net::Request r;
  r.remote_address = "127.0.0.1";
  EXPECT_EQ(ClientAddress(r, proxies), "127.0.0.1");
  r.headers.Add("X-Forwarded-For", "10.9.9.9, 198.51.100.7");  // the first entry is the client's
  EXPECT_EQ(ClientAddress(r, proxies), "198.51.100.7");
  // Not configured as a proxy (a tunnel that passes the client's header on): ignored.
  EXPECT_EQ(ClientAddress(r, {}), "127.0.0.1");
  r.remote_address = "203.0.113.5";
  EXPECT_EQ(ClientAddress(r, proxies), "203.0.113.5");
}

TEST_F(ApiTest, SignInRefusesAnEmailThatIsNoneBeforeCountingIt) {
  std::string huge(50'000, 'x');
  ExpectError(env_.Call("POST", "/api/v1/session", {{"email", huge}, {"password", "x"}}, {}), 400,
              "invalid_argument");
  ExpectError(env_.Call("POST", "/api/v1/session",
                        {{"email", "admin@clinic.example"}, {"password", std::string(2000, 'p')}},
                        {}),
              400, "invalid_argument");
  // None of it counted: five wrong guesses still get their 401 before any delay.
  for (int i = 0; i < 5; ++i) {
    ExpectError(env_.Call("POST", "/api/v1/session",
                          {{"email", "admin@clinic.example"}, {"password", "wrong guess"}}, {}),
                401, "unauthenticated");
  }
}

TEST_F(ApiTest, AnIdleSessionEndsAfterThirtyMinutesAndUseKeepsItAlive) {
  Credentials s = env_.Login("admin@clinic.example", "correct horse battery");
  for (int i = 0; i < 6; ++i) {  // used every 20 minutes for two hours
    env_.clock.Advance(std::chrono::minutes(20));
    EXPECT_EQ(env_.Call("GET", "/api/v1/session", nullptr, s).status, 200) << i;
    ASSERT_TRUE(env_.deps->usage->Flush().has_value());
  }
  env_.clock.Advance(std::chrono::minutes(31));
  ExpectError(env_.Call("GET", "/api/v1/session", nullptr, s), 401, "unauthenticated");
}

TEST_F(ApiTest, ExpiredOrLoggedOutSessionsAreRefused) {
  Credentials s = env_.Login("admin@clinic.example", "correct horse battery");
  EXPECT_EQ(env_.Call("GET", "/api/v1/session", nullptr, s).status, 200);
  EXPECT_EQ(env_.Call("DELETE", "/api/v1/session", nullptr, s).status, 204);
  ExpectError(env_.Call("GET", "/api/v1/doctors", nullptr, s), 401, "unauthenticated");
  env_.clock.Advance(std::chrono::hours(13));
  ExpectError(env_.Call("GET", "/api/v1/doctors", nullptr, env_.admin), 401, "unauthenticated");
}

TEST_F(ApiTest, DisabledUserLosesAccess) {
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  EXPECT_EQ(env_.Call("GET", "/api/v1/session", nullptr, ada).status, 200);
  int64_t user_id = ApiEnv::J(env_.Call("GET", "/api/v1/session", nullptr, ada))["user"]["id"];
  EXPECT_EQ(env_.Call("PATCH", "/api/v1/users/" + std::to_string(user_id), {{"disabled", true}},
                      env_.admin)
                .status,
            200);
  ExpectError(env_.Call("GET", "/api/v1/session", nullptr, ada), 401, "unauthenticated");
  EXPECT_TRUE(env_.Login("ada.user@clinic.example", "doctor password 1").cookie.empty());
}

// --- Authorization: a doctor only their own data ---

TEST_F(ApiTest, DoctorCannotReadOrChangeAnotherDoctorsAppointments) {
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  auto mine = Book(doctor_, env_.write_key);
  ASSERT_EQ(mine.status, 201) << mine.body;
  auto theirs = Book(other_doctor_, env_.write_key, "2026-06-03T09:00:00Z");
  ASSERT_EQ(theirs.status, 201);
  std::string theirs_path =
      "/api/v1/appointments/" + std::to_string(ApiEnv::J(theirs)["id"].get<int64_t>());

  ExpectError(env_.Call("GET", theirs_path, nullptr, ada), 403, "permission_denied");
  for (std::string action :
       {"/confirm", "/cancel", "/complete", "/meeting/retry", "/access_link"}) {
    ExpectError(env_.Call("POST", theirs_path + action, nullptr, ada), 403, "permission_denied");
  }
  ExpectError(
      env_.Call("POST", theirs_path + "/reschedule", {{"start", "2026-06-04T09:00:00Z"}}, ada), 403,
      "permission_denied");
  ExpectError(env_.Call("GET", theirs_path + "/audit", nullptr, ada), 403, "permission_denied");
  ExpectError(env_.Call("GET", theirs_path + "/meeting", nullptr, ada), 403, "permission_denied");
  ExpectError(Book(other_doctor_, ada, "2026-06-05T09:00:00Z"), 403, "permission_denied");

  // Lists hold only their own.
  auto list = ApiEnv::J(env_.Call("GET", "/api/v1/appointments", nullptr, ada));
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["doctor_id"], doctor_);
  ExpectError(env_.Call("GET", "/api/v1/appointments?doctor_id=" + std::to_string(other_doctor_),
                        nullptr, ada),
              403, "permission_denied");
  auto doctors = ApiEnv::J(env_.Call("GET", "/api/v1/doctors", nullptr, ada));
  ASSERT_EQ(doctors["data"].size(), 1u);
  EXPECT_EQ(doctors["data"][0]["id"], doctor_);
  // The record is theirs to see, the other's not.
  EXPECT_EQ(env_.Call("GET", "/api/v1/doctors/" + std::to_string(doctor_), nullptr, ada).status,
            200);
  ExpectError(env_.Call("GET", "/api/v1/doctors/" + std::to_string(other_doctor_), nullptr, ada),
              403, "permission_denied");
  ExpectError(env_.Call("GET", "/api/v1/doctors/" + std::to_string(other_doctor_) + "/google",
                        nullptr, ada),
              403, "permission_denied");
  ExpectError(env_.Call("DELETE", "/api/v1/doctors/" + std::to_string(other_doctor_) + "/google",
                        nullptr, ada),
              403, "permission_denied");
  for (std::string_view action : {"connect", "test"}) {
    ExpectError(env_.Call("POST",
                          "/api/v1/doctors/" + std::to_string(other_doctor_) + "/google/" +
                              std::string(action),
                          nullptr, ada),
                403, "permission_denied");
  }
  // A read-only key cannot disconnect anyone.
  ExpectError(env_.Call("DELETE", "/api/v1/doctors/" + std::to_string(doctor_) + "/google", nullptr,
                        env_.read_key),
              403, "permission_denied");
}

TEST_F(ApiTest, DoctorSeesOnlyPatientsOfTheirAppointments) {
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  int64_t stranger = Create("/api/v1/patients", {{"name", "Someone Else"}});
  // Another doctor's patient answers exactly as a patient that does not exist.
  auto foreign = env_.Call("GET", "/api/v1/patients/" + std::to_string(stranger), nullptr, ada);
  auto missing = env_.Call("GET", "/api/v1/patients/999999", nullptr, ada);
  ExpectError(foreign, 404, "not_found");
  ExpectError(missing, 404, "not_found");
  EXPECT_EQ(ApiEnv::J(foreign)["error"]["message"], "patient " + std::to_string(stranger) +
                                                        " does not exist");
  EXPECT_EQ(ApiEnv::J(missing)["error"]["message"], "patient 999999 does not exist");
  // Ada's list holds only her own patients: none yet.
  auto listed = env_.Call("GET", "/api/v1/patients", nullptr, ada);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_TRUE(ApiEnv::J(listed)["data"].empty()) << listed.body;
  // Booking someone who is not their patient, by id: the same 404, and nothing is written.
  auto booked = env_.Call("POST", "/api/v1/appointments",
                          {{"doctor_id", doctor_},
                           {"service_id", service_},
                           {"patient_id", stranger},
                           {"start", "2026-06-02T09:00:00Z"}},
                          ada);
  ExpectError(booked, 404, "not_found", "patient_id");
  EXPECT_EQ(ApiEnv::J(booked)["error"]["message"], "patient " + std::to_string(stranger) +
                                                       " does not exist");
  auto none = ApiEnv::J(env_.Call("GET", "/api/v1/appointments", nullptr, env_.admin));
  EXPECT_TRUE(none["data"].empty());
  // Admins and keys are unchanged; once the patient has an appointment with Ada, she sees them.
  ASSERT_EQ(Book(doctor_, env_.write_key).status, 201);
  EXPECT_EQ(env_.Call("GET", "/api/v1/patients/" + std::to_string(patient_), nullptr, ada).status,
            200);
  ASSERT_EQ(Book(doctor_, ada, "2026-06-09T09:00:00Z").status, 201);
  auto own = ApiEnv::J(env_.Call("GET", "/api/v1/patients", nullptr, ada));
  ASSERT_EQ(own["data"].size(), 1u) << own;
  EXPECT_EQ(own["data"][0]["id"], patient_);
  EXPECT_EQ(ApiEnv::J(env_.Call("GET", "/api/v1/patients", nullptr, env_.admin))["data"].size(),
            2u);
  EXPECT_EQ(
      env_.Call("GET", "/api/v1/patients/" + std::to_string(stranger), nullptr, env_.admin).status,
      200);
}

TEST_F(ApiTest, ADoctorBooksSomeoneNewByDescribingThePatient) {
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  auto booked = env_.Call("POST", "/api/v1/appointments",
                          {{"doctor_id", doctor_},
                           {"service_id", service_},
                           {"patient", {{"name", "Mary Seacole"}, {"email", "mary@p.example"}}},
                           {"start", "2026-06-02T09:00:00Z"}},
                          ada);
  ASSERT_EQ(booked.status, 201) << booked.body;
  int64_t patient = ApiEnv::J(booked)["patient_id"];
  EXPECT_NE(patient, patient_);
  auto read = env_.Call("GET", "/api/v1/patients/" + std::to_string(patient), nullptr, ada);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(ApiEnv::J(read)["name"], "Mary Seacole");
  // Not both; no unknown fields; a bad email is named.
  ExpectError(env_.Call("POST", "/api/v1/appointments",
                        {{"doctor_id", doctor_},
                         {"service_id", service_},
                         {"patient_id", patient},
                         {"patient", {{"name", "X"}}},
                         {"start", "2026-06-03T09:00:00Z"}},
                        ada),
              400, "invalid_argument", "patient");
  ExpectError(env_.Call("POST", "/api/v1/appointments",
                        {{"doctor_id", doctor_},
                         {"service_id", service_},
                         {"patient", {{"name", "X"}, {"active", false}}},
                         {"start", "2026-06-03T09:00:00Z"}},
                        ada),
              400, "invalid_argument", "patient.active");
  ExpectError(env_.Call("POST", "/api/v1/appointments",
                        {{"doctor_id", doctor_},
                         {"service_id", service_},
                         {"patient", {{"name", "X"}, {"email", "not an email"}}},
                         {"start", "2026-06-03T09:00:00Z"}},
                        ada),
              400, "invalid_argument");
  ExpectError(env_.Call("POST", "/api/v1/appointments",
                        {{"doctor_id", doctor_},
                         {"service_id", service_},
                         {"start", "2026-06-03T09:00:00Z"}},
                        ada),
              400, "invalid_argument", "patient_id");
}

TEST_F(ApiTest, DoctorCannotChangeTheCatalogOrUseAdminRoutes) {
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  ExpectError(
      env_.Call("POST", "/api/v1/doctors", {{"name", "Dr Z"}, {"email", "z@x.example"}}, ada), 403,
      "permission_denied");
  ExpectError(
      env_.Call("PATCH", "/api/v1/doctors/" + std::to_string(doctor_), {{"name", "Me"}}, ada), 403,
      "permission_denied");
  ExpectError(env_.Call("POST", "/api/v1/services", {{"name", "S"}}, ada), 403,
              "permission_denied");
  ExpectError(
      env_.Call("PATCH", "/api/v1/patients/" + std::to_string(patient_), {{"name", "P"}}, ada), 403,
      "permission_denied");
  ExpectError(env_.Call("GET", "/api/v1/settings/google", nullptr, ada), 403, "permission_denied");
  ExpectError(env_.Call("PATCH", "/api/v1/settings/google", {{"client_id", "x"}}, ada), 403,
              "permission_denied");
  ExpectError(env_.Call("POST", "/api/v1/settings/google/test", nullptr, ada), 403,
              "permission_denied");
  ExpectError(env_.Call("GET", "/api/v1/webhook_endpoints/1", nullptr, ada), 403,
              "permission_denied");
  ExpectError(env_.Call("GET", "/api/v1/events", nullptr, ada), 403, "permission_denied");
  // The integrator's read key may read the event log.
  EXPECT_EQ(env_.Call("GET", "/api/v1/events", nullptr, env_.read_key).status, 200);
  ExpectError(
      env_.Call("POST", "/api/v1/users",
                {{"email", "x@y.example"}, {"password", "0123456789ab"}, {"role", "admin"}}, ada),
      403, "permission_denied");
}

// The user rules (api/accounts.h) the routes share with the admin command line.
TEST_F(ApiTest, UserRulesNameTheField) {
  auto create = [&](json body) { return env_.Call("POST", "/api/v1/users", body, env_.admin); };
  // A password sign-in would refuse is refused when set.
  ExpectError(create({{"email", "long@clinic.example"},
                      {"password", std::string(kMaxPasswordBytes + 1, 'p')},
                      {"role", "admin"}}),
              400, "invalid_argument", "password");
  ExpectError(create({{"email", "d@clinic.example"},
                      {"password", "0123456789ab"},
                      {"role", "doctor"},
                      {"doctor_id", 9999}}),
              400, "invalid_argument", "doctor_id");
  ExpectError(
      create({{"email", "d@clinic.example"}, {"password", "0123456789ab"}, {"role", "doctor"}}),
      400, "invalid_argument", "doctor_id");
  ExpectError(create({{"email", "a@clinic.example"},
                      {"password", "0123456789ab"},
                      {"role", "admin"},
                      {"doctor_id", doctor_}}),
              400, "invalid_argument", "doctor_id");
  ExpectError(create({{"email", "a@clinic.example"}, {"password", "short"}, {"role", "admin"}}),
              400, "invalid_argument", "password");
  ExpectError(
      create({{"email", "a@clinic.example"}, {"password", "0123456789ab"}, {"role", "owner"}}), 400,
      "invalid_argument", "role");
  ExpectError(
      env_.Call("POST", "/api/v1/api_keys", {{"name", "k"}, {"scopes", {"admin"}}}, env_.admin),
      400, "invalid_argument", "scopes");
  // Nothing of the refused requests was stored.
  auto users = env_.Call("GET", "/api/v1/users", nullptr, env_.admin);
  EXPECT_EQ(users.body.find("\"d@clinic.example"), std::string::npos);
  EXPECT_EQ(users.body.find("\"a@clinic.example"), std::string::npos);
}

// --- Patients: one appointment through the access link ---

TEST_F(ApiTest, AccessLinkOpensOnlyItsAppointmentUntilRevokedOrExpired) {
  auto r = Book(doctor_, env_.write_key);
  ASSERT_EQ(r.status, 201);
  json a = ApiEnv::J(r);
  std::string url = a["access_link"]["url"];
  ASSERT_TRUE(url.starts_with("https://tm.example/p?token="));
  std::string token = url.substr(url.find('=') + 1);
  auto view = env_.Call("GET", "/api/v1/access?token=" + token, nullptr, {});
  ASSERT_EQ(view.status, 200) << view.body;
  json v = ApiEnv::J(view);
  EXPECT_EQ(v["doctor_name"], "Dr Ada");
  EXPECT_FALSE(v.contains("patient_id"));  // nothing beyond the appointment itself
  EXPECT_TRUE(v["join_url"].is_null());
  // A guessed or altered token opens nothing.
  ExpectError(env_.Call("GET", "/api/v1/access?token=" + token.substr(1) + "x", nullptr, {}), 404,
              "not_found");
  // The token is never shown again; a reissue revokes the old link.
  json again =
      ApiEnv::J(env_.Call("GET", "/api/v1/appointments/" + std::to_string(a["id"].get<int64_t>()),
                          nullptr, env_.write_key));
  EXPECT_TRUE(again["access_link"]["url"].is_null());
  auto reissue = env_.Call(
      "POST", "/api/v1/appointments/" + std::to_string(a["id"].get<int64_t>()) + "/access_link",
      nullptr, env_.write_key);
  ASSERT_EQ(reissue.status, 201);
  ExpectError(env_.Call("GET", "/api/v1/access?token=" + token, nullptr, {}), 404, "not_found");
  std::string new_url = ApiEnv::J(reissue)["url"];
  std::string new_token = new_url.substr(new_url.find('=') + 1);
  EXPECT_EQ(env_.Call("GET", "/api/v1/access?token=" + new_token, nullptr, {}).status, 200);
  net::Headers header;
  header.Set("X-Access-Token", new_token);
  EXPECT_EQ(env_.Call("GET", "/api/v1/access", nullptr, {}, header).status, 200);
  ExpectError(env_.Call("GET", "/api/v1/access", nullptr, {}), 404, "not_found");
  // Expiry: 7 days after the appointment ends.
  env_.clock.Set(*core::ParseRfc3339("2026-06-10T00:00:00Z"));
  ExpectError(env_.Call("GET", "/api/v1/access?token=" + new_token, nullptr, {}), 404, "not_found");
}

// --- Resources ---

TEST_F(ApiTest, CatalogCreateReadUpdateListDeactivate) {
  auto d = ApiEnv::J(
      env_.Call("GET", "/api/v1/doctors/" + std::to_string(doctor_), nullptr, env_.read_key));
  EXPECT_EQ(d["name"], "Dr Ada");
  EXPECT_EQ(d["time_zone"], "Europe/Berlin");
  auto patched = env_.Call("PATCH", "/api/v1/doctors/" + std::to_string(doctor_),
                           {{"name", "Dr Ada L."}}, env_.write_key);
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(ApiEnv::J(patched)["name"], "Dr Ada L.");
  EXPECT_EQ(ApiEnv::J(patched)["email"], "ada@clinic.example");  // untouched

  // Pagination: one per page, following next_cursor to the end.
  std::set<int64_t> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    std::string target = "/api/v1/doctors?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor);
    json p = ApiEnv::J(env_.Call("GET", target, nullptr, env_.read_key));
    ASSERT_EQ(p["data"].size(), 1u);
    seen.insert(p["data"][0]["id"].get<int64_t>());
    if (p["next_cursor"].is_null()) break;
    cursor = p["next_cursor"];
  }
  EXPECT_EQ(seen, (std::set<int64_t>{doctor_, other_doctor_}));

  auto svc = ApiEnv::J(
      env_.Call("GET", "/api/v1/services/" + std::to_string(service_), nullptr, env_.read_key));
  EXPECT_EQ(svc["telemedicine"], true);
  EXPECT_EQ(svc["default_duration_minutes"], 20);
  EXPECT_EQ(svc["title_template"], "{service} with {doctor}");

  // Deactivated services, patients and doctors take no new bookings.
  EXPECT_EQ(env_.Call("POST", "/api/v1/services/" + std::to_string(service_) + "/deactivate",
                      nullptr, env_.write_key)
                .status,
            200);
  ExpectError(Book(doctor_, env_.write_key), 409, "failed_precondition", "service_id");
  EXPECT_EQ(env_.Call("PATCH", "/api/v1/services/" + std::to_string(service_), {{"active", true}},
                      env_.write_key)
                .status,
            200);
  EXPECT_EQ(env_.Call("POST", "/api/v1/patients/" + std::to_string(patient_) + "/deactivate",
                      nullptr, env_.write_key)
                .status,
            200);
  ExpectError(Book(doctor_, env_.write_key), 409, "failed_precondition", "patient_id");
  json pat = ApiEnv::J(
      env_.Call("GET", "/api/v1/patients/" + std::to_string(patient_), nullptr, env_.write_key));
  EXPECT_EQ(pat["active"], false);
  EXPECT_EQ(env_.Call("POST", "/api/v1/doctors/" + std::to_string(other_doctor_) + "/deactivate",
                      nullptr, env_.write_key)
                .status,
            200);
  ExpectError(Book(other_doctor_, env_.write_key), 409, "failed_precondition", "doctor_id");
}

TEST_F(ApiTest, CreateAppointmentEmbedsMeetingAndLinkAndWakesTheWorker) {
  int before = env_.work_nudges;
  auto r = Book(doctor_, env_.write_key);
  ASSERT_EQ(r.status, 201) << r.body;
  json a = ApiEnv::J(r);
  EXPECT_EQ(a["status"], "booked");
  EXPECT_EQ(a["end"], "2026-06-02T09:20:00Z");  // the service's default duration
  EXPECT_EQ(a["time_zone"], "Europe/Berlin");   // the doctor's zone
  EXPECT_EQ(a["meeting"]["state"], "not_needed");
  EXPECT_TRUE(a["meeting"]["join_url"].is_null());
  EXPECT_FALSE(a["meeting"]["next_run_at"].is_null());  // the reconcile job is due
  EXPECT_GT(env_.work_nudges, before);
}

TEST_F(ApiTest, LocalStartTimesUseTheAppointmentZone) {
  json body = Booking(doctor_, "2026-06-02T11:00");
  body["time_zone"] = "Europe/Berlin";
  body["end"] = "2026-06-02T11:30";
  auto r = env_.Call("POST", "/api/v1/appointments", body, env_.write_key);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["start"], "2026-06-02T09:00:00Z");
  EXPECT_EQ(ApiEnv::J(r)["end"], "2026-06-02T09:30:00Z");
}

// Google keeps event times in whole seconds; so do appointments (a fraction would make the
// event's times never equal the appointment's, and the reconciler patch it forever).
TEST_F(ApiTest, TimesAreKeptInWholeSeconds) {
  json body = Booking(doctor_, "2026-06-02T09:00:00.750Z");
  body["end"] = "2026-06-02T09:30:59.999999Z";
  auto r = env_.Call("POST", "/api/v1/appointments", body, env_.write_key);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["start"], "2026-06-02T09:00:00Z");
  EXPECT_EQ(ApiEnv::J(r)["end"], "2026-06-02T09:30:59Z");
}

TEST_F(ApiTest, IdempotencyKeyReturnsTheFirstResult) {
  net::Headers h;
  h.Set("Idempotency-Key", "booking-123");
  auto first = env_.Call("POST", "/api/v1/appointments", Booking(doctor_), env_.write_key, h);
  ASSERT_EQ(first.status, 201);
  auto retry = env_.Call("POST", "/api/v1/appointments", Booking(doctor_), env_.write_key, h);
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(ApiEnv::J(retry)["id"], ApiEnv::J(first)["id"]);
  auto list = ApiEnv::J(env_.Call("GET", "/api/v1/appointments", nullptr, env_.write_key));
  EXPECT_EQ(list["data"].size(), 1u);
  // Same key, other body: a clear refusal naming the header, nothing created.
  auto other = env_.Call("POST", "/api/v1/appointments", Booking(doctor_, "2026-06-09T09:00:00Z"),
                         env_.write_key, h);
  ExpectError(other, 422, "idempotency_key_reused", "Idempotency-Key");
  list = ApiEnv::J(env_.Call("GET", "/api/v1/appointments", nullptr, env_.write_key));
  EXPECT_EQ(list["data"].size(), 1u);
  // Keys are per caller: another key with the same header value books anew.
  Credentials other_key{.bearer = CreateApiKey(env_.store(), "other", "write")->secret};
  auto separate = env_.Call("POST", "/api/v1/appointments",
                            Booking(doctor_, "2026-06-11T09:00:00Z"), other_key, h);
  EXPECT_EQ(separate.status, 201);
  EXPECT_NE(ApiEnv::J(separate)["id"], ApiEnv::J(first)["id"]);
}

TEST_F(ApiTest, LifecycleConfirmRescheduleCancelAndAudit) {
  json a = ApiEnv::J(Book(doctor_, env_.write_key));
  std::string path = "/api/v1/appointments/" + std::to_string(a["id"].get<int64_t>());
  auto confirmed = env_.Call("POST", path + "/confirm", nullptr, env_.write_key);
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  EXPECT_EQ(ApiEnv::J(confirmed)["status"], "confirmed");
  auto moved =
      env_.Call("POST", path + "/reschedule", {{"start", "2026-06-02T10:00:00Z"}}, env_.write_key);
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(ApiEnv::J(moved)["start"], "2026-06-02T10:00:00Z");
  EXPECT_EQ(ApiEnv::J(moved)["end"], "2026-06-02T10:20:00Z");  // duration kept
  auto cancelled = env_.Call("POST", path + "/cancel", {{"reason", "patient ill"}}, env_.write_key);
  ASSERT_EQ(cancelled.status, 200);
  EXPECT_EQ(ApiEnv::J(cancelled)["status"], "cancelled");
  ExpectError(env_.Call("POST", path + "/complete", nullptr, env_.write_key), 409,
              "failed_precondition");
  json audit = ApiEnv::J(env_.Call("GET", path + "/audit", nullptr, env_.read_key));
  std::vector<std::string> actions;
  for (const auto& e : audit["data"]) actions.push_back(e["action"]);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"appointment.created", "appointment.confirmed",
                                      "appointment.rescheduled", "appointment.cancelled"}));
  EXPECT_EQ(audit["data"][3]["detail"]["reason"], "patient ill");
  EXPECT_TRUE(audit["data"][0]["actor"].get<std::string>().starts_with("api_key:"));
}

TEST_F(ApiTest, ListFiltersByDoctorStatusAndTime) {
  ASSERT_EQ(Book(doctor_, env_.write_key, "2026-06-02T09:00:00Z").status, 201);
  ASSERT_EQ(Book(doctor_, env_.write_key, "2026-06-04T09:00:00Z").status, 201);
  ASSERT_EQ(Book(other_doctor_, env_.write_key, "2026-06-03T09:00:00Z").status, 201);
  auto count = [&](std::string q) {
    auto r = env_.Call("GET", "/api/v1/appointments?" + q, nullptr, env_.read_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return ApiEnv::J(r)["data"].size();
  };
  EXPECT_EQ(count("doctor_id=" + std::to_string(doctor_)), 2u);
  EXPECT_EQ(count("from=2026-06-03T00:00:00Z&to=2026-06-05T00:00:00Z"), 2u);
  EXPECT_EQ(count("status=booked"), 3u);
  EXPECT_EQ(count("status=confirmed"), 0u);
  ExpectError(env_.Call("GET", "/api/v1/appointments?status=maybe", nullptr, env_.read_key), 400,
              "invalid_argument", "status");
  ExpectError(env_.Call("GET", "/api/v1/appointments?from=yesterday", nullptr, env_.read_key), 400,
              "invalid_argument", "from");
  ExpectError(env_.Call("GET", "/api/v1/appointments?limit=0", nullptr, env_.read_key), 400,
              "invalid_argument", "limit");
  ExpectError(env_.Call("GET", "/api/v1/appointments?cursor=zz!", nullptr, env_.read_key), 400,
              "invalid_argument", "cursor");
}

TEST_F(ApiTest, MeetingRetryOnlyForFailedMeetings) {
  json a = ApiEnv::J(Book(doctor_, env_.write_key));
  int64_t id = a["id"];
  std::string path = "/api/v1/appointments/" + std::to_string(id);
  ExpectError(env_.Call("POST", path + "/meeting/retry", nullptr, env_.write_key), 409,
              "failed_precondition");
  ASSERT_TRUE(env_.store().Transact([&](store::Tx& tx) {
    return tx.PutMeeting({.appointment_id = id,
                          .doctor_id = doctor_,
                          .state = core::MeetingState::kFailed,
                          .event_id = "tmabcde",
                          .attempts = 3,
                          .last_error = "Invalid conference type value."});
  }));
  json m = ApiEnv::J(env_.Call("GET", path + "/meeting", nullptr, env_.read_key));
  EXPECT_EQ(m["state"], "failed");
  EXPECT_EQ(m["last_error"], "Invalid conference type value.");
  auto retried = env_.Call("POST", path + "/meeting/retry", nullptr, env_.write_key);
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(ApiEnv::J(retried)["state"], "creating");
  json failed =
      ApiEnv::J(env_.Call("GET", "/api/v1/meetings?state=failed", nullptr, env_.read_key));
  EXPECT_TRUE(failed["data"].empty());
}

TEST_F(ApiTest, JoinUrlOnlyOnceTheConferenceExists) {
  json a = ApiEnv::J(Book(doctor_, env_.write_key));
  int64_t id = a["id"];
  auto put = [&](core::MeetingState st) {
    ASSERT_TRUE(env_.store().Transact([&](store::Tx& tx) {
      return tx.PutMeeting({.appointment_id = id,
                            .doctor_id = doctor_,
                            .state = st,
                            .event_id = "tmabc",
                            .join_url = "https://meet.google.com/abc-defg-hij",
                            .event_url = "https://calendar.google.com/event?eid=x"});
    }));
  };
  std::string path = "/api/v1/appointments/" + std::to_string(id) + "/meeting";
  put(core::MeetingState::kConferencePending);
  EXPECT_TRUE(ApiEnv::J(env_.Call("GET", path, nullptr, env_.read_key))["join_url"].is_null());
  put(core::MeetingState::kReady);
  EXPECT_EQ(ApiEnv::J(env_.Call("GET", path, nullptr, env_.read_key))["join_url"],
            "https://meet.google.com/abc-defg-hij");
}

// --- Bad input ---

TEST_F(ApiTest, BadBodiesNameTheProblem) {
  ExpectError(env_.CallRaw("POST", "/api/v1/patients", "{\"name\": ", env_.write_key), 400,
              "invalid_argument", "body");
  // Found by the body fuzzer: a number beyond double's range was a 500.
  ExpectError(env_.CallRaw("POST", "/api/v1/patients", "{\"name\": 1e999}", env_.write_key), 400,
              "invalid_argument", "body");
  ExpectError(env_.CallRaw("POST", "/api/v1/patients", "[1,2]", env_.write_key), 400,
              "invalid_argument", "body");
  // Ill-formed UTF-8 and nesting beyond the limit: 400, not a 500, nothing created.
  ExpectError(
      env_.CallRaw("POST", "/api/v1/patients", "{\"name\": \"Pat \xc3\x28\"}", env_.write_key), 400,
      "invalid_argument", "body");
  ExpectError(env_.CallRaw("POST", "/api/v1/patients",
                           "{\"name\": " + std::string(5000, '[') + std::string(5000, ']') + "}",
                           env_.write_key),
              400, "invalid_argument", "body");
  net::Headers text;
  text.Set("Content-Type", "text/plain");
  ExpectError(env_.CallRaw("POST", "/api/v1/patients", "{}", env_.write_key, text), 400,
              "invalid_argument", "Content-Type");
  ExpectError(
      env_.Call("POST", "/api/v1/patients", {{"name", "X"}, {"nmae", "typo"}}, env_.write_key), 400,
      "invalid_argument", "nmae");
  ExpectError(env_.Call("POST", "/api/v1/patients", {{"name", 42}}, env_.write_key), 400,
              "invalid_argument", "name");
  ExpectError(env_.Call("POST", "/api/v1/patients", {{"email", "x@y.example"}}, env_.write_key),
              400, "invalid_argument", "name");
  ExpectError(env_.Call("POST", "/api/v1/services", {{"name", "S"}, {"telemedicine", "yes"}},
                        env_.write_key),
              400, "invalid_argument", "telemedicine");
  ExpectError(env_.Call("POST", "/api/v1/doctors", {{"name", "D"}, {"email", "not-an-email"}},
                        env_.write_key),
              400, "invalid_argument", "email");
  std::string big = "{\"name\": \"" + std::string(70 * 1024, 'x') + "\"}";
  ExpectError(env_.CallRaw("POST", "/api/v1/patients", big, env_.write_key), 413,
              "payload_too_large");
}

TEST_F(ApiTest, BadAppointmentsAreRefusedAndLeaveNothingBehind) {
  auto bad = [&](json body, std::string field, int status = 400) {
    auto r = env_.Call("POST", "/api/v1/appointments", body, env_.write_key);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(ApiEnv::J(r)["error"]["field"], field) << r.body;
  };
  json b = Booking(doctor_);
  b.erase("start");
  bad(b, "start");
  bad(Booking(doctor_, "2026-13-40T25:00:00Z"), "start");
  json zone = Booking(doctor_, "2026-06-02T10:00");
  zone["time_zone"] = "Mars/Olympus_Mons";
  bad(zone, "time_zone");
  json gap = Booking(doctor_, "2026-03-29T02:30");  // spring forward in Berlin
  gap["time_zone"] = "Europe/Berlin";
  bad(gap, "start");
  json backwards = Booking(doctor_);
  backwards["end"] = "2026-06-02T08:00:00Z";
  bad(backwards, "end");
  json wrong_type = Booking(doctor_);
  wrong_type["doctor_id"] = "1";
  bad(wrong_type, "doctor_id");
  json status = Booking(doctor_);
  status["status"] = "completed";
  bad(status, "status");
  json no_patient = Booking(doctor_);
  no_patient["patient_id"] = 9999;
  bad(no_patient, "patient_id", 404);
  auto list = ApiEnv::J(env_.Call("GET", "/api/v1/appointments", nullptr, env_.write_key));
  EXPECT_TRUE(list["data"].empty());
  auto jobs = env_.store().Read([](store::Tx& tx) { return tx.CountJobs(std::nullopt); });
  ASSERT_TRUE(jobs);
  EXPECT_EQ(*jobs, 0);
}

TEST_F(ApiTest, UnknownIdsAre404) {
  for (std::string path : {"/api/v1/doctors/999", "/api/v1/services/999", "/api/v1/patients/999",
                           "/api/v1/appointments/999", "/api/v1/appointments/abc",
                           "/api/v1/appointments/999/audit", "/api/v1/doctors/999/google"}) {
    ExpectError(env_.Call("GET", path, nullptr, env_.admin), 404, "not_found");
  }
  ExpectError(env_.Call("POST", "/api/v1/appointments/999/confirm", nullptr, env_.write_key), 404,
              "not_found");
  ExpectError(env_.Call("GET", "/api/v1/nothing-here", nullptr, env_.write_key), 404, "not_found");
}

// --- Settings ---

TEST_F(ApiTest, GoogleSettingsNeverReturnTheSecret) {
  auto r = env_.Call(
      "PATCH", "/api/v1/settings/google",
      {{"client_id", "123.apps.googleusercontent.com"}, {"client_secret", "GOCSPX-very-secret"}},
      env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("GOCSPX"), std::string::npos);
  json s = ApiEnv::J(env_.Call("GET", "/api/v1/settings/google", nullptr, env_.admin));
  EXPECT_EQ(s["client_secret_set"], true);
  EXPECT_EQ(s["client_id"], "123.apps.googleusercontent.com");
  EXPECT_EQ(s["redirect_uri"], "https://tm.example/oauth/google/callback");
  EXPECT_FALSE(s.contains("client_secret"));
  // Stored sealed, not in plain text.
  auto stored =
      env_.store().Read([](store::Tx& tx) { return tx.GetSetting("google.client_secret"); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->find("GOCSPX"), std::string::npos);
  ExpectError(
      env_.Call("PATCH", "/api/v1/settings/google", {{"scope", "openid email"}}, env_.admin), 400,
      "invalid_argument", "scope");
}

TEST_F(ApiTest, MeetingPoliciesAreValidated) {
  json s = ApiEnv::J(env_.Call("GET", "/api/v1/settings/meetings", nullptr, env_.admin));
  EXPECT_EQ(s["create_on"], "confirmation");
  auto r = env_.Call("PATCH", "/api/v1/settings/meetings",
                     {{"create_on", "booking"},
                      {"send_updates", "externalOnly"},
                      {"cancel_mode", "mark_cancelled"}},
                     env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["send_updates"], "externalOnly");
  ExpectError(
      env_.Call("PATCH", "/api/v1/settings/meetings", {{"cancel_mode", "shred"}}, env_.admin), 400,
      "invalid_argument", "cancel_mode");
}

// M14/M23: invitations and the event's reminders are meeting policies like the others; what is
// saved is what the reconciler reads (sync/reconciler.h kSettingInvitePatient, ...).
TEST_F(ApiTest, InvitationAndReminderPoliciesAreSavedAndValidated) {
  json s = ApiEnv::J(env_.Call("GET", "/api/v1/settings/meetings", nullptr, env_.admin));
  EXPECT_EQ(s["invite_patient"], false);
  EXPECT_EQ(s["event_reminders"], "default");
  auto r = env_.Call("PATCH", "/api/v1/settings/meetings",
                     {{"invite_patient", true}, {"event_reminders", " popup:10 , email:60"}},
                     env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["invite_patient"], true);
  EXPECT_EQ(ApiEnv::J(r)["event_reminders"], "popup:10,email:60");
  auto saved = env_.store().Read([](store::Tx& tx) -> Result<std::pair<std::string, std::string>> {
    return std::pair{TM_TRY(tx.GetSetting("meeting.invite_patient")),
                     TM_TRY(tx.GetSetting("meeting.event_reminders"))};
  });
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->first, "true");
  EXPECT_EQ(saved->second, "popup:10,email:60");
  ExpectError(
      env_.Call("PATCH", "/api/v1/settings/meetings", {{"invite_patient", "yes"}}, env_.admin), 400,
      "invalid_argument", "invite_patient");
  for (const char* bad :
       {"sms:10", "popup:40321", "popup:1,popup:2,popup:3,popup:4,popup:5,popup:6", ""}) {
    ExpectError(
        env_.Call("PATCH", "/api/v1/settings/meetings", {{"event_reminders", bad}}, env_.admin),
        400, "invalid_argument", "event_reminders");
  }
  // Refused changes left the saved values alone; an integrator may not change the policy.
  s = ApiEnv::J(env_.Call("GET", "/api/v1/settings/meetings", nullptr, env_.admin));
  EXPECT_EQ(s["event_reminders"], "popup:10,email:60");
  EXPECT_EQ(
      env_.Call("PATCH", "/api/v1/settings/meetings", {{"invite_patient", false}}, env_.write_key)
          .status,
      403);
}

// Issue 18: who may join and attendance are meeting policies too, saved where the meet work
// reads them (core/attendance.h kSettingAccessType, kSettingAttendance, ...).
TEST_F(ApiTest, AccessTypeAndAttendancePoliciesAreSavedAndValidated) {
  json s = ApiEnv::J(env_.Call("GET", "/api/v1/settings/meetings", nullptr, env_.admin));
  EXPECT_EQ(s["access_type"], "default");
  EXPECT_EQ(s["attendance"], "off");
  EXPECT_EQ(s["attendance_min_minutes"], 5);
  auto r = env_.Call(
      "PATCH", "/api/v1/settings/meetings",
      {{"access_type", "restricted"}, {"attendance", "complete"}, {"attendance_min_minutes", 8}},
      env_.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ApiEnv::J(r)["access_type"], "restricted");
  EXPECT_EQ(ApiEnv::J(r)["attendance"], "complete");
  EXPECT_EQ(ApiEnv::J(r)["attendance_min_minutes"], 8);
  auto saved = env_.store().Read([](store::Tx& tx) -> Result<std::vector<std::string>> {
    return std::vector<std::string>{TM_TRY(tx.GetSetting("meeting.access_type")),
                                    TM_TRY(tx.GetSetting("attendance.mode")),
                                    TM_TRY(tx.GetSetting("attendance.min_minutes"))};
  });
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(*saved, (std::vector<std::string>{"restricted", "complete", "8"}));
  ExpectError(env_.Call("PATCH", "/api/v1/settings/meetings", {{"access_type", "RESTRICTED"}},
                        env_.admin),
              400, "invalid_argument", "access_type");
  ExpectError(
      env_.Call("PATCH", "/api/v1/settings/meetings", {{"attendance", "always"}}, env_.admin), 400,
      "invalid_argument", "attendance");
  ExpectError(env_.Call("PATCH", "/api/v1/settings/meetings", {{"attendance_min_minutes", -1}},
                        env_.admin),
              400, "invalid_argument", "attendance_min_minutes");
  // A refused body changes nothing, even its valid fields.
  ExpectError(env_.Call("PATCH", "/api/v1/settings/meetings",
                        {{"attendance", "record"}, {"access_type", "closed"}}, env_.admin),
              400, "invalid_argument", "access_type");
  s = ApiEnv::J(env_.Call("GET", "/api/v1/settings/meetings", nullptr, env_.admin));
  EXPECT_EQ(s["attendance"], "complete");
}

// The reconciler makes a ready meeting's meet job due only while the Meet policy asks for work
// (an access type, or attendance); a policy that comes to ask for work, or for other work,
// applies to the meetings that exist already: their meet jobs are made due, and the admin audit
// says how many. A save that leaves the policy as it was makes none.
TEST_F(ApiTest, AMeetPolicyTurnedOnMakesTheReadyMeetingsWorkDue) {
  auto meeting = [&](core::MeetingState state, std::string start) {
    int64_t id = ApiEnv::J(Book(doctor_, env_.write_key, start))["id"];
    Status put = env_.store().Transact([&](store::Tx& tx) {
      return tx.PutMeeting({.appointment_id = id,
                            .doctor_id = doctor_,
                            .state = state,
                            .event_id = "tmabc" + std::to_string(id),
                            .join_url = "https://meet.google.com/abc-defg-hij"});
    });
    EXPECT_TRUE(put.has_value()) << put.error().ToString();
    return id;
  };
  const int64_t ready = meeting(core::MeetingState::kReady, "2026-06-02T09:00:00Z");
  const int64_t pending = meeting(core::MeetingState::kConferencePending, "2026-06-02T10:00:00Z");
  auto has_meet_job = [&](int64_t id) {
    return env_.store()
        .Read([&](store::Tx& tx) { return tx.GetJob(sync::MeetJobKey(id)); })
        .has_value();
  };
  auto drop_meet_job = [&](int64_t id) {
    ASSERT_TRUE(env_.store().Transact([&](store::Tx& tx) -> Status {
      const core::Job job = TM_TRY(tx.GetJob(sync::MeetJobKey(id)));
      auto leased = TM_TRY(tx.LeaseJobs({.owner = "test",
                                         .max = 1,
                                         .lease_for = std::chrono::seconds(30),
                                         .now = job.run_at,
                                         .kind = job.kind}));
      if (leased.size() != 1 || leased[0].id != job.id) return Fail(ErrorCode::kInternal, "lease");
      return tx.CompleteJob(leased[0]);
    }));
    ASSERT_FALSE(has_meet_job(id));
  };
  auto patch = [&](const json& body) {
    auto r = env_.Call("PATCH", "/api/v1/settings/meetings", body, env_.admin);
    EXPECT_EQ(r.status, 200) << r.body;
    json audit = ApiEnv::J(env_.Call("GET", "/api/v1/audit?kind=settings", nullptr, env_.admin));
    return audit["data"].empty() ? json() : audit["data"][0]["detail"];
  };
  // The defaults, saved: nothing asks for Meet work.
  EXPECT_FALSE(patch({{"attendance", "off"}, {"access_type", "default"}}).contains("meet_jobs"));
  EXPECT_FALSE(has_meet_job(ready));
  // Attendance on: the ready meeting's work is due; the pending one's comes when it is ready.
  EXPECT_EQ(patch({{"attendance", "record"}})["meet_jobs"], 1);
  EXPECT_TRUE(has_meet_job(ready));
  EXPECT_FALSE(has_meet_job(pending));
  drop_meet_job(ready);
  // The same policy saved again with another setting: nothing new to apply.
  EXPECT_FALSE(patch({{"attendance", "record"}, {"cancel_mode", "delete"}}).contains("meet_jobs"));
  EXPECT_FALSE(has_meet_job(ready));
  // Another mode of attendance asks nothing new of the meetings.
  EXPECT_FALSE(patch({{"attendance", "complete"}}).contains("meet_jobs"));
  EXPECT_FALSE(has_meet_job(ready));
  // Another access type is new work.
  EXPECT_EQ(patch({{"access_type", "restricted"}})["meet_jobs"], 1);
  EXPECT_TRUE(has_meet_job(ready));
  drop_meet_job(ready);
  // Turned off: nothing to do.
  EXPECT_FALSE(patch({{"attendance", "off"}, {"access_type", "default"}}).contains("meet_jobs"));
  EXPECT_FALSE(has_meet_job(ready));
}

TEST_F(ApiTest, AttendanceWebhookTopicsMayBeSubscribed) {
  auto r = env_.Call("POST", "/api/v1/webhook_endpoints",
                     {{"url", "https://hooks.example/attendance"},
                      {"topics", {"appointment.attended", "appointment.no_show"}}},
                     env_.admin);
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(ApiTest, WebhookSecretIsShownOnce) {
  auto r = env_.Call("POST", "/api/v1/webhook_endpoints",
                     {{"url", "https://booking.example/hooks"}, {"topics", {"meeting.ready"}}},
                     env_.admin);
  ASSERT_EQ(r.status, 201) << r.body;
  std::string secret = ApiEnv::J(r)["secret"];
  EXPECT_TRUE(secret.starts_with("whsec_"));
  auto list = env_.Call("GET", "/api/v1/webhook_endpoints", nullptr, env_.admin);
  EXPECT_EQ(list.body.find(secret), std::string::npos);
  ExpectError(
      env_.Call("POST", "/api/v1/webhook_endpoints",
                {{"url", "https://booking.example/hooks"}, {"topics", {"meeting.exploded"}}},
                env_.admin),
      400, "invalid_argument", "topics");
  int64_t id = ApiEnv::J(r)["id"];
  auto patched = env_.Call("PATCH", "/api/v1/webhook_endpoints/" + std::to_string(id),
                           {{"active", false}}, env_.admin);
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(ApiEnv::J(patched)["active"], false);
  EXPECT_EQ(
      env_.Call("DELETE", "/api/v1/webhook_endpoints/" + std::to_string(id), nullptr, env_.admin)
          .status,
      204);
}

// An endpoint URL is checked against the destination policy when saved: the default one wants
// https and no internal IP address; names pass (their addresses are checked at delivery).
TEST_F(ApiTest, WebhookUrlsPointingInsideAreRefusedWhenSaved) {
  for (std::string url :
       {"http://booking.example/hooks", "https://127.0.0.1/hooks", "https://169.254.169.254/",
        "https://10.0.0.1/hooks", "https://[::1]/hooks", "https://[fd00::1]/hooks",
        "https://0.0.0.0/hooks", "https://2130706433/hooks"}) {
    ExpectError(env_.Call("POST", "/api/v1/webhook_endpoints", {{"url", url}}, env_.admin), 400,
                "invalid_argument", "url");
  }
  auto named = env_.Call("POST", "/api/v1/webhook_endpoints",
                         {{"url", "https://localhost:8443/hooks"}}, env_.admin);
  ASSERT_EQ(named.status, 201) << named.body;
  int64_t id = ApiEnv::J(named)["id"];
  ExpectError(env_.Call("PATCH", "/api/v1/webhook_endpoints/" + std::to_string(id),
                        {{"url", "https://192.168.1.10/hooks"}}, env_.admin),
              400, "invalid_argument", "url");
  ExpectError(env_.Call("PATCH", "/api/v1/webhook_endpoints/" + std::to_string(id),
                        {{"url", "http://booking.example/hooks"}}, env_.admin),
              400, "invalid_argument", "url");

  // Listed hosts and plain http are the operator's choice (webhooks.allowed_hosts, allow_http).
  env_.deps->options.webhook_destinations = {.allow_http = true, .allowed_hosts = {"10.0.0.1"}};
  EXPECT_EQ(env_.Call("POST", "/api/v1/webhook_endpoints", {{"url", "http://10.0.0.1:9000/in"}},
                      env_.admin)
                .status,
            201);
  ExpectError(env_.Call("POST", "/api/v1/webhook_endpoints", {{"url", "http://10.0.0.2:9000/in"}},
                        env_.admin),
              400, "invalid_argument", "url");
}

TEST_F(ApiTest, WebhookSecretRotationShowsTheNewSecretOnceAndKeepsTheOldOneForTheGrace) {
  auto created = env_.Call("POST", "/api/v1/webhook_endpoints",
                           {{"url", "https://booking.example/hooks"}}, env_.admin);
  ASSERT_EQ(created.status, 201);
  std::string first = ApiEnv::J(created)["secret"];
  EXPECT_TRUE(ApiEnv::J(created)["secret_rotated_at"].is_null());
  EXPECT_TRUE(ApiEnv::J(created)["previous_secret_expires_at"].is_null());
  std::string path =
      "/api/v1/webhook_endpoints/" + std::to_string(ApiEnv::J(created)["id"].get<int64_t>());

  auto rotated = env_.Call("POST", path + "/rotate_secret", {{"grace", 3600}}, env_.admin);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(rotated.headers.Get("Cache-Control").value_or(""), "no-store");
  json r = ApiEnv::J(rotated);
  std::string second = r["secret"];
  EXPECT_TRUE(second.starts_with("whsec_"));
  EXPECT_NE(second, first);
  EXPECT_EQ(r["secret_rotated_at"], "2026-05-28T20:26:40Z");
  EXPECT_EQ(r["previous_secret_expires_at"], "2026-05-28T21:26:40Z");

  // Neither secret is ever shown again; the sealed ones stay in the store, bound to the endpoint.
  auto read = env_.Call("GET", path, nullptr, env_.admin);
  EXPECT_EQ(read.body.find(first), std::string::npos);
  EXPECT_EQ(read.body.find(second), std::string::npos);
  EXPECT_EQ(read.body.find("sealed"), std::string::npos);
  EXPECT_EQ(ApiEnv::J(read)["previous_secret_expires_at"], "2026-05-28T21:26:40Z");
  auto stored = env_.store().Read(
      [&](store::Tx& tx) { return tx.GetWebhookEndpoint(ApiEnv::J(created)["id"]); });
  ASSERT_TRUE(stored);
  int64_t id = stored->id;
  EXPECT_EQ(env_.keys.Open(stored->sealed_secret, WebhookSecretAad(id)).value_or(""), second);
  EXPECT_EQ(env_.keys.Open(stored->previous_sealed_secret, WebhookSecretAad(id)).value_or(""),
            first);

  // Without a body the grace is a day.
  auto again = env_.Call("POST", path + "/rotate_secret", nullptr, env_.admin);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(ApiEnv::J(again)["previous_secret_expires_at"], "2026-05-29T20:26:40Z");

  for (json bad : {json{{"grace", -1}}, json{{"grace", 604801}}, json{{"grace", "1h"}}}) {
    ExpectError(env_.Call("POST", path + "/rotate_secret", bad, env_.admin), 400,
                "invalid_argument", "grace");
  }
  ExpectError(env_.Call("POST", path + "/rotate_secret", {{"secret", "mine"}}, env_.admin), 400,
              "invalid_argument", "secret");
  ExpectError(env_.Call("POST", "/api/v1/webhook_endpoints/999/rotate_secret", nullptr, env_.admin),
              404, "not_found");
  // Admins only, and a session needs its CSRF token.
  ExpectError(env_.Call("POST", path + "/rotate_secret", nullptr, env_.write_key), 403,
              "permission_denied");
  Credentials no_csrf = env_.admin;
  no_csrf.csrf.clear();
  EXPECT_EQ(env_.Call("POST", path + "/rotate_secret", nullptr, no_csrf).status, 403);
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  ExpectError(env_.Call("POST", path + "/rotate_secret", nullptr, ada), 403, "permission_denied");
  // Each rotation is in the admin audit, without either secret.
  auto audit = env_.Call("GET", "/api/v1/audit?kind=webhook_endpoint", nullptr, env_.admin);
  ASSERT_EQ(audit.status, 200);
  int rotations = 0;
  const json entries = ApiEnv::J(audit)["data"];
  for (const auto& e : entries) {
    rotations += e["action"] == "webhook_endpoint.secret_rotated";
  }
  EXPECT_EQ(rotations, 2) << audit.body;
  EXPECT_EQ(audit.body.find(r["secret"].get<std::string>()), std::string::npos);
}

TEST(WebhookSignatureTest, VerifiesAndRefusesTamperingAndReplays) {
  Instant t = FromUnixSeconds(1'780'000'000);
  std::string h = SignatureHeaderValue("whsec_x", t, "{\"a\":1}");
  EXPECT_TRUE(h.starts_with("t=1780000000,v1="));
  EXPECT_TRUE(VerifySignature(h, "whsec_x", "{\"a\":1}", t));
  EXPECT_FALSE(VerifySignature(h, "whsec_x", "{\"a\":2}", t));
  EXPECT_FALSE(VerifySignature(h, "whsec_y", "{\"a\":1}", t));
  EXPECT_FALSE(VerifySignature(h, "whsec_x", "{\"a\":1}", t + std::chrono::minutes(6)));
  EXPECT_FALSE(VerifySignature("garbage", "whsec_x", "{\"a\":1}", t));
}

TEST(WebhookSignatureTest, DuringARotationEitherSecretVerifies) {
  Instant t = FromUnixSeconds(1'780'000'000);
  std::string h = SignatureHeaderValue("whsec_new", t, "{}", "whsec_old");
  std::string only_new = SignatureHeaderValue("whsec_new", t, "{}");
  EXPECT_TRUE(h.starts_with(only_new + ",v1=")) << h;  // the new secret's signature first
  EXPECT_TRUE(VerifySignature(h, "whsec_new", "{}", t));
  EXPECT_TRUE(VerifySignature(h, "whsec_old", "{}", t));
  EXPECT_FALSE(VerifySignature(h, "whsec_other", "{}", t));
  EXPECT_FALSE(VerifySignature(only_new, "whsec_old", "{}", t));
}

// --- The OpenAPI document matches the routes ---

TEST_F(ApiTest, OpenApiDocumentListsExactlyTheRegisteredRoutes) {
  json doc = json::parse(OpenApiDocument());
  EXPECT_TRUE(doc["openapi"].get<std::string>().starts_with("3."));
  std::set<std::string> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      documented.insert(ToLower(method) + " " + path);
    }
  }
  std::set<std::string> registered;
  for (const std::string& route : env_.router.Routes()) {
    size_t sp = route.find(' ');
    std::string path = route.substr(sp + 1);
    if (path.starts_with("/api/v1") || path.starts_with("/oauth/")) {
      registered.insert(ToLower(route.substr(0, sp)) + " " + path);
    }
  }
  for (const auto& r : registered) EXPECT_TRUE(documented.count(r)) << "undocumented: " << r;
  for (const auto& d : documented) EXPECT_TRUE(registered.count(d)) << "not registered: " << d;
  auto served = env_.Call("GET", "/api/v1/openapi.json", nullptr, {});
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, OpenApiDocument());
}

}  // namespace
}  // namespace telemeet::api
