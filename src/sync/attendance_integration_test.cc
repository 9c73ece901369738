// Attendance and access type (issue 18) against the real emulator: fake-google in-process on
// port 0 serving Calendar and Meet REST v2, real HTTP, the real OAuth client and TokenProvider,
// the doctor's grant made through the consent flow with the Meet scopes asked for by incremental
// authorization, the reconciler scheduling the meet job and a MeetWork worker running it, on a
// real store (every case on SQLite and PostgreSQL). Conferences are scripted through the
// emulator's Meet control seam with explicit times; the schedule is shortened to milliseconds.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "base/strings.h"
#include "core/time.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "emulator/server/fake_google.h"
#include "google/calendar_client.h"
#include "google/http_transport.h"
#include "google/meet_client.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "sync/attendance.h"
#include "sync/grant_store_adapter.h"
#include "sync/reconciler.h"
#include "sync/testing/google_fixture.h"
#include "sync/testing_util.h"
#include "sync/worker.h"

namespace telemeet::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kClientId = "telemeet-attendance-test.apps.example";
const std::string kSecret = "attendance-test-secret";
const std::string kDoctorEmail = "who@clinic.example";

class AttendanceIntegrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_NE(store_.operator->(), nullptr) << "no store";
    emulator::FakeGoogleOptions options =
        testing::EmulatorFor(kClientId, kSecret, {{kDoctorEmail, "", "Dr Who"}});
    google_ = std::make_unique<emulator::FakeGoogle>(options, clock_);
    ASSERT_TRUE(google_->Start());
    const std::string base = google_->base_url();
    ASSERT_TRUE(keys_.Add("k1", crypto::RandomBytes(32)));

    const google::OAuthConfig oauth_config = testing::OAuthAt(base, kClientId, kSecret);
    oauth_ = std::make_unique<google::OAuthClient>(
        oauth_config, google::OAuthDeps{transport_, clock_, retry_, &calls_});
    tokens_ = std::make_unique<google::TokenProvider>(*oauth_, grants_, keys_, clock_);
    google::CalendarOptions calendar_options;
    calendar_options.base_url = base;
    calendar_ = std::make_unique<google::CalendarClient>(
        calendar_options,
        google::CalendarDeps{transport_, *tokens_, retry_, clock_, google::RealSleeper::Instance(),
                             &limiter_, &calls_});
    meet_ = std::make_unique<google::MeetClient>(google::MeetOptions{.base_url = base},
                                                 google::MeetDeps{.transport = transport_,
                                                                  .tokens = *tokens_,
                                                                  .retry = retry_,
                                                                  .clock = clock_,
                                                                  .limiter = &limiter_,
                                                                  .observer = &calls_});
    clinic_ = testing::MakeClinic(*store_, kDoctorEmail);

    ReconcilerOptions r;
    r.poll_base = milliseconds(30);
    r.poll_max = milliseconds(200);
    r.retry_base = milliseconds(30);
    r.retry_max = milliseconds(200);
    r.actor = "worker:test";
    r.meet_work = core::MeetPolicy{};  // off, as MeetWorkOptions' defaults below: the settings say
    reconciler_ = std::make_unique<Reconciler>(*store_, *calendar_, calls_, clock_, r);
    WorkerOptions w;
    w.threads = 2;
    w.poll_interval = milliseconds(20);
    w.lease_for = seconds(30);
    worker_ = std::make_unique<Worker>(*store_, *reconciler_, clock_, w);

    MeetWorkOptions m;
    m.schedule = {.grace = milliseconds(0),
                  .polls = 3,
                  .interval = milliseconds(150),
                  .max_wait = minutes(60)};
    m.retry_base = milliseconds(30);
    m.retry_max = milliseconds(200);
    m.actor = "worker:test";
    meet_work_ = std::make_unique<MeetWork>(*store_, *meet_, calls_, clock_, m);
    WorkerOptions mw = w;
    mw.kind = std::string(kMeetJobKind);
    meet_worker_ = std::make_unique<Worker>(*store_, *meet_work_, clock_, mw);
  }

  void TearDown() override {
    if (worker_) worker_->Stop();
    if (meet_worker_) meet_worker_->Stop();
    if (google_) google_->Stop();
  }

  void Start() {
    worker_->Start();
    meet_worker_->Start();
  }

  std::string DoctorKey() const { return std::to_string(clinic_.doctor.id); }

  // The connect flow with the Meet features asked for on top of the calendar, and what the
  // OAuth callback keeps: the grant, and the doctor's Google id from the ID token.
  void Connect(const std::vector<std::string>& features) {
    std::vector<std::string> extra;
    for (const std::string& f : features) {
      for (std::string& s : MeetFeatureScopes(f)) extra.push_back(std::move(s));
    }
    auto grant = testing::GrantByConsent(*oauth_, transport_, kDoctorEmail, extra);
    ASSERT_TRUE(grant.has_value());
    ASSERT_TRUE(tokens_->StoreNewGrant(DoctorKey(), *grant, kDoctorEmail));
    sub_ = google::IdTokenSubject(grant->id_token, kClientId);
    if (!sub_.empty()) {
      ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
        return tx.PutSetting(GoogleSubjectSettingKey(clinic_.doctor.id),
                             GoogleSubjectSettingValue(sub_, kDoctorEmail));
      }));
    }
  }

  void Policy(std::string_view key, std::string_view value) {
    ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.PutSetting(key, value); }));
  }

  // A confirmed appointment of 30 minutes that began `ago` (40 minutes: ended 10 minutes ago).
  core::Appointment BookPast(minutes ago = minutes(40)) {
    core::Appointment a;
    a.doctor_id = clinic_.doctor.id;
    a.service_id = clinic_.service.id;
    a.patient_id = clinic_.patient.id;
    a.start = std::chrono::time_point_cast<seconds>(clock_.Now()) - ago;
    a.end = a.start + minutes(30);
    a.time_zone = "Europe/Berlin";
    a.status = core::AppointmentStatus::kConfirmed;
    auto made = store_->Transact([&](store::Tx& tx) { return tx.CreateAppointment(a); });
    EXPECT_TRUE(made.has_value()) << made.error().ToString();
    worker_->Nudge();
    return made.value_or(a);
  }

  // Waits (up to 15 s) until `ok` holds.
  void WaitUntil(const std::function<bool()>& ok, const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (ok()) return;
      std::this_thread::sleep_for(milliseconds(10));
    }
    ADD_FAILURE() << "timed out waiting for " << what;
  }

  std::string CodeOf(int64_t appointment_id) {
    std::string code;
    WaitUntil(
        [&] {
          auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(appointment_id); });
          if (m && m->state == core::MeetingState::kReady) code = m->conference_id;
          return !code.empty();
        },
        "the meeting to be ready");
    return code;
  }

  std::optional<core::AttendanceRecord> AttendanceOf(int64_t id) {
    auto a = store_->Read([&](store::Tx& tx) { return tx.GetAttendance(id); });
    if (!a) return std::nullopt;
    return *a;
  }
  core::AttendanceRecord WaitFinal(int64_t id) {
    WaitUntil(
        [&] {
          auto a = AttendanceOf(id);
          return a && a->state != core::AttendanceState::kWaiting;
        },
        "the attendance to be settled");
    return AttendanceOf(id).value_or(core::AttendanceRecord{});
  }

  core::Appointment AppointmentOf(int64_t id) {
    return store_->Read([&](store::Tx& tx) { return tx.GetAppointment(id); }).value();
  }

  std::vector<std::string> OutboxTopics(int64_t appointment_id) {
    std::vector<std::string> out;
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListOutbox(p);
    });
    EXPECT_TRUE(page.has_value());
    if (!page) return out;
    for (const auto& e : page->items) {
      if (e.appointment_id == appointment_id) out.push_back(e.topic);
    }
    return out;
  }
  bool Has(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }

  std::vector<core::AuditEntry> Audit(int64_t appointment_id) {
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListAudit(appointment_id, p);
    });
    return page ? page->items : std::vector<core::AuditEntry>{};
  }

  int MeetRequests() {
    int n = 0;
    for (const auto& e : google_->RequestLog()) {
      if (e.path.starts_with("/v2/")) ++n;
    }
    return n;
  }

  emulator::MeetParticipant DoctorInMeet() const {
    return {
        .kind = emulator::ParticipantKind::kSignedIn, .user_id = sub_, .display_name = "Dr Who"};
  }
  static emulator::MeetParticipant Patient() {
    return {.kind = emulator::ParticipantKind::kAnonymous,
            .user_id = "",
            .display_name = "Amy Pond (patient)"};
  }

  SystemClock& clock_ = SystemClock::Instance();
  testing::TempStore store_{clock_, GetParam()};
  StoreGrantStore grants_{*store_};
  google::RetryPolicy retry_{[] {
                               google::RetryOptions o;
                               o.max_attempts = 3;
                               o.initial_backoff = milliseconds(20);
                               o.max_backoff = milliseconds(100);
                               o.deadline = seconds(5);
                               return o;
                             }(),
                             clock_, google::RealSleeper::Instance(), 7};
  google::RateLimiter limiter_{google::RateLimitOptions{}, clock_, google::RealSleeper::Instance()};
  net::HttpClient http_;
  google::HttpTransport transport_{http_};
  crypto::KeyRing keys_;
  CallCollector calls_;
  std::unique_ptr<emulator::FakeGoogle> google_;
  std::unique_ptr<google::OAuthClient> oauth_;
  std::unique_ptr<google::TokenProvider> tokens_;
  std::unique_ptr<google::CalendarClient> calendar_;
  std::unique_ptr<google::MeetClient> meet_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<MeetWork> meet_work_;
  std::unique_ptr<Worker> meet_worker_;
  testing::Clinic clinic_;
  std::string sub_;
};

TEST_P(AttendanceIntegrationTest, TwentyMinutesTogetherCompletesWithTheSummary) {
  Connect({"attendance"});
  ASSERT_FALSE(sub_.empty()) << "the ID token carried no sub";
  Policy(core::kSettingAttendance, "complete");
  core::Appointment a = BookPast();
  // The consultation happened before the meeting is even ready here: the doctor and the
  // patient overlap 20 minutes (the patient drops out once and comes back).
  worker_->Start();  // Meet is read only once the conference below exists
  const std::string code = CodeOf(a.id);
  ASSERT_FALSE(code.empty());
  const Instant s = a.start;
  ASSERT_TRUE(google_->meet().AddConference(
      code,
      {{.who = DoctorInMeet(), .sessions = {{.start = s, .end = s + minutes(25)}}},
       {.who = Patient(),
        .sessions = {{.start = s + minutes(3), .end = s + minutes(10)},
                     {.start = s + minutes(12), .end = s + minutes(25)}}}},
      std::nullopt, std::nullopt));
  meet_worker_->Start();

  core::AttendanceRecord r = WaitFinal(a.id);
  EXPECT_EQ(r.state, core::AttendanceState::kFinal);
  EXPECT_EQ(r.outcome, core::AttendanceOutcome::kAttended);
  EXPECT_TRUE(r.facts.doctor_joined);
  EXPECT_EQ(r.facts.others_joined, 1);
  EXPECT_EQ(core::OverlapMinutes(r.facts), 20);
  EXPECT_EQ(r.facts.first_join, s);
  EXPECT_EQ(r.facts.last_leave, s + minutes(25));
  EXPECT_EQ(r.action, "completed");
  EXPECT_EQ(AppointmentOf(a.id).status, core::AppointmentStatus::kCompleted);
  auto topics = OutboxTopics(a.id);
  EXPECT_TRUE(Has(topics, kAppointmentAttended));
  EXPECT_FALSE(Has(topics, kAppointmentNoShow));
  // The audit trail has the Meet reads and the summary; no participant's name anywhere.
  bool summary = false, records_read = false;
  for (const auto& e : Audit(a.id)) {
    summary |= e.action == "attendance.recorded";
    records_read |= e.action == "google.meet.conferenceRecords.list";
    EXPECT_EQ(e.detail.find("Amy Pond"), std::string::npos) << e.action;
    EXPECT_EQ(e.detail.find("Dr Who"), std::string::npos) << e.action;
  }
  EXPECT_TRUE(summary);
  EXPECT_TRUE(records_read);
}

TEST_P(AttendanceIntegrationTest, OnlyTheDoctorIsANoShowAfterThePolls) {
  Connect({"attendance"});
  Policy(core::kSettingAttendance, "complete");
  core::Appointment a = BookPast();
  worker_->Start();  // Meet is read only once the conference below exists
  const std::string code = CodeOf(a.id);
  ASSERT_TRUE(google_->meet().AddConference(
      code, {{.who = DoctorInMeet(), .sessions = {{.start = a.start, .end = a.end}}}}, std::nullopt,
      std::nullopt));
  meet_worker_->Start();
  core::AttendanceRecord r = WaitFinal(a.id);
  EXPECT_EQ(r.state, core::AttendanceState::kFinal);
  EXPECT_EQ(r.outcome, core::AttendanceOutcome::kNoShow);
  EXPECT_EQ(r.polls, 3);  // looked until the polls ran out: a patient might have come late
  EXPECT_EQ(r.action, "no_show");
  EXPECT_TRUE(r.facts.doctor_joined);
  EXPECT_EQ(r.facts.others_joined, 0);
  EXPECT_EQ(AppointmentOf(a.id).status, core::AppointmentStatus::kConfirmed);
  auto topics = OutboxTopics(a.id);
  EXPECT_TRUE(Has(topics, kAppointmentNoShow));
  EXPECT_FALSE(Has(topics, kAppointmentAttended));
}

TEST_P(AttendanceIntegrationTest, NobodyIsNeitherAndTheLooksStop) {
  Connect({"attendance"});
  Policy(core::kSettingAttendance, "complete");
  core::Appointment a = BookPast();
  Start();
  ASSERT_FALSE(CodeOf(a.id).empty());
  meet_worker_->Nudge();
  core::AttendanceRecord r = WaitFinal(a.id);
  EXPECT_EQ(r.state, core::AttendanceState::kFinal);
  EXPECT_EQ(r.outcome, core::AttendanceOutcome::kNobody);
  EXPECT_EQ(r.polls, 3);
  EXPECT_EQ(r.action, "");
  EXPECT_EQ(AppointmentOf(a.id).status, core::AppointmentStatus::kConfirmed);
  auto topics = OutboxTopics(a.id);
  EXPECT_FALSE(Has(topics, kAppointmentNoShow));
  EXPECT_FALSE(Has(topics, kAppointmentAttended));
  // Bounded: the job is gone and Meet is asked nothing more.
  const int asked = MeetRequests();
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(MeetRequests(), asked);
  auto jobs = store_->Read(
      [&](store::Tx& tx) { return tx.ListJobs(kMeetJobKind, std::nullopt, store::PageRequest{}); });
  ASSERT_TRUE(jobs.has_value());
  EXPECT_TRUE(jobs->items.empty());
}

TEST_P(AttendanceIntegrationTest, ARunningConferenceIsWaitedFor) {
  Connect({"attendance"});
  Policy(core::kSettingAttendance, "complete");
  core::Appointment a = BookPast();
  worker_->Start();  // Meet is read only once the conference below exists
  const std::string code = CodeOf(a.id);
  ASSERT_TRUE(google_->meet().Join(code, DoctorInMeet(), a.start));
  ASSERT_TRUE(google_->meet().Join(code, Patient(), a.start + minutes(2)));
  meet_worker_->Start();
  WaitUntil(
      [&] {
        auto r = AttendanceOf(a.id);
        return r && r->checked_at && r->facts.running;
      },
      "a look at the running conference");
  std::this_thread::sleep_for(milliseconds(700));  // several intervals
  auto r = AttendanceOf(a.id);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->state, core::AttendanceState::kWaiting);
  EXPECT_TRUE(r->facts.running);
  EXPECT_EQ(r->polls, 0);  // waiting does not use up the looks
  EXPECT_EQ(AppointmentOf(a.id).status, core::AppointmentStatus::kConfirmed);

  ASSERT_TRUE(google_->meet().EndConference(code, a.start + minutes(28)));
  core::AttendanceRecord done = WaitFinal(a.id);
  EXPECT_EQ(done.outcome, core::AttendanceOutcome::kAttended);
  EXPECT_EQ(core::OverlapMinutes(done.facts), 26);
  EXPECT_EQ(AppointmentOf(a.id).status, core::AppointmentStatus::kCompleted);
}

TEST_P(AttendanceIntegrationTest, WithoutTheScopeTheFeatureIsOffAndSaysWhy) {
  Connect({});  // the calendar only
  Policy(core::kSettingAttendance, "complete");
  Policy(core::kSettingAccessType, "restricted");
  core::Appointment a = BookPast();
  Start();
  const std::string code = CodeOf(a.id);
  ASSERT_TRUE(google_->meet().AddConference(
      code, {{.who = Patient(), .sessions = {{.start = a.start, .end = a.end}}}}, std::nullopt,
      std::nullopt));
  meet_worker_->Nudge();
  core::AttendanceRecord r = WaitFinal(a.id);
  EXPECT_EQ(r.state, core::AttendanceState::kScopeMissing);
  EXPECT_EQ(r.outcome, std::nullopt);
  EXPECT_NE(r.last_error.find("meetings.space.readonly"), std::string::npos) << r.last_error;
  auto access = store_->Read([&](store::Tx& tx) { return tx.GetMeetingAccess(a.id); });
  ASSERT_TRUE(access.has_value()) << access.error().ToString();
  EXPECT_EQ(access->state, "scope_missing");
  EXPECT_NE(access->last_error.find("meetings.space.settings"), std::string::npos);
  EXPECT_EQ(MeetRequests(), 0);  // nothing asked of Meet without the scope
  // Nothing else changed: the link is there, the appointment as it was.
  auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(a.id); });
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->state, core::MeetingState::kReady);
  EXPECT_FALSE(m->join_url.empty());
  EXPECT_EQ(AppointmentOf(a.id).status, core::AppointmentStatus::kConfirmed);
}

// While the Meet policy asks for nothing (its default) a ready meeting gets no meet job, and no
// Meet call is made; once it asks, the next ready meeting gets one.
TEST_P(AttendanceIntegrationTest, WithEveryMeetFeatureOffNoMeetWorkIsMade) {
  Connect({"attendance", "access_type"});
  auto has_meet_job = [&](int64_t id) {
    return store_->Read([&](store::Tx& tx) { return tx.GetJob(MeetJobKey(id)); }).has_value();
  };
  core::Appointment off = BookPast();
  worker_->Start();  // the meet worker waits, so a job made would stay to be seen
  ASSERT_FALSE(CodeOf(off.id).empty());  // (the job would be made in the same commit)
  EXPECT_FALSE(has_meet_job(off.id));
  Policy(core::kSettingAccessType, "restricted");
  core::Appointment on = BookPast(minutes(80));
  ASSERT_FALSE(CodeOf(on.id).empty());
  EXPECT_TRUE(has_meet_job(on.id));
  meet_worker_->Start();
  WaitUntil(
      [&] {
        auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeetingAccess(on.id); });
        return m && m->state == "applied";
      },
      "the access type of the meeting made after the policy");
  EXPECT_FALSE(has_meet_job(off.id));
  auto access = store_->Read([&](store::Tx& tx) { return tx.GetMeetingAccess(off.id); });
  EXPECT_FALSE(access.has_value());  // made before the policy, and no setting changed it since
}

// The policy turned on while runs are in flight: a run whose snapshot was read before the change
// commits after it, once the change has looked for the ready meetings (and not found this one,
// not ready yet). The commit decides by the policy it sees, so the meeting gets its meet job,
// in a batched commit and alone.
TEST_P(AttendanceIntegrationTest, APolicyTurnedOnDuringARunAppliesToItsMeeting) {
  Connect({"access_type"});
  std::vector<core::Appointment> booked;
  for (int ago : {40, 80, 120}) booked.push_back(BookPast(minutes(ago)));
  auto leased = store_->Transact([&](store::Tx& tx) {
    return tx.LeaseJobs({.owner = "test",
                         .max = 10,
                         .lease_for = seconds(30),
                         .now = clock_.Now(),
                         .kind = std::string(store::kReconcileJobKind)});
  });
  ASSERT_TRUE(leased.has_value()) << leased.error().ToString();
  ASSERT_EQ(leased->size(), 3u);
  // Read and called Google with every Meet feature off...
  std::vector<std::unique_ptr<JobRunner::Pending>> batch, alone;
  for (const core::Job& job : *leased) {
    (batch.size() < 2 ? batch : alone).push_back(reconciler_->Begin(job, nullptr));
  }
  // ...then the admin asks for an access type, with no meeting ready yet to apply it to.
  auto swept = store_->Transact([&](store::Tx& tx) -> Result<int> {
    TM_TRY(LockMeetPolicyForChange(tx));
    TM_TRY(tx.PutSetting(core::kSettingAccessType, "restricted"));
    return ScheduleReadyMeetWork(tx, 0, clock_.Now());
  });
  ASSERT_TRUE(swept.has_value()) << swept.error().ToString();
  EXPECT_EQ(*swept, 0);
  for (auto* runs : {&batch, &alone}) {
    for (const RunResult& r : reconciler_->FinishAll(*runs)) {
      EXPECT_EQ(r.state, core::MeetingState::kReady) << r.error;
    }
  }
  for (const core::Appointment& a : booked) {
    EXPECT_TRUE(
        store_->Read([&](store::Tx& tx) { return tx.GetJob(MeetJobKey(a.id)); }).has_value())
        << "appointment " << a.id;
  }
}

TEST_P(AttendanceIntegrationTest, AFeatureAllowedLaterAppliesToMeetingsThatExist) {
  Connect({});
  Policy(core::kSettingAttendance, "record");
  Policy(core::kSettingAccessType, "restricted");
  core::Appointment a = BookPast();
  Start();
  const std::string code = CodeOf(a.id);
  ASSERT_EQ(WaitFinal(a.id).state, core::AttendanceState::kScopeMissing);
  // The doctor connects again allowing both; the callback makes the meet work due (as
  // routes_google.cc does).
  Connect({"attendance", "access_type"});
  ASSERT_TRUE(google_->meet().AddConference(
      code,
      {{.who = DoctorInMeet(), .sessions = {{.start = a.start, .end = a.end}}},
       {.who = Patient(), .sessions = {{.start = a.start + minutes(1), .end = a.end}}}},
      std::nullopt, std::nullopt));
  auto made = store_->Transact(
      [&](store::Tx& tx) { return ScheduleReadyMeetWork(tx, clinic_.doctor.id, clock_.Now()); });
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  EXPECT_EQ(*made, 1);
  meet_worker_->Nudge();
  WaitUntil(
      [&] {
        auto r = AttendanceOf(a.id);
        return r && r->state == core::AttendanceState::kFinal;
      },
      "the attendance after the grant");
  auto r = AttendanceOf(a.id);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->outcome, core::AttendanceOutcome::kAttended);
  EXPECT_EQ(r->action, "");  // policy record: shown, the status is left alone
  EXPECT_EQ(AppointmentOf(a.id).status, core::AppointmentStatus::kConfirmed);
  EXPECT_FALSE(Has(OutboxTopics(a.id), kAppointmentAttended));
  WaitUntil(
      [&] {
        auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeetingAccess(a.id); });
        return m && m->state == "applied";
      },
      "the access type after the grant");
}

TEST_P(AttendanceIntegrationTest, AccessTypeIsPatchedAndVisibleThroughSpacesGet) {
  Connect({"access_type"});
  Policy(core::kSettingAccessType, "restricted");
  core::Appointment a = BookPast();
  Start();
  const std::string code = CodeOf(a.id);
  WaitUntil(
      [&] {
        auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeetingAccess(a.id); });
        return m && m->state != "retrying";
      },
      "the access type");
  auto access = store_->Read([&](store::Tx& tx) { return tx.GetMeetingAccess(a.id); });
  ASSERT_TRUE(access.has_value());
  EXPECT_EQ(access->state, "applied") << access->last_error;
  EXPECT_EQ(access->applied, "RESTRICTED");
  EXPECT_EQ(access->meeting_code, code);
  auto space = meet_->GetSpace(DoctorKey(), code);
  ASSERT_TRUE(space.has_value()) << space.error().ToString();
  EXPECT_EQ(space->access_type, "RESTRICTED");
  bool audited = false;
  for (const auto& e : Audit(a.id)) audited |= e.action == "meeting.access_type";
  EXPECT_TRUE(audited);
  // Attendance is off by default: nothing was looked at.
  EXPECT_FALSE(AttendanceOf(a.id).has_value());
}

TEST_P(AttendanceIntegrationTest, AFailedPatchIsReportedAndTheLinkStays) {
  Connect({"access_type"});
  Policy(core::kSettingAccessType, "restricted");
  core::Appointment a = BookPast();
  worker_->Start();
  const std::string code = CodeOf(a.id);
  // The space belongs to someone else now: Meet refuses the patch (not the owner).
  ASSERT_TRUE(google_->meet().SpaceState(code).has_value());
  google_->meet().Reset();
  ASSERT_TRUE(google_->meet().CreateSpace("other@clinic.example", code).has_value());
  meet_worker_->Start();
  WaitUntil(
      [&] {
        auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeetingAccess(a.id); });
        return m && m->state == "failed";
      },
      "the refused patch");
  auto access = store_->Read([&](store::Tx& tx) { return tx.GetMeetingAccess(a.id); });
  ASSERT_TRUE(access.has_value());
  EXPECT_NE(access->last_error.find("forbidden"), std::string::npos) << access->last_error;
  auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(a.id); });
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->state, core::MeetingState::kReady);
  EXPECT_FALSE(m->join_url.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, AttendanceIntegrationTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace telemeet::sync
