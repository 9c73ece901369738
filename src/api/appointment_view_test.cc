// GET /api/v1/appointments/{id}, byte for byte: the answer is pinned so that how it is read
// (one query since issue 19, four before) cannot change what clients get, nor who may read it.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "api/testing_env.h"
#include "api/view_cache.h"
#include "core/time.h"

namespace telemeet::api {
namespace {

using nlohmann::json;
using testing::ApiEnv;
using testing::Credentials;

class AppointmentViewTest : public ::testing::Test {
 protected:
  // Dr Ada (Europe/Berlin) and Dr Bob, a 20-minute video service, a patient; one appointment of
  // Ada's booked by the write key.
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
    id_ = Create("/api/v1/appointments", {{"doctor_id", doctor_},
                                          {"service_id", service_},
                                          {"patient_id", patient_},
                                          {"start", "2026-06-02T09:00:00Z"},
                                          {"notes", "bring \"the\" scans \u00e9"},
                                          {"external_ref", "kc-77"}});
    path_ = "/api/v1/appointments/" + std::to_string(id_);
  }

  int64_t Create(const std::string& path, const json& body) {
    auto r = env_.Call("POST", path, body, env_.write_key);
    EXPECT_EQ(r.status, 201) << path << " " << r.body;
    return ApiEnv::J(r)["id"].get<int64_t>();
  }

  Credentials DoctorSession(int64_t doctor, const std::string& email) {
    auto r = env_.Call("POST", "/api/v1/users",
                       {{"email", email},
                        {"password", "doctor password 1"},
                        {"role", "doctor"},
                        {"doctor_id", doctor}},
                       env_.admin);
    EXPECT_EQ(r.status, 201) << r.body;
    return env_.Login(email, "doctor password 1");
  }

  // The body, with the appointment's random uid written as UID.
  std::string Get(const std::string& path, const Credentials& who, int status = 200) {
    auto r = env_.Call("GET", path, nullptr, who);
    EXPECT_EQ(r.status, status) << r.body;
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("uid")) {
      const std::string uid = j["uid"];
      if (size_t at = r.body.find(uid); at != std::string::npos)
        r.body.replace(at, uid.size(), "UID");
    }
    return r.body;
  }

  ApiEnv env_;
  int64_t doctor_ = 0, other_doctor_ = 0, service_ = 0, patient_ = 0, id_ = 0;
  std::string path_;
};

// The appointment as booked: no meeting yet, its reconcile job due now, the link without url.
TEST_F(AppointmentViewTest, AsBookedTheBodyIsExactlyThePinnedOne) {
  EXPECT_EQ(
      Get(path_, env_.read_key),
      R"({"access_link":{"expires_at":"2026-06-09T09:20:00Z","id":1,"url":null},)"
      R"("attendance":null,"created_at":"2026-05-28T20:26:40Z","doctor_id":1,)"
      R"("end":"2026-06-02T09:20:00Z","external_ref":"kc-77","id":1,)"
      R"("meeting":{"access_type":null,"appointment_id":1,"attempts":0,"changed_in_google":null,)"
      R"("event_id":null,"event_url":null,"join_url":null,"last_error":null,)"
      R"("next_run_at":"2026-05-28T20:26:40Z","object":"meeting","parked":false,)"
      R"("state":"not_needed","syncing":true,"updated_at":null},"notes":"bring \"the\" scans é",)"
      R"("object":"appointment","patient_id":1,"revision":1,"series_id":null,)"
      R"("service_id":1,"start":"2026-06-02T09:00:00Z","status":"booked",)"
      R"("time_zone":"Europe/Berlin","uid":"UID","updated_at":"2026-05-28T20:26:40Z"})");
}

// With a ready meeting, a job parked after failures and several links (one revoked, newer than
// the live one), every field is pinned: the link shown is the newest one not revoked.
TEST_F(AppointmentViewTest, WithMeetingJobAndLinksTheBodyIsExactlyThePinnedOne) {
  env_.clock.Advance(std::chrono::minutes(3));
  Status put = env_.store().Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.PutMeeting({.appointment_id = id_,
                          .doctor_id = doctor_,
                          .state = core::MeetingState::kReady,
                          .event_id = "tmabc123",
                          .join_url = "https://meet.google.com/abc-defg-hij",
                          .event_url = "https://calendar.google.com/event?eid=x",
                          .attempts = 2,
                          .last_error = "quota: try later"}));
    TM_TRY(tx.ParkDoctorJobs(doctor_, "needs reconnect"));
    TM_TRY(tx.CreateAccessLink({.appointment_id = id_,
                                .token_hash = "live-newer",
                                .expires_at = *core::ParseRfc3339("2026-07-01T10:00:00.5Z")}));
    auto revoked =
        TM_TRY(tx.CreateAccessLink({.appointment_id = id_,
                                    .token_hash = "revoked-newest",
                                    .expires_at = env_.clock.Now() + std::chrono::hours(1)}));
    TM_TRY(tx.RevokeAccessLink(revoked.id));
    // What Meet told (issue 18): a summary in counts and times, the space's access type.
    core::AttendanceRecord seen{.appointment_id = id_,
                                .state = core::AttendanceState::kFinal,
                                .outcome = core::AttendanceOutcome::kAttended,
                                .polls = 1};
    seen.facts.conferences = 1;
    seen.facts.doctor_joined = true;
    seen.facts.others_joined = 1;
    seen.facts.overlap = std::chrono::minutes(20);
    seen.facts.first_join = *core::ParseRfc3339("2026-06-02T08:59:00Z");
    seen.facts.last_leave = *core::ParseRfc3339("2026-06-02T09:21:00Z");
    seen.checked_at = env_.clock.Now();
    TM_TRY(tx.PutAttendance(seen));
    TM_TRY(tx.PutMeetingAccess({.appointment_id = id_,
                                .meeting_code = "abc-defg-hij",
                                .wanted = "RESTRICTED",
                                .applied = "RESTRICTED",
                                .state = "applied"}));
    return Ok();
  });
  ASSERT_TRUE(put) << put.error().message();
  EXPECT_EQ(Get(path_, env_.read_key),
            R"({"access_link":{"expires_at":"2026-07-01T10:00:00.500000Z","id":2,"url":null},)"
            R"("attendance":{"action":null,"checked_at":"2026-05-28T20:29:40Z","conferences":1,)"
            R"("doctor_joined":true,"error":null,"first_join":"2026-06-02T08:59:00Z",)"
            R"("last_leave":"2026-06-02T09:21:00Z","next_check_at":null,"others_joined":1,)"
            R"("outcome":"attended","overlap_minutes":20,"polls":1,"running":false,)"
            R"("state":"final"},"created_at":"2026-05-28T20:26:40Z","doctor_id":1,)"
            R"("end":"2026-06-02T09:20:00Z","external_ref":"kc-77","id":1,)"
            R"("meeting":{"access_type":{"applied":"restricted","error":null,"state":"applied",)"
            R"("updated_at":"2026-05-28T20:29:40Z","wanted":"restricted"},)"
            R"("appointment_id":1,"attempts":2,"changed_in_google":null,)"
            R"("event_id":"tmabc123","event_url":"https://calendar.google.com/event?eid=x",)"
            R"("join_url":"https://meet.google.com/abc-defg-hij",)"
            R"("last_error":"quota: try later","next_run_at":null,"object":"meeting",)"
            R"("parked":true,"state":"ready","syncing":false,"updated_at":"2026-05-28T20:29:40Z"},)"
            R"("notes":"bring \"the\" scans é","object":"appointment","patient_id":1,)"
            R"("revision":1,"series_id":null,"service_id":1,"start":"2026-06-02T09:00:00Z",)"
            R"("status":"booked","time_zone":"Europe/Berlin","uid":"UID",)"
            R"("updated_at":"2026-05-28T20:26:40Z"})");
  // The list renders the same shape through nlohmann (api/views.cc: one template, two
  // writers), the meeting route the part of it it shows.
  auto one = env_.Call("GET", path_, nullptr, env_.read_key);
  auto list = env_.Call("GET", "/api/v1/appointments", nullptr, env_.read_key);
  auto meeting = env_.Call("GET", path_ + "/meeting", nullptr, env_.read_key);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(meeting.status, 200) << meeting.body;
  EXPECT_EQ(ApiEnv::J(list)["data"][0], ApiEnv::J(one));
  EXPECT_EQ(ApiEnv::J(meeting), ApiEnv::J(one)["meeting"]);
  EXPECT_NE(one.body.find(R"("meeting":)" + meeting.body + R"(,"notes")"), std::string::npos)
      << "the same bytes: " << meeting.body;
}

// A job that is due again after a retry shows when; a meeting still waiting for its conference
// shows no link; an appointment whose links are all revoked shows access_link null.
TEST_F(AppointmentViewTest, PendingMeetingRetriedJobAndNoLiveLink) {
  ASSERT_TRUE(env_.store().Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.PutMeeting({.appointment_id = id_,
                          .doctor_id = doctor_,
                          .state = core::MeetingState::kConferencePending,
                          .event_id = "tmabc123",
                          .join_url = "https://meet.google.com/abc-defg-hij"}));
    for (const core::AccessLink& l : TM_TRY(tx.ListAccessLinks(id_))) {
      TM_TRY(tx.RevokeAccessLink(l.id));
    }
    store::LeaseRequest lease;
    lease.owner = "test";
    auto jobs = TM_TRY(tx.LeaseJobs(lease));
    if (jobs.size() != 1) return Fail(ErrorCode::kInternal, "expected the one reconcile job");
    TM_TRY(tx.RetryJob(jobs[0], env_.clock.Now() + std::chrono::seconds(90), "timeout"));
    return Ok();
  }));
  EXPECT_EQ(
      Get(path_, env_.read_key),
      R"({"access_link":null,"attendance":null,"created_at":"2026-05-28T20:26:40Z","doctor_id":1,)"
      R"("end":"2026-06-02T09:20:00Z","external_ref":"kc-77","id":1,)"
      R"("meeting":{"access_type":null,"appointment_id":1,"attempts":0,"changed_in_google":null,)"
      R"("event_id":"tmabc123","event_url":null,"join_url":null,"last_error":null,)"
      R"("next_run_at":"2026-05-28T20:28:10Z","object":"meeting","parked":false,)"
      R"("state":"conference_pending","syncing":true,"updated_at":"2026-05-28T20:26:40Z"},)"
      R"("notes":"bring \"the\" scans é","object":"appointment","patient_id":1,)"
      R"("revision":1,"series_id":null,"service_id":1,"start":"2026-06-02T09:00:00Z",)"
      R"("status":"booked","time_zone":"Europe/Berlin","uid":"UID",)"
      R"("updated_at":"2026-05-28T20:26:40Z"})");
}

// Who may read is unchanged: a doctor reads their own; another doctor's id and an unknown id
// answer exactly as before (403 and 404, with the same bodies).
TEST_F(AppointmentViewTest, ADoctorReadsOnlyTheirOwnAndUnknownIdsAre404) {
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  Credentials bob = DoctorSession(other_doctor_, "bob.user@clinic.example");
  EXPECT_EQ(Get(path_, ada), Get(path_, env_.read_key));
  EXPECT_EQ(Get(path_, bob, 403),
            R"({"error":{"code":"permission_denied",)"
            R"("message":"a doctor may only see and change their own data"}})");
  EXPECT_EQ(Get("/api/v1/appointments/999", bob, 404),
            R"({"error":{"code":"not_found","message":"appointment 999 does not exist"}})");
  EXPECT_EQ(Get("/api/v1/appointments/999", env_.read_key, 404),
            R"({"error":{"code":"not_found","message":"appointment 999 does not exist"}})");
  EXPECT_EQ(Get("/api/v1/appointments/0", env_.read_key, 404),
            R"({"error":{"code":"not_found","message":"appointment 0 does not exist"}})");
}

// Answers are kept between commits (view_cache.h), never past one: whoever commits, through
// this store, another connection to the file (a CLI command's) or a refused write that commits
// nothing, the next GET answers what the database holds.
TEST_F(AppointmentViewTest, AKeptAnswerNeverOutlivesACommit) {
  const std::string booked = Get(path_, env_.read_key);
  EXPECT_EQ(env_.deps->view_cache->size(), 1u) << "the answer is kept";
  EXPECT_EQ(Get(path_, env_.read_key), booked);

  // A commit of the routes' own store.
  ASSERT_TRUE(env_.store().Transact(
      [&](store::Tx& tx) { return tx.SetAppointmentExternalRef(id_, "kc-78"); }));
  EXPECT_NE(Get(path_, env_.read_key).find(R"("external_ref":"kc-78")"), std::string::npos);

  // A commit through another connection, as `telemeet backfill` beside serve: the meeting it
  // made shows at once.
  auto cli = store::OpenStore(env_.store_url(), env_.clock);
  ASSERT_TRUE(cli) << cli.error().ToString();
  ASSERT_TRUE((*cli)->Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.PutMeeting({.appointment_id = id_,
                          .doctor_id = doctor_,
                          .state = core::MeetingState::kReady,
                          .event_id = "tmcli1",
                          .join_url = "https://meet.google.com/cli-made-now"}));
    return Ok();
  }));
  EXPECT_NE(Get(path_, env_.read_key).find("https://meet.google.com/cli-made-now"),
            std::string::npos);
  EXPECT_NE(Get(path_ + "/meeting", env_.read_key).find("https://meet.google.com/cli-made-now"),
            std::string::npos);
  EXPECT_EQ(env_.deps->meeting_cache->size(), 1u);
  ASSERT_TRUE((*cli)->Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.PutMeeting({.appointment_id = id_,
                          .doctor_id = doctor_,
                          .state = core::MeetingState::kReady,
                          .event_id = "tmcli1",
                          .join_url = "https://meet.google.com/cli-made-later"}));
    return Ok();
  }));
  EXPECT_NE(Get(path_ + "/meeting", env_.read_key).find("https://meet.google.com/cli-made-later"),
            std::string::npos);

  // Through the API (cancel), then again through the other connection.
  ASSERT_EQ(env_.Call("POST", path_ + "/cancel", nullptr, env_.write_key).status, 200);
  EXPECT_NE(Get(path_, env_.read_key).find(R"("status":"cancelled")"), std::string::npos);
  ASSERT_TRUE(
      (*cli)->Transact([&](store::Tx& tx) { return tx.SetAppointmentExternalRef(id_, "kc-79"); }));
  EXPECT_NE(Get(path_, env_.read_key).find(R"("external_ref":"kc-79")"), std::string::npos);
}

// Under load: readers on two threads GET while a writer on another connection commits 150
// changes; every answer shows at least the change committed before its GET began (a kept
// answer older than a commit would show an earlier one).
TEST_F(AppointmentViewTest, ReadersBesideAWriterNeverSeeAnAnswerOlderThanTheirStart) {
  auto writer_store = store::OpenStore(env_.store_url(), env_.clock);
  ASSERT_TRUE(writer_store) << writer_store.error().ToString();
  constexpr int kChanges = 150;
  std::atomic<int> committed{0};
  std::atomic<int> stale{0}, answers{0};
  std::atomic<bool> done{false};
  auto reader = [&] {
    while (!done.load()) {
      const int before = committed.load();
      auto r = env_.Call("GET", path_, nullptr, env_.read_key);
      if (r.status != 200) {
        stale.fetch_add(1);
        continue;
      }
      const std::string ref = ApiEnv::J(r)["external_ref"].get<std::string>();
      const int seen = ref.starts_with("n") ? std::stoi(ref.substr(1)) : 0;
      answers.fetch_add(1);
      if (seen < before) stale.fetch_add(1);
    }
  };
  std::thread a(reader), b(reader);
  for (int i = 1; i <= kChanges; ++i) {
    ASSERT_TRUE((*writer_store)->Transact([&](store::Tx& tx) {
      return tx.SetAppointmentExternalRef(id_, "n" + std::to_string(i));
    }));
    committed.store(i);
    if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  done.store(true);
  a.join();
  b.join();
  EXPECT_EQ(stale.load(), 0) << "of " << answers.load() << " answers";
  EXPECT_GT(answers.load(), kChanges / 10);
  EXPECT_NE(Get(path_, env_.read_key).find(R"("external_ref":"n150")"), std::string::npos);
}

// A kept answer is authorized for each caller as a read one is: kept after the admin's read,
// another doctor still gets 403 and the owner the same body.
TEST_F(AppointmentViewTest, AKeptAnswerIsAuthorizedForEveryCaller) {
  Credentials ada = DoctorSession(doctor_, "ada.user@clinic.example");
  Credentials bob = DoctorSession(other_doctor_, "bob.user@clinic.example");
  const std::string body = Get(path_, env_.read_key);
  ASSERT_EQ(env_.deps->view_cache->size(), 1u);
  EXPECT_EQ(Get(path_, bob, 403),
            R"({"error":{"code":"permission_denied",)"
            R"("message":"a doctor may only see and change their own data"}})");
  EXPECT_EQ(Get(path_, ada), body);
  EXPECT_EQ(Get(path_, bob, 403),
            R"({"error":{"code":"permission_denied",)"
            R"("message":"a doctor may only see and change their own data"}})");
  // The meeting's answer the same way.
  const std::string meeting = Get(path_ + "/meeting", env_.read_key);
  ASSERT_EQ(env_.deps->meeting_cache->size(), 1u);
  EXPECT_EQ(Get(path_ + "/meeting", bob, 403),
            R"({"error":{"code":"permission_denied",)"
            R"("message":"a doctor may only see and change their own data"}})");
  EXPECT_EQ(Get(path_ + "/meeting", ada), meeting);
  EXPECT_EQ(Get("/api/v1/appointments/999/meeting", ada, 404),
            R"({"error":{"code":"not_found","message":"appointment 999 does not exist"}})");
}

// The cache by itself: answers of one mark, a newer mark drops them all (an older answer is
// never found again), no mark keeps nothing, and it holds at most its capacity.
TEST(AppointmentViewCacheTest, KeepsTheAnswersOfOneMarkUpToItsCapacity) {
  store::CommitMark before, after;
  before.words[2] = 7;
  after.words[2] = 8;
  obs::Counter hits, misses;
  AppointmentViewCache cache(2, &hits, &misses);
  cache.Put(1, std::nullopt, {10, "unknown mark"});
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Find(1, std::nullopt));

  cache.Put(1, before, {10, "one"});
  cache.Put(2, before, {11, "two"});
  cache.Put(3, before, {12, "three"});
  EXPECT_EQ(cache.size(), 2u) << "full: the third is not kept";
  cache.Put(2, before, {11, "two again"});
  auto two = cache.Find(2, before);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->doctor_id, 11);
  EXPECT_EQ(two->body, "two again");
  EXPECT_FALSE(cache.Find(3, before));
  EXPECT_FALSE(cache.Find(2, std::nullopt));

  EXPECT_FALSE(cache.Find(1, after)) << "committed since: not valid";
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Find(1, before)) << "dropped for good";
  // An answer read before a commit that a newer reader already saw does not come back either.
  cache.Put(1, after, {10, "new"});
  cache.Put(2, before, {11, "late, old"});
  EXPECT_FALSE(cache.Find(2, after));
  EXPECT_FALSE(cache.Find(1, after));
  EXPECT_EQ(hits.Value(), 1u);
  EXPECT_EQ(misses.Value(), 7u);
}

}  // namespace
}  // namespace telemeet::api
