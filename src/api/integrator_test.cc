// What a booking system integrating with telemeet relies on (issue 16, M21): an Idempotency-Key
// on every POST that creates something, and its own ids (external_ref) on doctors, services,
// patients and appointments, found again by ?external_ref=.
#include <gtest/gtest.h>

#include "api/testing_env.h"

namespace telemeet::api {
namespace {

using nlohmann::json;
using testing::ApiEnv;
using testing::Credentials;

class IntegratorTest : public ::testing::Test {
 protected:
  net::Response Post(const std::string& path, const json& body, const Credentials& who,
                     std::string_view key = "") {
    net::Headers h;
    if (!key.empty()) h.Set("Idempotency-Key", std::string(key));
    return env_.Call("POST", path, body, who, h);
  }
  size_t Count(const std::string& path, const Credentials& who) {
    return ApiEnv::J(env_.Call("GET", path + "?limit=100", nullptr, who))["data"].size();
  }
  int64_t MakeDoctor(std::string email, std::string ref = "") {
    json body = {{"name", "Dr. " + email}, {"email", email}};
    if (!ref.empty()) body["external_ref"] = ref;
    auto r = Post("/api/v1/doctors", body, env_.write_key);
    EXPECT_EQ(r.status, 201) << r.body;
    return ApiEnv::J(r)["id"];
  }

  ApiEnv env_;
};

struct CreateCase {
  std::string path;
  json body;
  json other_body;  // the same key with this body is another request
  bool admin = false;
  std::string secret_field;  // shown once: null in a replay
};

// Each create, retried with its key, answers the first answer (same id, marked replayed) and
// makes nothing new; the key with another body is refused naming the header; without a key a
// retry creates again (the key is what makes a request the same one).
TEST_F(IntegratorTest, EveryCreateAnswersARetryWithTheFirstAnswer) {
  const int64_t doctor = MakeDoctor("first@clinic.example");
  const std::vector<CreateCase> cases = {
      {"/api/v1/doctors",
       {{"name", "Dr. Idem"}, {"email", "idem@clinic.example"}},
       {{"name", "Dr. Other"}, {"email", "other@clinic.example"}}},
      {"/api/v1/services", {{"name", "Video"}}, {{"name", "Phone"}}},
      {"/api/v1/patients", {{"name", "Mary"}}, {{"name", "Ann"}}},
      {"/api/v1/users",
       {{"email", "doc@clinic.example"},
        {"role", "doctor"},
        {"doctor_id", doctor},
        {"password", "a long enough password"}},
       {{"email", "doc2@clinic.example"},
        {"role", "doctor"},
        {"doctor_id", doctor},
        {"password", "a long enough password"}},
       true},
      {"/api/v1/api_keys",
       {{"name", "kivicare"}, {"scopes", {"read", "write"}}},
       {{"name", "kivicare"}, {"scopes", {"read"}}},
       true,
       "secret"},
      {"/api/v1/webhook_endpoints",
       {{"url", "https://booking.example/hooks"}},
       {{"url", "https://booking.example/other"}},
       true,
       "secret"},
  };
  for (const CreateCase& c : cases) {
    SCOPED_TRACE(c.path);
    const Credentials& who = c.admin ? env_.admin : env_.write_key;
    const size_t before = Count(c.path, env_.admin);
    auto first = Post(c.path, c.body, who, "create-1");
    ASSERT_EQ(first.status, 201) << first.body;
    EXPECT_FALSE(first.headers.Has("Idempotent-Replayed"));
    auto retry = Post(c.path, c.body, who, "create-1");
    ASSERT_EQ(retry.status, 201) << retry.body;
    EXPECT_EQ(retry.headers.Get("Idempotent-Replayed").value_or(""), "true");
    EXPECT_EQ(ApiEnv::J(retry)["id"], ApiEnv::J(first)["id"]);
    if (!c.secret_field.empty()) {
      EXPECT_TRUE(ApiEnv::J(first)[c.secret_field].is_string());
      EXPECT_TRUE(ApiEnv::J(retry)[c.secret_field].is_null()) << retry.body;
      EXPECT_EQ(retry.body.find(ApiEnv::J(first)[c.secret_field].get<std::string>()),
                std::string::npos);
    }
    EXPECT_EQ(Count(c.path, env_.admin), before + 1);
    auto reused = Post(c.path, c.other_body, who, "create-1");
    EXPECT_EQ(reused.status, 422) << reused.body;
    EXPECT_EQ(ApiEnv::J(reused)["error"]["code"], "idempotency_key_reused");
    EXPECT_EQ(ApiEnv::J(reused)["error"]["field"], "Idempotency-Key");
    EXPECT_EQ(Count(c.path, env_.admin), before + 1);
    auto bad = Post(c.path, c.other_body, who, std::string(256, 'k'));
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(ApiEnv::J(bad)["error"]["field"], "Idempotency-Key");
    EXPECT_EQ(Count(c.path, env_.admin), before + 1);
  }
}

// The stored answer of a user create keeps no trace of the password: a retry with another
// password is the same request and creates nothing.
TEST_F(IntegratorTest, AUserRetryIsTheSameRequestWhateverThePassword) {
  json body = {
      {"email", "admin2@clinic.example"}, {"role", "admin"}, {"password", "first long password"}};
  auto first = Post("/api/v1/users", body, env_.admin, "user-1");
  ASSERT_EQ(first.status, 201) << first.body;
  body["password"] = "second long password";
  auto retry = Post("/api/v1/users", body, env_.admin, "user-1");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(ApiEnv::J(retry)["id"], ApiEnv::J(first)["id"]);
  EXPECT_TRUE(env_.Login("admin2@clinic.example", "first long password").csrf.size() > 0);
  EXPECT_TRUE(env_.Login("admin2@clinic.example", "second long password").csrf.empty());
}

// A failed create is not remembered: the retry, once the cause is gone, creates.
TEST_F(IntegratorTest, AFailedCreateIsNotRememberedUnderItsKey) {
  MakeDoctor("taken@clinic.example");
  json body = {{"name", "Dr. Taken"}, {"email", "taken@clinic.example"}};
  EXPECT_EQ(Post("/api/v1/doctors", body, env_.write_key, "doc-9").status, 409);
  body["email"] = "free@clinic.example";
  // Another body under the key that failed: no earlier answer stands in the way.
  EXPECT_EQ(Post("/api/v1/doctors", body, env_.write_key, "doc-9").status, 201);
}

TEST_F(IntegratorTest, ExternalRefsAreSetFoundChangedAndUniquePerKind) {
  const int64_t doctor = MakeDoctor("anna@clinic.example", "kivicare:doctor:12");
  auto found = ApiEnv::J(env_.Call("GET", "/api/v1/doctors?external_ref=kivicare%3Adoctor%3A12",
                                   nullptr, env_.read_key));
  ASSERT_EQ(found["data"].size(), 1u) << found;
  EXPECT_EQ(found["data"][0]["id"], doctor);
  EXPECT_EQ(found["data"][0]["external_ref"], "kivicare:doctor:12");
  EXPECT_TRUE(found["next_cursor"].is_null());
  auto none = ApiEnv::J(
      env_.Call("GET", "/api/v1/doctors?external_ref=kivicare:doctor:13", nullptr, env_.read_key));
  EXPECT_TRUE(none["data"].empty());

  // Taken within a kind: 409 naming the field, nothing created.
  auto dup = Post(
      "/api/v1/doctors",
      {{"name", "Dr. B"}, {"email", "b@clinic.example"}, {"external_ref", "kivicare:doctor:12"}},
      env_.write_key);
  EXPECT_EQ(dup.status, 409) << dup.body;
  EXPECT_EQ(ApiEnv::J(dup)["error"]["field"], "external_ref");
  // Across kinds the same text is fine.
  auto service = Post("/api/v1/services",
                      {{"name", "Video"}, {"external_ref", "kivicare:doctor:12"}}, env_.write_key);
  ASSERT_EQ(service.status, 201) << service.body;
  auto patient = Post("/api/v1/patients", {{"name", "Mary"}, {"external_ref", "kc:patient:7"}},
                      env_.write_key);
  ASSERT_EQ(patient.status, 201) << patient.body;
  const int64_t patient_id = ApiEnv::J(patient)["id"];
  EXPECT_EQ(ApiEnv::J(env_.Call("GET", "/api/v1/patients?external_ref=kc:patient:7", nullptr,
                                env_.read_key))["data"][0]["id"],
            patient_id);
  EXPECT_EQ(ApiEnv::J(env_.Call("GET", "/api/v1/services?external_ref=kivicare:doctor:12", nullptr,
                                env_.read_key))["data"][0]["id"],
            ApiEnv::J(service)["id"]);

  // PATCH changes it ("" removes it); bad values are refused naming the field.
  auto moved = env_.Call("PATCH", "/api/v1/patients/" + std::to_string(patient_id),
                         {{"external_ref", "kc:patient:8"}}, env_.write_key);
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_TRUE(ApiEnv::J(env_.Call("GET", "/api/v1/patients?external_ref=kc:patient:7", nullptr,
                                  env_.read_key))["data"]
                  .empty());
  for (const json& bad :
       {json(std::string(201, 'x')), json("tab\there"), json(" padded"), json(12)}) {
    auto r = env_.Call("PATCH", "/api/v1/patients/" + std::to_string(patient_id),
                       {{"external_ref", bad}}, env_.write_key);
    EXPECT_EQ(r.status, 400) << bad << r.body;
    EXPECT_EQ(ApiEnv::J(r)["error"]["field"], "external_ref");
  }
  auto cleared = env_.Call("PATCH", "/api/v1/patients/" + std::to_string(patient_id),
                           {{"external_ref", ""}}, env_.write_key);
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_TRUE(ApiEnv::J(cleared)["external_ref"].is_null());

  // Appointments: at create, by PATCH (no new revision: the event does not carry it), found.
  json booking = {{"doctor_id", doctor},
                  {"service_id", ApiEnv::J(service)["id"]},
                  {"patient_id", patient_id},
                  {"start", "2026-06-02T09:00:00Z"},
                  {"external_ref", "kc:appointment:1"}};
  auto a = Post("/api/v1/appointments", booking, env_.write_key);
  ASSERT_EQ(a.status, 201) << a.body;
  const int64_t appointment = ApiEnv::J(a)["id"];
  EXPECT_EQ(ApiEnv::J(a)["external_ref"], "kc:appointment:1");
  booking["start"] = "2026-06-03T09:00:00Z";
  auto second = Post("/api/v1/appointments", booking, env_.write_key);
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(ApiEnv::J(second)["error"]["field"], "external_ref");
  const std::string path = "/api/v1/appointments/" + std::to_string(appointment);
  auto patched = env_.Call("PATCH", path, {{"external_ref", "kc:appointment:2"}}, env_.write_key);
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(ApiEnv::J(patched)["revision"], ApiEnv::J(a)["revision"]);
  auto by_ref = ApiEnv::J(env_.Call("GET", "/api/v1/appointments?external_ref=kc:appointment:2",
                                    nullptr, env_.read_key));
  ASSERT_EQ(by_ref["data"].size(), 1u);
  EXPECT_EQ(by_ref["data"][0]["id"], appointment);
  EXPECT_EQ(env_.Call("PATCH", path, {{"notes", "x"}}, env_.write_key).status, 400);
  auto audit = ApiEnv::J(env_.Call("GET", path + "/audit", nullptr, env_.read_key));
  EXPECT_NE(audit.dump().find("appointment.external_ref_changed"), std::string::npos) << audit;
}

// A doctor's lookups find only what the doctor may see, like the lists without the filter.
TEST_F(IntegratorTest, ADoctorFindsOnlyTheirOwnRecordsByExternalRef) {
  const int64_t anna = MakeDoctor("anna@clinic.example", "kc:doctor:1");
  MakeDoctor("ben@clinic.example", "kc:doctor:2");
  ASSERT_EQ(Post("/api/v1/users",
                 {{"email", "anna.user@clinic.example"},
                  {"role", "doctor"},
                  {"doctor_id", anna},
                  {"password", "anna's long password"}},
                 env_.admin)
                .status,
            201);
  Credentials doc = env_.Login("anna.user@clinic.example", "anna's long password");
  ASSERT_FALSE(doc.cookie.empty());
  EXPECT_EQ(
      ApiEnv::J(env_.Call("GET", "/api/v1/doctors?external_ref=kc:doctor:1", nullptr, doc))["data"]
          .size(),
      1u);
  EXPECT_TRUE(
      ApiEnv::J(env_.Call("GET", "/api/v1/doctors?external_ref=kc:doctor:2", nullptr, doc))["data"]
          .empty());
  // Patients: only the doctor's own are found; another's answers as one that does not exist.
  ASSERT_EQ(Post("/api/v1/patients", {{"name", "Not Anna's"}, {"external_ref", "kc:patient:1"}},
                 env_.write_key)
                .status,
            201);
  auto stranger = env_.Call("GET", "/api/v1/patients?external_ref=kc:patient:1", nullptr, doc);
  ASSERT_EQ(stranger.status, 200) << stranger.body;
  EXPECT_TRUE(ApiEnv::J(stranger)["data"].empty()) << stranger.body;
  EXPECT_EQ(ApiEnv::J(env_.Call("GET", "/api/v1/patients?external_ref=kc:patient:1", nullptr,
                                env_.admin))["data"]
                .size(),
            1u);
}

}  // namespace
}  // namespace telemeet::api
