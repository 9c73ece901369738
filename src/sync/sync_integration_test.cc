// The reconciler and its worker against the real emulator: fake-google in-process on port 0,
// real HTTP (net::HttpClient + HttpTransport), the real OAuth client and TokenProvider with a
// KeyRing, grants in the store through StoreGrantStore, and a real SQLite store in a temporary
// directory. Time is the wall clock; backoffs and poll intervals are configured in milliseconds
// so a test takes at most a few seconds.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/strings.h"
#include "core/meeting.h"
#include "core/recurrence.h"
#include "core/time.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "emulator/server/fake_google.h"
#include "google/calendar_client.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/router.h"
#include "sync/calendar_sync.h"
#include "sync/grant_store_adapter.h"
#include "sync/meeting_refresh.h"
#include "sync/reconciler.h"
#include "sync/testing/google_fixture.h"
#include "sync/testing_util.h"
#include "sync/worker.h"

namespace telemeet::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kClientId = "telemeet-sync-test.apps.example";
const std::string kSecret = "sync-test-secret";
const std::string kDoctorEmail = "who@clinic.example";
const std::string kEventsPath = "/calendar/v3/calendars/primary/events";

class SyncIntegrationTest : public ::testing::TestWithParam<std::string> {
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
    MakeCalendar(milliseconds(700));
    clinic_ = testing::MakeClinic(*store_, kDoctorEmail);
    MakeReconciler(ReconcilerOptions{});
  }

  void TearDown() override {
    if (worker_) worker_->Stop();
    if (google_) google_->Stop();
  }

  // A calendar client whose calls give up after `timeout`; MakeReconciler after it.
  void MakeCalendar(milliseconds timeout) {
    google::CalendarOptions calendar_options;
    calendar_options.base_url = google_->base_url();
    calendar_options.timeout = timeout;
    calendar_ = std::make_unique<google::CalendarClient>(
        calendar_options,
        google::CalendarDeps{transport_, *tokens_, retry_, clock_, google::RealSleeper::Instance(),
                             &limiter_, &calls_});
  }

  void MakeReconciler(ReconcilerOptions options) {
    if (worker_) worker_->Stop();
    worker_.reset();
    options.poll_base = milliseconds(30);
    options.poll_max = milliseconds(200);
    options.retry_base = milliseconds(30);
    options.retry_max = milliseconds(200);
    options.actor = "worker:test";
    reconciler_ = std::make_unique<Reconciler>(*store_, *calendar_, calls_, clock_, options);
    WorkerOptions w;
    w.threads = 4;
    w.batch = 4;
    w.poll_interval = milliseconds(20);
    w.lease_for = seconds(30);
    worker_ = std::make_unique<Worker>(*store_, *reconciler_, clock_, w);
  }

  std::string DoctorKey() const { return std::to_string(clinic_.doctor.id); }

  // The event of `a` made at Google the way the reconciler's insert makes it (our id, its first
  // conference request), as by a run that crashed before recording it.
  google::GoogleResult<google::InsertResult> InsertAsACrashedRunDid(const core::Appointment& a) {
    google::EventSpec spec;
    spec.id = core::EventIdFor(a.uid);
    spec.summary = "Video consultation with Dr Who";
    spec.start = {*core::FormatWithOffset(a.start, "Europe/Berlin"), "Europe/Berlin", ""};
    spec.end = {*core::FormatWithOffset(a.end, "Europe/Berlin"), "Europe/Berlin", ""};
    spec.private_properties = {{std::string(kAppointmentIdProperty), std::to_string(a.id)},
                               {std::string(kAppointmentUidProperty), a.uid}};
    spec.conference_request_id = core::RequestIdFor(a.uid, 1);
    return calendar_->InsertEvent(DoctorKey(), "primary", spec, google::SendUpdates::kNone);
  }

  // The whole connect flow: consent (auto-approved), code, exchange with PKCE, sealed grant.
  void Connect() {
    auto grant = testing::GrantByConsent(*oauth_, transport_, kDoctorEmail);
    ASSERT_TRUE(grant.has_value());
    ASSERT_TRUE(tokens_->StoreNewGrant(DoctorKey(), *grant, kDoctorEmail));
  }

  Instant At(int day, int hour, int minute = 0) {
    return *core::ParseRfc3339(fmt::format("2026-03-{:02}T{:02}:{:02}:00Z", day, hour, minute));
  }

  core::Appointment Book(Instant start, bool confirm = true) {
    core::Appointment a;
    a.doctor_id = clinic_.doctor.id;
    a.service_id = clinic_.service.id;
    a.patient_id = clinic_.patient.id;
    a.start = start;
    a.end = start + minutes(30);
    a.time_zone = "Europe/Berlin";
    a.status = confirm ? core::AppointmentStatus::kConfirmed : core::AppointmentStatus::kBooked;
    auto made = store_->Transact([&](store::Tx& tx) { return tx.CreateAppointment(a); });
    EXPECT_TRUE(made.has_value()) << made.error().ToString();
    worker_->Nudge();
    return made.value_or(a);
  }

  std::optional<core::Meeting> MeetingOf(int64_t appointment_id) {
    auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(appointment_id); });
    if (!m) return std::nullopt;
    return *m;
  }

  // Waits (up to 15 s) until the meeting satisfies `ok`; returns it.
  core::Meeting WaitFor(int64_t appointment_id, const std::function<bool(const core::Meeting&)>& ok,
                        const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + seconds(15);
    std::optional<core::Meeting> m;
    while (std::chrono::steady_clock::now() < deadline) {
      m = MeetingOf(appointment_id);
      if (m && ok(*m)) return *m;
      std::this_thread::sleep_for(milliseconds(10));
    }
    ADD_FAILURE() << "timed out waiting for " << what << "; meeting is "
                  << (m ? std::string(core::Name(m->state)) + " (" + m->last_error + ")"
                        : std::string("absent"));
    return m.value_or(core::Meeting{});
  }
  core::Meeting WaitForState(int64_t appointment_id, core::MeetingState state) {
    return WaitFor(
        appointment_id, [&](const core::Meeting& m) { return m.state == state; },
        std::string(core::Name(state)));
  }
  // Waits until no reconcile job is left due or leased (parked ones do not count).
  void WaitIdle() {
    auto deadline = std::chrono::steady_clock::now() + seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      auto jobs = store_->Read([&](store::Tx& tx) {
        return tx.ListJobs(store::kReconcileJobKind, core::JobState::kReady, {});
      });
      if (jobs && jobs->items.empty()) return;
      std::this_thread::sleep_for(milliseconds(10));
    }
    ADD_FAILURE() << "reconcile jobs still pending";
  }

  int Requests(const std::string& method, const std::string& path_prefix) {
    int n = 0;
    for (const auto& e : google_->RequestLog()) {
      if (e.method == method && e.path.starts_with(path_prefix)) ++n;
    }
    return n;
  }
  int Inserts() {
    int n = 0;
    for (const auto& e : google_->RequestLog()) {
      if (e.method == "POST" && (e.path == kEventsPath || e.path.ends_with("/events"))) ++n;
    }
    return n;
  }

  // The calendar's events as the emulator holds them.
  nlohmann::json Events() {
    auto state = google_->calendar().CalendarState(kDoctorEmail);
    if (!state) return nlohmann::json::array();
    return (*state)["events"];
  }
  std::optional<nlohmann::json> EventAtGoogle(const std::string& id) {
    for (const auto& e : Events()) {
      if (e.value("id", "") == id) return e;
    }
    return std::nullopt;
  }

  std::vector<std::string> OutboxTopics(int64_t appointment_id = 0) {
    std::vector<std::string> topics;
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListOutbox(p);
    });
    EXPECT_TRUE(page.has_value());
    if (!page) return topics;
    for (const auto& e : page->items) {
      if (appointment_id == 0 || e.appointment_id == appointment_id) topics.push_back(e.topic);
    }
    return topics;
  }

  // One run of the doctor's calendar sync job, as the sync worker would make it.
  RunResult SyncNow(CalendarSync& sync) {
    auto due = store_->Transact(
        [&](store::Tx& tx) { return EnqueueCalendarSync(tx, clinic_.doctor.id, clock_.Now()); });
    EXPECT_TRUE(due.has_value()) << due.error().ToString();
    store::LeaseRequest r;
    r.owner = "sync-test";
    r.max = 1;
    r.now = clock_.Now();
    r.kind = std::string(kCalendarSyncJobKind);
    auto jobs = store_->Transact([&](store::Tx& tx) { return tx.LeaseJobs(r); });
    EXPECT_TRUE(jobs.has_value() && jobs->size() == 1u);
    if (!jobs || jobs->empty()) return RunResult{.disposition = Disposition::kStoreError};
    return sync.Run(jobs->front());
  }
  std::vector<core::OutboxEvent> ChangedInGoogle(int64_t appointment_id) {
    std::vector<core::OutboxEvent> out;
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListOutbox(p);
    });
    EXPECT_TRUE(page.has_value());
    if (!page) return out;
    for (const auto& e : page->items) {
      if (e.appointment_id == appointment_id && e.topic == kAppointmentChangedInGoogle) {
        out.push_back(e);
      }
    }
    return out;
  }
  int AuditCount(int64_t appointment_id, std::string_view action) {
    int n = 0;
    for (const auto& e : Audit(appointment_id)) n += e.action == action ? 1 : 0;
    return n;
  }

  std::vector<core::AuditEntry> Audit(int64_t appointment_id) {
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListAudit(appointment_id, p);
    });
    EXPECT_TRUE(page.has_value());
    return page ? page->items : std::vector<core::AuditEntry>{};
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
  testing::Clinic clinic_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<Worker> worker_;
};

TEST_P(SyncIntegrationTest, CreateBecomesReadyWithTheEmulatorsLink) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_EQ(m.event_id, core::EventIdFor(a.uid));
  ASSERT_TRUE(m.join_url.starts_with("https://meet.google.com/")) << m.join_url;
  EXPECT_EQ(m.synced_start, a.start);
  EXPECT_EQ(m.synced_end, a.end);
  EXPECT_EQ(m.synced_revision, a.revision);
  EXPECT_EQ(m.attempts, 0);
  EXPECT_FALSE(m.event_url.empty());

  // What Google holds: our id, title, zone, private, our property, the same link.
  auto event = EventAtGoogle(m.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["summary"], "Video consultation with Dr Who");
  EXPECT_EQ((*event)["visibility"], "private");
  EXPECT_EQ((*event)["start"]["timeZone"], "Europe/Berlin");
  EXPECT_EQ((*event)["start"]["dateTime"], "2026-03-02T09:00:00+01:00");
  EXPECT_EQ((*event)["extendedProperties"]["private"][std::string(kAppointmentUidProperty)], a.uid);
  EXPECT_EQ((*event)["conferenceData"]["createRequest"]["requestId"], core::RequestIdFor(a.uid, 1));
  EXPECT_EQ(event->dump().find("amy@patients.example"), std::string::npos);  // not invited
  EXPECT_EQ(Inserts(), 1);

  WaitIdle();
  EXPECT_EQ(OutboxTopics(a.id), std::vector<std::string>{"meeting.ready"});
  // The audit trail has the call (no secrets) and the state change.
  bool call = false, change = false;
  for (const auto& e : Audit(a.id)) {
    if (e.action == "google.events.insert") {
      call = true;
      auto d = nlohmann::json::parse(e.detail);
      EXPECT_EQ(d["method"], "POST");
      EXPECT_EQ(d["status"], 200);
      EXPECT_EQ(d["outcome"], "ok");
      EXPECT_TRUE(d.contains("latency_ms"));
    }
    if (e.action == "meeting.state") change = true;
    EXPECT_EQ(e.detail.find("Bearer"), std::string::npos);
    EXPECT_EQ(e.actor, "worker:test");
  }
  EXPECT_TRUE(call);
  EXPECT_TRUE(change);
}

TEST_P(SyncIntegrationTest, NotTelemedicineOrNotConfirmedMakesNoEvent) {
  Connect();
  worker_->Start();
  core::Appointment booked = Book(At(2, 8), /*confirm=*/false);
  WaitIdle();
  EXPECT_FALSE(MeetingOf(booked.id).has_value());
  EXPECT_EQ(Inserts(), 0);
  // Confirming it makes the meeting.
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(booked.id, core::AppointmentStatus::kConfirmed); }));
  worker_->Nudge();
  WaitForState(booked.id, core::MeetingState::kReady);
  EXPECT_EQ(Inserts(), 1);
}

TEST_P(SyncIntegrationTest, DoctorNotConnectedWaitsThenResumesOnConnect) {
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  WaitForState(a.id, core::MeetingState::kAwaitingDoctor);
  EXPECT_EQ(Inserts(), 0);
  Connect();  // StoreNewGrant → WakeDoctor
  worker_->Nudge();
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_FALSE(m.join_url.empty());
  EXPECT_EQ(Inserts(), 1);
}

// DELETE /doctors/{id}/google?meetings=cancel deletes the future events, then the grant; the
// meeting waits for the doctor with its event id. On reconnect the insert with that id answers
// 409 (Google keeps deleted ids), and the adopted event is the deleted one: it is restored.
TEST_P(SyncIntegrationTest, AnEventDeletedOnDisconnectIsRestoredAfterReconnect) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  ASSERT_TRUE(
      calendar_->DeleteEvent(DoctorKey(), "primary", ready.event_id, google::SendUpdates::kNone));
  ASSERT_EQ((*EventAtGoogle(ready.event_id))["status"], "cancelled");
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    core::Meeting m = ready;
    for (auto step : {core::MeetingState::kCancelling, core::MeetingState::kCancelled}) {
      m.state = step;
      TM_TRY(tx.PutMeeting(m));
    }
    m.state = core::MeetingState::kAwaitingDoctor;
    m.join_url.clear();
    m.conference_id.clear();
    m.event_url.clear();
    m.etag.clear();
    m.synced_revision = 0;
    TM_TRY(tx.PutMeeting(m));
    return tx.DeleteGrant(clinic_.doctor.id);
  }));

  Connect();  // StoreNewGrant → WakeDoctor
  worker_->Nudge();
  core::Meeting back = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_EQ(back.event_id, ready.event_id);
  EXPECT_EQ(back.join_url, ready.join_url);
  EXPECT_TRUE(back.last_error.empty()) << back.last_error;
  auto event = EventAtGoogle(ready.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["status"], "confirmed");
  EXPECT_EQ(Events().size(), 1u);
}

TEST_P(SyncIntegrationTest, PendingConferenceForThreePollsThenReady) {
  Connect();
  google_->calendar().SetConferenceBehaviour(
      kDoctorEmail, {emulator::ConferenceMode::kPending, /*pending_reads=*/3});
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  // The link is never published while pending.
  auto deadline = std::chrono::steady_clock::now() + seconds(15);
  bool saw_pending = false;
  std::optional<core::Meeting> m;
  while (std::chrono::steady_clock::now() < deadline) {
    m = MeetingOf(a.id);
    if (m && m->state == core::MeetingState::kConferencePending) {
      saw_pending = true;
      EXPECT_TRUE(m->join_url.empty());
    }
    if (m && m->state == core::MeetingState::kReady) break;
    std::this_thread::sleep_for(milliseconds(2));
  }
  ASSERT_TRUE(m && m->state == core::MeetingState::kReady);
  EXPECT_TRUE(saw_pending);
  EXPECT_TRUE(m->join_url.starts_with("https://meet.google.com/"));
  EXPECT_EQ(Inserts(), 1);
  EXPECT_EQ(Requests("GET", kEventsPath + "/"), 4);  // three pending polls, then success
  EXPECT_EQ(m->attempts, 0);                         // polls are not failures
  WaitIdle();
  EXPECT_EQ(OutboxTopics(a.id), std::vector<std::string>{"meeting.ready"});
}

TEST_P(SyncIntegrationTest, FailedConferenceThenAdminRetryBecomesReady) {
  Connect();
  google_->calendar().SetConferenceBehaviour(kDoctorEmail, {emulator::ConferenceMode::kFailure, 0});
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting failed = WaitForState(a.id, core::MeetingState::kFailed);
  EXPECT_TRUE(failed.join_url.empty());
  EXPECT_NE(failed.last_error.find("could not create the Google Meet"), std::string::npos)
      << failed.last_error;
  EXPECT_EQ(failed.conference_attempt, 2);  // one automatic retry with a new requestId
  EXPECT_EQ(Inserts(), 1);
  EXPECT_EQ(Requests("PUT", kEventsPath + "/"), 1);
  WaitIdle();
  EXPECT_EQ(OutboxTopics(a.id), std::vector<std::string>{"meeting.failed"});

  google_->calendar().SetConferenceBehaviour(kDoctorEmail, {emulator::ConferenceMode::kSuccess, 0});
  auto retried = store_->Transact([&](store::Tx& tx) { return tx.RetryFailedMeeting(a.id); });
  ASSERT_TRUE(retried.has_value()) << retried.error().ToString();
  worker_->Nudge();
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_TRUE(ready.join_url.starts_with("https://meet.google.com/"));
  EXPECT_EQ(ready.conference_attempt, 3);
  EXPECT_EQ(Events().size(), 1u);  // still one event
  auto event = EventAtGoogle(ready.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["conferenceData"]["createRequest"]["requestId"], core::RequestIdFor(a.uid, 3));
  WaitIdle();
  EXPECT_EQ(OutboxTopics(a.id), (std::vector<std::string>{"meeting.failed", "meeting.ready"}));
}

TEST_P(SyncIntegrationTest, RefusedConferenceTypeFailsWithAReadableReason) {
  Connect();
  google_->calendar().SetConferenceBehaviour(kDoctorEmail, {emulator::ConferenceMode::kRefuse, 0});
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kFailed);
  EXPECT_NE(m.last_error.find("refused to add a Google Meet"), std::string::npos) << m.last_error;
  EXPECT_NE(m.last_error.find("Invalid conference type value."), std::string::npos);
  EXPECT_EQ(Inserts(), 1);  // a 400 is not retried
}

TEST_P(SyncIntegrationTest, BurstOfReschedulesBecomesOnePatchWithTheSameLink) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  worker_->Stop();  // the burst lands before any worker looks
  google_->ClearRequestLog();
  Instant last{};
  for (int i = 1; i <= 10; ++i) {
    last = At(3, 8, i * 5);
    ASSERT_TRUE(store_->Transact(
        [&](store::Tx& tx) { return tx.Reschedule(a.id, last, last + minutes(45)); }));
  }
  worker_->Start();
  core::Meeting m = WaitFor(
      a.id, [&](const core::Meeting& x) { return x.synced_start == last; }, "rescheduled");
  EXPECT_EQ(m.state, core::MeetingState::kReady);
  EXPECT_EQ(m.join_url, ready.join_url);
  EXPECT_EQ(m.synced_end, last + minutes(45));
  EXPECT_EQ(Requests("PATCH", kEventsPath + "/"), 1);
  EXPECT_EQ(Inserts(), 0);
  auto event = EventAtGoogle(m.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["start"]["dateTime"], "2026-03-03T09:50:00+01:00");
  EXPECT_EQ((*event)["hangoutLink"], ready.join_url);
  WaitIdle();
  EXPECT_EQ(OutboxTopics(a.id), (std::vector<std::string>{"meeting.ready", "meeting.updated"}));
}

TEST_P(SyncIntegrationTest, RescheduleWhileTheWorkerRunsEndsInStep) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  Instant last{};
  for (int i = 1; i <= 10; ++i) {
    last = At(4, 8, i * 5);
    ASSERT_TRUE(store_->Transact(
        [&](store::Tx& tx) { return tx.Reschedule(a.id, last, last + minutes(30)); }));
    worker_->Nudge();
  }
  core::Meeting m = WaitFor(
      a.id, [&](const core::Meeting& x) { return x.synced_start == last; }, "rescheduled");
  EXPECT_EQ(m.join_url, ready.join_url);
  EXPECT_LE(Requests("PATCH", kEventsPath + "/"), 10);
  EXPECT_EQ(Inserts(), 1);
}

TEST_P(SyncIntegrationTest, CancelDeletesOnceEvenWhenCancelledTwice) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); }));
  worker_->Nudge();
  core::Meeting m = WaitForState(a.id, core::MeetingState::kCancelled);
  EXPECT_TRUE(m.join_url.empty());
  auto event = EventAtGoogle(ready.event_id);
  EXPECT_TRUE(!event.has_value() || (*event)["status"] == "cancelled");
  WaitIdle();
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); }));
  worker_->Nudge();
  WaitIdle();
  EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kCancelled);
  EXPECT_EQ(Requests("DELETE", kEventsPath + "/"), 1);
  EXPECT_EQ(OutboxTopics(a.id), (std::vector<std::string>{"meeting.ready", "meeting.cancelled"}));
}

TEST_P(SyncIntegrationTest, RevokedGrantParksThenReconnectResumes) {
  Connect();
  worker_->Start();
  core::Appointment first = Book(At(2, 8));
  WaitForState(first.id, core::MeetingState::kReady);
  ASSERT_GE(google_->oauth().RevokeGrant(kDoctorEmail), 1);

  core::Appointment a = Book(At(2, 10));
  core::Meeting parked = WaitForState(a.id, core::MeetingState::kNeedsReconnect);
  EXPECT_NE(parked.last_error.find("reconnect"), std::string::npos);
  auto job = store_->Read([&](store::Tx& tx) { return tx.GetJob(store::ReconcileJobKey(a.id)); });
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->state, core::JobState::kParked);
  auto grant = store_->Read([&](store::Tx& tx) { return tx.GetGrant(clinic_.doctor.id); });
  EXPECT_EQ(grant->status, core::GrantStatus::kNeedsReconnect);
  EXPECT_EQ(OutboxTopics(), (std::vector<std::string>{"meeting.ready", "doctor.needs_reconnect"}));
  // A reschedule of the first appointment while disconnected waits too: nothing is dropped.
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.Reschedule(first.id, At(2, 12), At(2, 12) + minutes(30)); }));
  worker_->Nudge();
  WaitForState(first.id, core::MeetingState::kNeedsReconnect);
  int made = 0;  // the second insert was tried once and answered 401; nothing new was made
  for (const auto& e : google_->RequestLog()) {
    made += e.method == "POST" && e.path == kEventsPath && e.status == 200;
  }
  EXPECT_EQ(made, 1);
  EXPECT_EQ(Events().size(), 1u);

  Connect();  // the doctor reconnects
  worker_->Nudge();
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_TRUE(m.join_url.starts_with("https://meet.google.com/"));
  core::Meeting moved = WaitFor(
      first.id,
      [&](const core::Meeting& x) {
        return x.state == core::MeetingState::kReady && x.synced_start == At(2, 12);
      },
      "first rescheduled after reconnect");
  EXPECT_FALSE(moved.join_url.empty());
  EXPECT_EQ(Events().size(), 2u);
}

TEST_P(SyncIntegrationTest, InsertThatHappenedButWasNotAnsweredIsAdopted) {
  Connect();
  // Google makes the event, then the answer is lost (a crash of the link before the reply).
  emulator::FaultRule lost;
  lost.method = "POST";
  lost.path_prefix = kEventsPath;
  lost.kind = emulator::FaultKind::kBackendError;
  lost.next = 1;
  lost.after = true;
  google_->faults().Add(lost);
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_TRUE(m.join_url.starts_with("https://meet.google.com/"));
  EXPECT_EQ(Events().size(), 1u);  // adopted, not duplicated
  int answered_409 = 0;
  for (const auto& e : google_->RequestLog()) {
    if (e.method == "POST" && e.path == kEventsPath && e.status == 409) ++answered_409;
  }
  EXPECT_EQ(Inserts(), 2);
  EXPECT_EQ(answered_409, 1);
}

TEST_P(SyncIntegrationTest, EventLeftByACrashedRunIsAdoptedByTheNextRun) {
  Connect();
  core::Appointment a = Book(At(2, 8));
  // A previous run made the event and crashed before recording it.
  auto made = InsertAsACrashedRunDid(a);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  worker_->Start();
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_EQ(m.join_url, made->event.conference.join_url);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_P(SyncIntegrationTest, ServerErrorsAreRetriedVisiblyThenSucceed) {
  Connect();
  emulator::FaultRule down;
  down.method = "POST";
  down.path_prefix = kEventsPath;
  down.kind = emulator::FaultKind::kBackendError;
  down.next = 7;  // more than one run's client retries (3)
  google_->faults().Add(down);
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting failing = WaitFor(
      a.id, [](const core::Meeting& m) { return m.attempts >= 1; }, "a visible failure");
  EXPECT_NE(failing.last_error.find("500"), std::string::npos) << failing.last_error;
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_EQ(m.attempts, 0);
  EXPECT_EQ(Events().size(), 1u);
  int failed_calls = 0;
  bool retry_noted = false;
  for (const auto& e : Audit(a.id)) {
    if (e.action == "google.events.insert" && nlohmann::json::parse(e.detail)["status"] == 500) {
      ++failed_calls;
    }
    if (e.action == "meeting.retry_scheduled") retry_noted = true;
  }
  EXPECT_EQ(failed_calls, 7);
  EXPECT_TRUE(retry_noted);
}

TEST_P(SyncIntegrationTest, TimeoutsAreRetried) {
  Connect();
  emulator::FaultRule slow;
  slow.method = "POST";
  slow.path_prefix = kEventsPath;
  slow.kind = emulator::FaultKind::kTimeout;
  slow.delay = milliseconds(1'500);
  slow.next = 2;
  google_->faults().Add(slow);
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_FALSE(m.join_url.empty());
  EXPECT_EQ(Events().size(), 1u);
}

TEST_P(SyncIntegrationTest, InvitesThePatientWhenConfigured) {
  ReconcilerOptions options;
  options.policy.invite_patient = true;
  options.send_updates = google::SendUpdates::kExternalOnly;
  options.policy.reminders = {.use_default = false, .overrides = {{"popup", 10}}};
  MakeReconciler(options);
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  auto event = EventAtGoogle(m.event_id);
  ASSERT_TRUE(event.has_value());
  ASSERT_TRUE((*event)["attendees"].is_array());
  EXPECT_EQ((*event)["attendees"][0]["email"], "amy@patients.example");
  EXPECT_EQ((*event)["reminders"]["useDefault"], false);
  EXPECT_EQ((*event)["reminders"]["overrides"],
            (nlohmann::json{{{"method", "popup"}, {"minutes", 10}}}));
  EXPECT_EQ(m.reminders_fingerprint, "popup:10");
}

// The sendUpdates query parameter of the emulator's logged requests `method` on our events.
std::vector<std::string> SendUpdatesOf(const std::vector<emulator::RequestLogEntry>& log,
                                       const std::string& method) {
  std::vector<std::string> out;
  for (const auto& e : log) {
    if (e.method != method || !e.path.starts_with(kEventsPath)) continue;
    size_t at = e.query.find("sendUpdates=");
    out.push_back(
        at == std::string::npos ? "" : e.query.substr(at + 12, e.query.find('&', at) - at - 12));
  }
  return out;
}

TEST_P(SyncIntegrationTest, InvitationsGoWithSendUpdatesOnCreateRescheduleAndCancel) {
  ReconcilerOptions options;
  options.policy.invite_patient = true;
  options.send_updates = google::SendUpdates::kAll;
  MakeReconciler(options);
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(3, 8));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  auto event = EventAtGoogle(m.event_id);
  ASSERT_TRUE(event.has_value());
  ASSERT_EQ((*event)["attendees"].size(), 1u) << event->dump();
  EXPECT_EQ((*event)["attendees"][0]["email"], "amy@patients.example");
  EXPECT_EQ((*event)["attendees"][0]["displayName"], clinic_.patient.name);
  EXPECT_EQ(m.attendees_fingerprint,
            core::GuestsFingerprint({{"amy@patients.example", clinic_.patient.name}}));
  EXPECT_EQ(SendUpdatesOf(google_->RequestLog(), "POST"), std::vector<std::string>{"all"});

  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.Reschedule(a.id, At(3, 10), At(3, 10) + minutes(30)); }));
  worker_->Nudge();
  WaitFor(
      a.id,
      [&](const core::Meeting& x) {
        return x.state == core::MeetingState::kReady && x.synced_start == At(3, 10);
      },
      "the reschedule");
  EXPECT_EQ(SendUpdatesOf(google_->RequestLog(), "PATCH"), std::vector<std::string>{"all"});

  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); }));
  worker_->Nudge();
  WaitForState(a.id, core::MeetingState::kCancelled);
  EXPECT_EQ(SendUpdatesOf(google_->RequestLog(), "DELETE"), std::vector<std::string>{"all"});
}

TEST_P(SyncIntegrationTest, WithoutInvitationsTheEventHasNoAttendees) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(3, 9));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  auto event = EventAtGoogle(m.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(!event->contains("attendees") || (*event)["attendees"].empty()) << event->dump();
  EXPECT_EQ((*event)["reminders"]["useDefault"], true);
  EXPECT_EQ(m.attendees_fingerprint, "");
  EXPECT_EQ(m.reminders_fingerprint, "");
  // A new email of the patient costs no call when nobody is invited.
  const size_t calls = google_->RequestLog().size();
  core::Patient p = clinic_.patient;
  p.email = "amy@new.example";
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.UpdatePatient(p); }));
  worker_->Nudge();
  WaitIdle();
  EXPECT_EQ(google_->RequestLog().size(), calls);
}

TEST_P(SyncIntegrationTest, ANewPatientEmailPatchesOnlyTheAttendees) {
  ReconcilerOptions options;
  options.policy.invite_patient = true;
  options.send_updates = google::SendUpdates::kExternalOnly;
  MakeReconciler(options);
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(3, 11));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  auto before = EventAtGoogle(m.event_id);
  ASSERT_TRUE(before.has_value());
  const size_t calls = google_->RequestLog().size();

  core::Patient p = clinic_.patient;
  p.email = "amy@new.example";
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.UpdatePatient(p); }));
  worker_->Nudge();
  core::Meeting after = WaitFor(
      a.id,
      [&](const core::Meeting& x) {
        return x.state == core::MeetingState::kReady &&
               x.attendees_fingerprint != m.attendees_fingerprint;
      },
      "the attendees patch");
  WaitIdle();
  auto event = EventAtGoogle(m.event_id);
  ASSERT_TRUE(event.has_value());
  ASSERT_EQ((*event)["attendees"].size(), 1u) << event->dump();
  EXPECT_EQ((*event)["attendees"][0]["email"], "amy@new.example");
  // One PATCH and nothing else; the times, the conference and the sequence (which grows with
  // times, status or location) are as they were.
  std::vector<emulator::RequestLogEntry> log = google_->RequestLog();
  log.erase(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(calls));
  std::vector<std::string> methods;
  for (const auto& e : log) {
    if (e.path.starts_with(kEventsPath)) methods.push_back(e.method);
  }
  EXPECT_EQ(methods, std::vector<std::string>{"PATCH"});
  EXPECT_EQ(SendUpdatesOf(log, "PATCH"), std::vector<std::string>{"externalOnly"});
  EXPECT_EQ((*event)["start"], (*before)["start"]);
  EXPECT_EQ((*event)["end"], (*before)["end"]);
  EXPECT_EQ((*event)["sequence"], (*before)["sequence"]);
  EXPECT_EQ((*event)["conferenceData"], (*before)["conferenceData"]);
  EXPECT_EQ((*event)["reminders"], (*before)["reminders"]);
  EXPECT_EQ(after.join_url, m.join_url);
  EXPECT_EQ(after.synced_start, m.synced_start);
}

TEST_P(SyncIntegrationTest, AFailedGuestsPatchIsRetriedAndAnnouncesNothing) {
  ReconcilerOptions options;
  options.policy.invite_patient = true;
  MakeReconciler(options);
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(3, 15));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  emulator::FaultRule down;
  down.method = "PATCH";
  down.path_prefix = kEventsPath;
  down.kind = emulator::FaultKind::kBackendError;
  down.next = 4;  // more than one run's client retries (3)
  google_->faults().Add(down);
  core::Patient p = clinic_.patient;
  p.email = "amy@new.example";
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.UpdatePatient(p); }));
  worker_->Nudge();
  WaitFor(
      a.id, [](const core::Meeting& x) { return x.attempts >= 1; }, "a visible failure");
  core::Meeting after = WaitFor(
      a.id,
      [&](const core::Meeting& x) {
        return x.state == core::MeetingState::kReady &&
               x.attendees_fingerprint != m.attendees_fingerprint;
      },
      "the attendees patch");
  EXPECT_EQ(after.attempts, 0);
  EXPECT_EQ((*EventAtGoogle(m.event_id))["attendees"][0]["email"], "amy@new.example");
  // The link was announced once, when it was made; a new guest list is no news for webhooks.
  EXPECT_EQ(OutboxTopics(a.id), std::vector<std::string>{std::string(kMeetingReady)});
}

TEST_P(SyncIntegrationTest, ThePolicyInTheSettingsReachesTheEventAtItsNextReconcile) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(3, 13));
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.PutSetting(kSettingInvitePatient, "true"));
    TM_TRY(tx.PutSetting(kSettingEventReminders, "popup:10,email:60"));
    TM_TRY(tx.EnqueueReconcile(a.id));
    return Ok();
  }));
  worker_->Nudge();
  WaitFor(
      a.id,
      [&](const core::Meeting& x) {
        return x.state == core::MeetingState::kReady &&
               x.reminders_fingerprint == "popup:10,email:60" && !x.attendees_fingerprint.empty();
      },
      "the guests patch");
  auto event = EventAtGoogle(m.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["attendees"][0]["email"], "amy@patients.example");
  EXPECT_EQ((*event)["reminders"]["useDefault"], false);
  EXPECT_EQ((*event)["reminders"]["overrides"],
            (nlohmann::json{{{"method", "popup"}, {"minutes", 10}},
                            {{"method", "email"}, {"minutes", 60}}}));
  // Back to the calendar's defaults and no invitations: patched back.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.PutSetting(kSettingInvitePatient, "false"));
    TM_TRY(tx.PutSetting(kSettingEventReminders, "default"));
    TM_TRY(tx.EnqueueReconcile(a.id));
    return Ok();
  }));
  worker_->Nudge();
  WaitFor(
      a.id,
      [&](const core::Meeting& x) {
        return x.state == core::MeetingState::kReady && x.reminders_fingerprint.empty() &&
               x.attendees_fingerprint.empty();
      },
      "the guests removed");
  event = EventAtGoogle(m.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(!event->contains("attendees") || (*event)["attendees"].empty()) << event->dump();
  EXPECT_EQ((*event)["reminders"]["useDefault"], true);
}

// M13: a refresh reads the event again and corrects the meeting to what Google holds: a new
// Meet link put on the event by hand, a move by hand (reported once, as the sync reports it),
// and the event put back (the drift cleared). The appointment is never changed.
TEST_P(SyncIntegrationTest, RefreshCorrectsTheMeetingFromGoogle) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(4, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  MeetingRefresher refresher(*store_, *calendar_, clock_, {.min_interval = seconds(0)});
  std::chrono::seconds retry_after{0};

  // In step: nothing changes but the audit.
  auto same = refresher.Refresh(a.id, "user:1", &retry_after);
  ASSERT_TRUE(same.has_value()) << same.error().ToString();
  EXPECT_FALSE(same->link_changed);
  EXPECT_EQ(same->drift, "");
  EXPECT_EQ(MeetingOf(a.id)->join_url, ready.join_url);

  // The doctor replaces the Meet in Google Calendar (a new conference on the event).
  auto token = tokens_->AccessTokenFor(DoctorKey());
  ASSERT_TRUE(token.has_value());
  google::HttpRequest by_hand;
  by_hand.method = "PATCH";
  by_hand.url =
      google_->base_url() + kEventsPath + "/" + ready.event_id + "?conferenceDataVersion=1";
  by_hand.headers.Set("Authorization", "Bearer " + *token);
  by_hand.headers.Set("Content-Type", "application/json");
  by_hand.body =
      nlohmann::json{
          {"conferenceData",
           {{"createRequest",
             {{"requestId", "by-hand-1"}, {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}}}}}}}
          .dump();
  auto replaced = transport_.Send(by_hand);
  ASSERT_TRUE(replaced.has_value());
  ASSERT_EQ(replaced->status, 200) << replaced->body;
  const std::string new_link = nlohmann::json::parse(replaced->body)["hangoutLink"];
  ASSERT_NE(new_link, ready.join_url);

  auto relinked = refresher.Refresh(a.id, "user:1", &retry_after);
  ASSERT_TRUE(relinked.has_value()) << relinked.error().ToString();
  EXPECT_TRUE(relinked->link_changed);
  core::Meeting m = *MeetingOf(a.id);
  EXPECT_EQ(m.join_url, new_link);
  EXPECT_EQ(m.state, core::MeetingState::kReady);
  EXPECT_TRUE(m.drift.empty());
  std::vector<std::string> topics = OutboxTopics(a.id);
  EXPECT_EQ(std::count(topics.begin(), topics.end(), std::string(kMeetingUpdated)), 1)
      << "webhooks and emails hear of the new link";

  // The doctor drags the event an hour later: reported once, the appointment unchanged, and the
  // reconciler leaves it so (no patch) until the appointment changes.
  google::EventDateTime start{*core::FormatWithOffset(a.start + std::chrono::hours(1), "UTC"),
                              "UTC", ""};
  google::EventDateTime end{*core::FormatWithOffset(a.end + std::chrono::hours(1), "UTC"), "UTC",
                            ""};
  ASSERT_TRUE(calendar_->PatchEventTimes(DoctorKey(), "primary", ready.event_id, start, end,
                                         google::SendUpdates::kNone));
  auto moved = refresher.Refresh(a.id, "user:1", &retry_after);
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  EXPECT_EQ(moved->drift, "moved");
  m = *MeetingOf(a.id);
  EXPECT_EQ(m.drift, "moved");
  EXPECT_EQ(m.synced_start, a.start) << "our last write, put back when the appointment changes";
  EXPECT_EQ(ChangedInGoogle(a.id).size(), 1u);
  auto again = refresher.Refresh(a.id, "user:1", &retry_after);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(ChangedInGoogle(a.id).size(), 1u) << "the same version is not news";
  auto appointment = store_->Read([&](store::Tx& tx) { return tx.GetAppointment(a.id); });
  ASSERT_TRUE(appointment.has_value());
  EXPECT_EQ(appointment->start, a.start);
  EXPECT_EQ(appointment->revision, a.revision);

  // Put back by hand: the drift is cleared.
  start.date_time = *core::FormatWithOffset(a.start, "UTC");
  end.date_time = *core::FormatWithOffset(a.end, "UTC");
  ASSERT_TRUE(calendar_->PatchEventTimes(DoctorKey(), "primary", ready.event_id, start, end,
                                         google::SendUpdates::kNone));
  auto back = refresher.Refresh(a.id, "user:1", &retry_after);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->drift, "");
  EXPECT_TRUE(MeetingOf(a.id)->drift.empty());

  // Deleted by hand: reported as deleted.
  ASSERT_TRUE(
      calendar_->DeleteEvent(DoctorKey(), "primary", ready.event_id, google::SendUpdates::kNone));
  auto deleted = refresher.Refresh(a.id, "user:1", &retry_after);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->drift, "deleted");
  EXPECT_EQ(MeetingOf(a.id)->drift, "deleted");
  EXPECT_EQ(ChangedInGoogle(a.id).size(), 2u);
}

TEST_P(SyncIntegrationTest, RefreshIsRateLimitedAndNeedsAnEvent) {
  worker_->Start();
  core::Appointment waiting = Book(At(4, 10));
  MeetingRefresher refresher(*store_, *calendar_, clock_, {.min_interval = seconds(10)});
  std::chrono::seconds retry_after{0};
  // The doctor has not connected: no event, and no Google call.
  WaitForState(waiting.id, core::MeetingState::kAwaitingDoctor);
  auto none = refresher.Refresh(waiting.id, "user:1", &retry_after);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(none.error().field(), "meeting.state");
  EXPECT_NE(none.error().message().find("has not connected Google Calendar"), std::string::npos)
      << none.error().message();
  EXPECT_EQ(retry_after.count(), 0);
  auto unknown = refresher.Refresh(9999, "user:1", &retry_after);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);

  Connect();
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.WakeDoctor(clinic_.doctor.id); }));
  worker_->Nudge();
  WaitForState(waiting.id, core::MeetingState::kReady);
  WaitIdle();
  google_->ClearRequestLog();
  ASSERT_TRUE(refresher.Refresh(waiting.id, "user:1", &retry_after).has_value());
  auto soon = refresher.Refresh(waiting.id, "user:1", &retry_after);
  ASSERT_FALSE(soon.has_value());
  EXPECT_EQ(soon.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_GE(retry_after.count(), 1);
  EXPECT_LE(retry_after.count(), 10);
  EXPECT_EQ(Requests("GET", kEventsPath), 1) << "a refused refresh costs no Google call";
}

TEST_P(SyncIntegrationTest, StopReleasesLeasedJobsAndAnotherWorkerFinishes) {
  Connect();
  std::vector<core::Appointment> booked;
  for (int i = 0; i < 12; ++i) booked.push_back(Book(At(5, 6 + i)));
  worker_->Start();
  std::this_thread::sleep_for(milliseconds(30));
  worker_->Stop();
  // Nothing stays leased by the stopped worker: what it had not started was given back.
  auto jobs = store_->Read(
      [&](store::Tx& tx) { return tx.ListJobs(store::kReconcileJobKind, std::nullopt, {}); });
  ASSERT_TRUE(jobs.has_value());
  for (const core::Job& job : jobs->items) {
    EXPECT_TRUE(job.lease_owner.empty()) << job.key << " still leased by " << job.lease_owner;
  }
  // On a quiet machine the first worker may have finished everything in its 30 ms.
  int left = 0;
  for (const auto& a : booked) {
    auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(a.id); });
    if (!m || m->state != core::MeetingState::kReady) ++left;
  }
  // A second worker (another owner) takes what is left.
  obs::Registry metrics;
  WorkerOptions w;
  w.threads = 3;
  w.poll_interval = milliseconds(20);
  w.metrics = &metrics;
  Worker other(*store_, *reconciler_, clock_, w);
  EXPECT_NE(other.owner(), worker_->owner());
  other.Start();
  for (const auto& a : booked) WaitForState(a.id, core::MeetingState::kReady);
  other.Stop();
  if (left > 0) {
    EXPECT_NE(metrics.Render().find("telemeet_reconcile_runs_total{action=\"insert\","
                                    "disposition=\"completed\"}"),
              std::string::npos)
        << metrics.Render();
  }
  EXPECT_EQ(Events().size(), booked.size());
  EXPECT_EQ(Inserts(), static_cast<int>(booked.size()));
}

// The most jobs `w`'s worker held leased at once over `over`, sampled every 10 ms.
size_t MostHeld(store::Store& store, JobRunner& runner, const Clock& clock, WorkerOptions w,
                milliseconds over) {
  w.commit_threads = 0;  // the runner commits its results: it holds one job at a time
  w.poll_interval = milliseconds(10);
  w.lease_for = seconds(30);
  Worker worker(store, runner, clock, w);
  worker.Start();
  size_t most = 0;
  const auto until = std::chrono::steady_clock::now() + over;
  while (std::chrono::steady_clock::now() < until) {
    auto jobs = store.Read([&](store::Tx& tx) {
      return tx.ListJobs(store::kReconcileJobKind, std::nullopt, {.limit = 100});
    });
    if (jobs) {
      size_t held = 0;
      for (const core::Job& j : jobs->items) held += j.lease_owner == worker.owner() ? 1 : 0;
      most = std::max(most, held);
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  worker.Stop();
  return most;
}

// A worker holds `prefetch` jobs leased beyond its busy runners, so a runner that finishes
// starts the next job at once, without waiting for a lease of its own; never more.
TEST_P(SyncIntegrationTest, AWorkerLeasesItsPrefetchAheadOfItsRunners) {
  MakeCalendar(seconds(5));
  MakeReconciler(ReconcilerOptions{});
  Connect();
  google_->SetLatency(milliseconds(150));
  for (int i = 0; i < 8; ++i) Book(At(7, 6 + i));
  auto most_held = [&](int prefetch) {
    // About 400 ms: the runner is through two or three jobs.
    return MostHeld(
        *store_, *reconciler_, clock_,
        {.threads = 1, .prefetch = prefetch, .prefetch_for = milliseconds(0), .batch = 4},
        milliseconds(400));
  };
  EXPECT_EQ(most_held(0), 1u);
  EXPECT_EQ(most_held(2), 3u);
}

// The jobs held ahead are no more than the runners get through in `prefetch_for`, by the runs'
// mean (LeaseAhead, whose arithmetic worker_test.cc pins): a job does not wait long behind a
// slow Google for a runner (a bulk run gives up on one held for 6 s).
TEST_P(SyncIntegrationTest, AWorkerLeasesAheadOnlyWhatItsRunnersEndSoon) {
  MakeCalendar(seconds(5));
  MakeReconciler(ReconcilerOptions{});
  Connect();
  google_->SetLatency(milliseconds(200));
  for (int i = 0; i < 16; ++i) Book(At(7, 6 + i));
  auto most_held = [&](milliseconds prefetch_for) {
    return MostHeld(*store_, *reconciler_, clock_,
                    {.threads = 1, .prefetch = 6, .prefetch_for = prefetch_for}, milliseconds(900));
  };
  // Runs of 200 ms or more (the Google call, and whatever a loaded machine adds): at most two
  // end in 500 ms, never the six the count allows; at least one until they take 500 ms.
  const size_t bounded = most_held(milliseconds(500));
  EXPECT_GE(bounded, 2u);
  EXPECT_LE(bounded, 3u);
  // Unbounded by time: the count.
  EXPECT_EQ(most_held(milliseconds(0)), 7u);
}

TEST_P(SyncIntegrationTest, ARunThatLostItsLeaseWritesNothing) {
  Connect();
  core::Appointment a = Book(At(2, 8));
  auto lease = [&](const std::string& owner, Instant now) {
    store::LeaseRequest r;
    r.owner = owner;
    r.max = 1;
    r.lease_for = seconds(5);
    r.now = now;
    r.kind = std::string(store::kReconcileJobKind);
    auto jobs = store_->Transact([&](store::Tx& tx) { return tx.LeaseJobs(r); });
    EXPECT_TRUE(jobs.has_value() && jobs->size() == 1u);
    return jobs && !jobs->empty() ? jobs->front() : core::Job{};
  };
  core::Job stale = lease("worker-a", clock_.Now());
  // worker-a stalls past its lease; worker-b takes the job over.
  core::Job fresh = lease("worker-b", clock_.Now() + seconds(10));
  RunResult lost = reconciler_->Run(stale);
  EXPECT_EQ(lost.disposition, Disposition::kLeaseLost) << lost.error;
  EXPECT_FALSE(MeetingOf(a.id).has_value());
  EXPECT_EQ(Inserts(), 0);  // the intent record checked the lease before calling Google
  RunResult done = reconciler_->Run(fresh);
  EXPECT_EQ(done.disposition, Disposition::kCompleted) << done.error;
  EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kReady);
  EXPECT_EQ(Inserts(), 1);
  EXPECT_EQ(OutboxTopics(a.id), std::vector<std::string>{"meeting.ready"});
}

// --- The worker's lease transaction prepares its jobs (issue 19) ---

// Leases every due reconcile job as `owner` in one transaction with the reconciler's Prepare,
// as the worker does; the jobs and what was prepared for each, in the same order.
struct PreparedLease {
  std::vector<core::Job> jobs;
  std::vector<std::unique_ptr<PreparedJob>> prepared;
};

// Leases up to `max` reconcile jobs as `owner` and lets the reconciler prepare them in the same
// transaction, as the worker does.
PreparedLease LeaseAndPrepare(store::Store& store, Reconciler& reconciler, const std::string& owner,
                              int max, std::chrono::microseconds lease_for, Instant now) {
  PreparedLease out;
  auto s = store.Transact([&](store::Tx& tx) -> Status {
    store::LeaseRequest r;
    r.owner = owner;
    r.max = max;
    r.lease_for = lease_for;
    r.now = now;
    r.kind = std::string(store::kReconcileJobKind);
    out.jobs = TM_TRY(tx.LeaseJobs(r));
    out.prepared = TM_TRY(reconciler.Prepare(tx, out.jobs));
    return Ok();
  });
  EXPECT_TRUE(s.has_value()) << s.error().ToString();
  return out;
}

TEST_P(SyncIntegrationTest, TheLeaseRecordsTheInsertIntentOnlyForCertainInserts) {
  Connect();
  core::Appointment confirmed = Book(At(2, 8));
  core::Appointment booked = Book(At(2, 9), /*confirm=*/false);  // create_on: confirmation
  PreparedLease lease =
      LeaseAndPrepare(*store_, *reconciler_, "worker-a", 10, seconds(30), clock_.Now());
  ASSERT_EQ(lease.jobs.size(), 2u);
  ASSERT_EQ(lease.prepared.size(), 2u);
  // The intent is committed with the lease, before any Google call; nothing for the other.
  std::optional<core::Meeting> intent = MeetingOf(confirmed.id);
  ASSERT_TRUE(intent.has_value());
  EXPECT_EQ(intent->state, core::MeetingState::kCreating);
  EXPECT_EQ(intent->event_id, core::EventIdFor(confirmed.uid));
  EXPECT_EQ(AuditCount(confirmed.id, "meeting.state"), 1);
  EXPECT_FALSE(MeetingOf(booked.id).has_value());
  EXPECT_EQ(AuditCount(booked.id, "meeting.state"), 0);
  EXPECT_EQ(Inserts(), 0);

  for (size_t i = 0; i < lease.jobs.size(); ++i) {
    ASSERT_NE(lease.prepared[i], nullptr);
    RunResult r = reconciler_->RunPrepared(lease.jobs[i], std::move(lease.prepared[i]));
    EXPECT_EQ(r.disposition, Disposition::kCompleted) << r.error;
  }
  core::Meeting ready = *MeetingOf(confirmed.id);
  EXPECT_EQ(ready.state, core::MeetingState::kReady);
  EXPECT_TRUE(ready.join_url.starts_with("https://meet.google.com/")) << ready.join_url;
  EXPECT_EQ(ready.synced_revision, confirmed.revision);
  // The same trail as a run that records its own intent: not_needed → creating → ready.
  std::vector<std::string> states;
  for (const core::AuditEntry& e : Audit(confirmed.id)) {
    if (e.action == "meeting.state") states.push_back(nlohmann::json::parse(e.detail)["to"]);
  }
  EXPECT_EQ(states, (std::vector<std::string>{"creating", "ready"}));
  EXPECT_EQ(OutboxTopics(confirmed.id), std::vector<std::string>{"meeting.ready"});
  EXPECT_FALSE(MeetingOf(booked.id).has_value());
  EXPECT_EQ(Inserts(), 1);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_P(SyncIntegrationTest, ACrashAfterTheLeaseWithIntentConvergesToOneEvent) {
  Connect();
  core::Appointment a = Book(At(2, 8));
  core::Appointment b = Book(At(2, 9));
  // A worker leases both (intents recorded), makes a's event at Google, and dies before it
  // records anything more; its leases run out.
  EXPECT_EQ(
      LeaseAndPrepare(*store_, *reconciler_, "worker-dead", 10, milliseconds(50), clock_.Now())
          .jobs.size(),
      2u);
  ASSERT_EQ(MeetingOf(a.id)->state, core::MeetingState::kCreating);
  ASSERT_EQ(MeetingOf(b.id)->state, core::MeetingState::kCreating);
  auto made = InsertAsACrashedRunDid(a);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  // b is cancelled meanwhile: its intent says an event may exist, so the next run looks.
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(b.id, core::AppointmentStatus::kCancelled); }));
  std::this_thread::sleep_for(milliseconds(100));
  worker_->Start();
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  EXPECT_EQ(m.join_url, made->event.conference.join_url);  // adopted
  WaitIdle();
  std::optional<core::Meeting> cancelled = MeetingOf(b.id);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_FALSE(core::MayHaveEvent(cancelled->state)) << core::Name(cancelled->state);
  EXPECT_EQ(Events().size(), 1u);  // one event for a, none for b
}

TEST_P(SyncIntegrationTest, ALeaseLostAfterTheLeaseWithIntentWritesNothing) {
  Connect();
  core::Appointment a = Book(At(2, 8));
  auto lease = [&](const std::string& owner, Instant now) {
    PreparedLease out = LeaseAndPrepare(*store_, *reconciler_, owner, 1, seconds(5), now);
    EXPECT_TRUE(out.jobs.size() == 1u && out.prepared.size() == 1u);
    return out;
  };
  PreparedLease stale = lease("worker-a", clock_.Now());
  ASSERT_EQ(MeetingOf(a.id)->state, core::MeetingState::kCreating);
  const size_t audit_after_lease = Audit(a.id).size();
  // worker-a stalls past its lease; worker-b takes the job over (the meeting already says
  // creating: no second intent).
  PreparedLease fresh = lease("worker-b", clock_.Now() + seconds(10));
  EXPECT_EQ(Audit(a.id).size(), audit_after_lease);
  RunResult lost = reconciler_->RunPrepared(stale.jobs[0], std::move(stale.prepared[0]));
  EXPECT_EQ(lost.disposition, Disposition::kLeaseLost) << lost.error;
  EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kCreating);
  EXPECT_EQ(Audit(a.id).size(), audit_after_lease);
  EXPECT_TRUE(OutboxTopics(a.id).empty());
  RunResult done = reconciler_->RunPrepared(fresh.jobs[0], std::move(fresh.prepared[0]));
  EXPECT_EQ(done.disposition, Disposition::kCompleted) << done.error;
  EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kReady);
  EXPECT_EQ(Events().size(), 1u);  // worker-a's insert was adopted, not duplicated
  EXPECT_EQ(OutboxTopics(a.id), std::vector<std::string>{"meeting.ready"});
}

TEST_P(SyncIntegrationTest, TheLeaseRecordsNoIntentOverAFailedMeeting) {
  Connect();
  core::Appointment a = Book(At(2, 8));
  // The meeting failed earlier (conference attempts used up): an admin's retry, not the
  // worker, makes the next insert.
  core::Meeting failed;
  failed.appointment_id = a.id;
  failed.doctor_id = clinic_.doctor.id;
  failed.calendar_id = "primary";
  failed.event_id = core::EventIdFor(a.uid);
  failed.state = core::MeetingState::kCreating;
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.PutMeeting(failed); }));
  failed.state = core::MeetingState::kFailed;
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.PutMeeting(failed); }));
  PreparedLease lease = LeaseAndPrepare(*store_, *reconciler_, "worker-a", 1,
                                        store::LeaseRequest{}.lease_for, clock_.Now());
  ASSERT_EQ(lease.jobs.size(), 1u);
  ASSERT_EQ(lease.prepared.size(), 1u);
  EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kFailed);
  EXPECT_EQ(AuditCount(a.id, "meeting.state"), 0);
  ASSERT_NE(lease.prepared[0], nullptr);
  RunResult r = reconciler_->RunPrepared(lease.jobs[0], std::move(lease.prepared[0]));
  EXPECT_EQ(r.disposition, Disposition::kCompleted) << r.error;
  EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kFailed);
  EXPECT_EQ(Inserts(), 0);
}

// FinishAll commits the results that end as most runs do in one transaction of multi-row
// statements (issue 19). Each run must end exactly as its own Finish would have ended it: the
// same scenario runs twice, on two days, once committed with FinishAll and once run by run, and
// the two must leave the same rows. In each: a and e plain; b's lease taken over by another
// worker; c's meeting changed by someone else during the call; d rescheduled during the call.
TEST_P(SyncIntegrationTest, ABatchedCommitEndsEveryRunAsItsOwnCommitWould) {
  Connect();
  struct Outcome {
    Disposition disposition;
    std::string meeting;              // state and conference attempt
    std::vector<std::string> audit;   // actions, "meeting.state" with its target
    std::vector<std::string> outbox;  // topics
    std::string job;                  // "gone", or owner/ready/due
    std::string error;                // the result's error up to the job's key
    bool operator==(const Outcome&) const = default;
  };
  auto scenario = [&](int day, bool batched) {
    std::vector<core::Appointment> appts;
    for (int i = 0; i < 5; ++i) appts.push_back(Book(At(day, 8 + i)));
    PreparedLease lease =
        LeaseAndPrepare(*store_, *reconciler_, "worker-a", 10, seconds(30), clock_.Now());
    EXPECT_EQ(lease.jobs.size(), 5u);
    std::vector<std::unique_ptr<JobRunner::Pending>> pending;
    for (size_t i = 0; i < lease.jobs.size(); ++i) {
      pending.push_back(reconciler_->Begin(lease.jobs[i], std::move(lease.prepared[i])));
    }
    auto job_of = [&](const core::Appointment& a) {
      return *std::ranges::find(lease.jobs, store::ReconcileJobKey(a.id), &core::Job::key);
    };
    Status meanwhile = store_->Transact([&](store::Tx& tx) -> Status {
      auto taken = TM_TRY(tx.LeaseJobByKey(job_of(appts[1]).key, "worker-b", seconds(30),
                                           clock_.Now() + seconds(60)));
      if (!taken) return Fail(ErrorCode::kInternal, "b's job was not taken over");
      core::Meeting changed = TM_TRY(tx.GetMeeting(appts[2].id));
      changed.conference_attempt += 1;
      TM_TRY(tx.PutMeeting(changed));
      TM_TRY(tx.EnqueueReconcile(appts[2].id));
      TM_TRY(tx.Reschedule(appts[3].id, appts[3].start + minutes(30), appts[3].end + minutes(30)));
      return Ok();
    });
    EXPECT_TRUE(meanwhile.has_value()) << meanwhile.error().ToString();
    const store::WriteStats before = store_->write_stats();
    std::vector<RunResult> results;
    if (batched) {
      results = reconciler_->FinishAll(pending);
    } else {
      for (auto& p : pending) results.push_back(p->Finish());
    }
    const store::WriteStats after = store_->write_stats();
    if (GetParam() == "sqlite") {  // (PostgreSQL keeps no count)
      EXPECT_EQ(after.writes - before.writes > 1, !batched) << "write transactions";
    }
    std::vector<Outcome> out;
    for (const core::Appointment& a : appts) {
      const size_t i = static_cast<size_t>(
          std::ranges::find(lease.jobs, store::ReconcileJobKey(a.id), &core::Job::key) -
          lease.jobs.begin());
      Outcome o;
      o.disposition = results[i].disposition;
      o.error = results[i].error.substr(0, results[i].error.find(" job "));
      std::optional<core::Meeting> m = MeetingOf(a.id);
      o.meeting = m ? fmt::format("{}#{}", core::Name(m->state), m->conference_attempt) : "none";
      for (const core::AuditEntry& e : Audit(a.id)) {
        o.audit.push_back(e.action == "meeting.state"
                              ? "to " + nlohmann::json::parse(e.detail)["to"].get<std::string>()
                              : e.action);
      }
      o.outbox = OutboxTopics(a.id);
      auto job =
          store_->Read([&](store::Tx& tx) { return tx.GetJob(store::ReconcileJobKey(a.id)); });
      o.job = !job ? "gone"
                   : fmt::format("{}/{}/{}", job->lease_owner, core::Name(job->state),
                                 job->run_at <= clock_.Now() ? "due" : "later");
      out.push_back(std::move(o));
    }
    // The jobs that run again are taken off, so the next scenario leases only its own.
    auto cleared = store_->Transact(
        [&](store::Tx& tx) { return tx.ParkDoctorJobs(clinic_.doctor.id, "next scenario"); });
    EXPECT_TRUE(cleared.has_value());
    return out;
  };
  const std::vector<Outcome> batched = scenario(3, true);
  const std::vector<Outcome> alone = scenario(4, false);
  ASSERT_EQ(batched.size(), 5u);
  for (size_t i = 0; i < batched.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(batched[i].disposition, alone[i].disposition);
    EXPECT_EQ(batched[i].meeting, alone[i].meeting);
    EXPECT_EQ(batched[i].audit, alone[i].audit);
    EXPECT_EQ(batched[i].outbox, alone[i].outbox);
    EXPECT_EQ(batched[i].job, alone[i].job);
    EXPECT_EQ(batched[i].error, alone[i].error);
  }
  // And what that is.
  const std::vector<std::string> made{"to creating", "google.events.insert", "to ready"};
  for (size_t i : {0u, 4u}) {
    EXPECT_EQ(batched[i].disposition, Disposition::kCompleted);
    EXPECT_EQ(batched[i].meeting, "ready#1");
    EXPECT_EQ(batched[i].audit, made);
    EXPECT_EQ(batched[i].outbox, std::vector<std::string>{"meeting.ready"});
    EXPECT_EQ(batched[i].job, "gone");
  }
  EXPECT_EQ(batched[1].disposition, Disposition::kLeaseLost);  // nothing written
  EXPECT_EQ(batched[1].error, "failed_precondition: lease lost:");
  EXPECT_EQ(batched[1].meeting, "creating#1");
  EXPECT_EQ(batched[1].audit, std::vector<std::string>{"to creating"});
  EXPECT_TRUE(batched[1].outbox.empty());
  EXPECT_EQ(batched[1].job, "worker-b/ready/later");
  EXPECT_EQ(batched[2].meeting, "creating#2");  // the change stands; the call is on record
  EXPECT_EQ(batched[2].audit, (std::vector<std::string>{"to creating", "google.events.insert"}));
  EXPECT_TRUE(batched[2].outbox.empty());
  EXPECT_EQ(batched[2].job, "/ready/due");  // runs again, from the change
  EXPECT_EQ(batched[3].meeting, "ready#1");
  EXPECT_EQ(batched[3].outbox, std::vector<std::string>{"meeting.ready"});
  EXPECT_EQ(batched[3].job, "/ready/due");  // runs again for the new time
}

// Runners hand their results to committer threads; with room for fewer results than runners
// the runners wait for it, and Stop commits what they handed over before it returns.
TEST_P(SyncIntegrationTest, OneCommitterForFourRunnersRecordsEveryResultOnce) {
  Connect();
  std::vector<core::Appointment> booked;
  for (int i = 0; i < 12; ++i) booked.push_back(Book(At(9, 6 + i)));
  obs::Registry metrics;
  WorkerOptions w;
  w.threads = 4;
  w.commit_threads = 1;
  w.commit_batch = 2;
  w.poll_interval = milliseconds(10);
  w.metrics = &metrics;
  Worker worker(*store_, *reconciler_, clock_, w);
  worker.Start();
  for (const auto& a : booked) WaitForState(a.id, core::MeetingState::kReady);
  worker.Stop();
  EXPECT_EQ(worker.runs(), static_cast<int64_t>(booked.size()));
  EXPECT_NE(metrics.Render().find("telemeet_reconcile_runs_total{action=\"insert\","
                                  "disposition=\"completed\"} 12"),
            std::string::npos)
      << metrics.Render();
  for (const auto& a : booked) {
    EXPECT_EQ(OutboxTopics(a.id), std::vector<std::string>{"meeting.ready"});
  }
  auto jobs = store_->Read(
      [&](store::Tx& tx) { return tx.ListJobs(store::kReconcileJobKind, std::nullopt, {}); });
  ASSERT_TRUE(jobs.has_value());
  EXPECT_TRUE(jobs->items.empty());  // every job completed, none left leased
  EXPECT_EQ(Events().size(), booked.size());
  EXPECT_EQ(Inserts(), static_cast<int>(booked.size()));
}

TEST_P(SyncIntegrationTest, LongCallsKeepTheirLeaseAgainstASecondWorker) {
  ReconcilerOptions options;
  options.lease_for = milliseconds(800);
  MakeCalendar(seconds(5));
  MakeReconciler(options);
  Connect();
  // Every Google call outlives the lease. Leases are renewed at half their time, which leaves
  // 400 ms for a loaded machine's stalls.
  google_->SetLatency(milliseconds(1000));
  WorkerOptions w;
  w.threads = 2;
  w.lease_for = milliseconds(800);
  w.poll_interval = milliseconds(10);
  Worker first(*store_, *reconciler_, clock_, w);
  Worker second(*store_, *reconciler_, clock_, w);
  first.Start();
  second.Start();
  std::vector<core::Appointment> booked;
  for (int i = 0; i < 3; ++i) booked.push_back(Book(At(6, 8 + i)));
  for (const auto& a : booked) WaitForState(a.id, core::MeetingState::kReady);
  first.Stop();
  second.Stop();
  // Renewed leases: no job was taken over mid-call, so no insert ran twice (no 409s).
  int conflicts = 0;
  for (const auto& e : google_->RequestLog()) conflicts += e.status == 409 ? 1 : 0;
  EXPECT_EQ(conflicts, 0);
  EXPECT_EQ(Inserts(), 3);
}

// --- The admin's meeting policy (settings table, as the API saves it) ---

TEST_P(SyncIntegrationTest, CreateOnBookingMakesAMeetingForABookedAppointment) {
  ASSERT_TRUE(
      store_->Transact([&](store::Tx& tx) { return tx.PutSetting(kSettingCreateOn, "booking"); }));
  Connect();
  worker_->Start();
  core::Appointment booked = Book(At(2, 8), /*confirm=*/false);
  core::Meeting m = WaitForState(booked.id, core::MeetingState::kReady);
  EXPECT_TRUE(m.join_url.starts_with("https://meet.google.com/"));
  EXPECT_EQ(Inserts(), 1);
  // Back to "confirmation": the next booked appointment waits for its confirmation.
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.PutSetting(kSettingCreateOn, "confirmation"); }));
  core::Appointment later = Book(At(2, 10), /*confirm=*/false);
  WaitIdle();
  EXPECT_FALSE(MeetingOf(later.id).has_value());
  EXPECT_EQ(Inserts(), 1);
}

TEST_P(SyncIntegrationTest, SendUpdatesSettingReachesGoogle) {
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.PutSetting(kSettingSendUpdates, "externalOnly"); }));
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  WaitForState(a.id, core::MeetingState::kReady);
  ASSERT_TRUE(
      store_->Transact([&](store::Tx& tx) { return tx.PutSetting(kSettingSendUpdates, "all"); }));
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.Reschedule(a.id, At(3, 8), At(3, 8) + minutes(30)); }));
  worker_->Nudge();
  WaitFor(
      a.id, [&](const core::Meeting& m) { return m.synced_start == At(3, 8); }, "rescheduled");
  std::vector<std::string> sent;  // method and sendUpdates of every write
  for (const auto& e : google_->RequestLog()) {
    if (e.method == "GET" || !e.path.starts_with(kEventsPath)) continue;
    auto q = ParseQuery(e.query).value_or(KeyValues{});
    sent.push_back(e.method + " " + FindValue(q, "sendUpdates").value_or("(absent)"));
  }
  EXPECT_EQ(sent, (std::vector<std::string>{"POST externalOnly", "PATCH all"}));
}

TEST_P(SyncIntegrationTest, CancelModeMarkCancelledPatchesTheStatusInsteadOfDeleting) {
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.PutSetting(kSettingCancelMode, "mark_cancelled"); }));
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  google_->ClearRequestLog();
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); }));
  worker_->Nudge();
  core::Meeting m = WaitForState(a.id, core::MeetingState::kCancelled);
  EXPECT_TRUE(m.join_url.empty());
  EXPECT_EQ(Requests("DELETE", kEventsPath), 0);
  EXPECT_EQ(Requests("PATCH", kEventsPath + "/" + ready.event_id), 1);
  auto event = EventAtGoogle(ready.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["status"], "cancelled");
  // The conference was not touched: the event still names its Meet.
  EXPECT_EQ((*event)["hangoutLink"], ready.join_url);
  WaitIdle();
  EXPECT_EQ(OutboxTopics(a.id), (std::vector<std::string>{"meeting.ready", "meeting.cancelled"}));
  bool patch_audited = false;
  for (const auto& e : Audit(a.id)) patch_audited |= e.action == "google.events.patch";
  EXPECT_TRUE(patch_audited);
}

// --- Changes made in Google Calendar by hand (appointment.changed_in_google) ---

// The doctor moves our event in Google Calendar: the clinic is told (outbox + audit), the
// meeting shows the drift, the appointment is not moved; the next change of the appointment
// puts the event where the clinic has it.
TEST_P(SyncIntegrationTest, EventMovedInGoogleIsReportedAndRestoredOnTheNextChange) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  CalendarSync sync(*store_, *calendar_, clock_);
  RunResult first = SyncNow(sync);  // the first sync lists everything: nothing drifted
  EXPECT_EQ(first.disposition, Disposition::kCompleted) << first.error;
  EXPECT_TRUE(ChangedInGoogle(a.id).empty());
  auto state = store_->Read([&](store::Tx& tx) { return tx.GetCalendarSync(clinic_.doctor.id); });
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->sync_token.empty());

  // The doctor drags the event two hours later (events.patch as the doctor).
  google::EventDateTime start{
      *core::FormatWithOffset(a.start + std::chrono::hours(2), "Europe/Berlin"), "Europe/Berlin",
      ""};
  google::EventDateTime end{*core::FormatWithOffset(a.end + std::chrono::hours(2), "Europe/Berlin"),
                            "Europe/Berlin", ""};
  ASSERT_TRUE(calendar_->PatchEventTimes(DoctorKey(), "primary", ready.event_id, start, end,
                                         google::SendUpdates::kNone));
  google_->ClearRequestLog();
  RunResult second = SyncNow(sync);
  EXPECT_EQ(second.disposition, Disposition::kCompleted) << second.error;
  int incremental = 0;
  for (const auto& e : google_->RequestLog()) {
    incremental += e.method == "GET" && e.path == kEventsPath && e.query.find("syncToken=") == 0;
  }
  EXPECT_EQ(incremental, 1) << "the change is found by an incremental list";

  auto reported = ChangedInGoogle(a.id);
  ASSERT_EQ(reported.size(), 1u);
  auto payload = nlohmann::json::parse(reported[0].payload);
  EXPECT_EQ(payload["change"], "moved");
  EXPECT_EQ(payload["appointment_id"], a.id);
  EXPECT_EQ(payload["google_start"], start.date_time);
  EXPECT_EQ(payload["start"], core::FormatRfc3339(a.start));
  EXPECT_EQ(AuditCount(a.id, kAppointmentChangedInGoogle), 1);
  core::Meeting drifted = *MeetingOf(a.id);
  EXPECT_EQ(drifted.drift, "moved");
  EXPECT_EQ(drifted.state, core::MeetingState::kReady);
  auto appointment = store_->Read([&](store::Tx& tx) { return tx.GetAppointment(a.id); });
  EXPECT_EQ(appointment->start, a.start) << "the clinic's booking stays the source of truth";
  EXPECT_EQ(appointment->revision, a.revision);
  // Reported once: the next sync (nothing new) is quiet.
  SyncNow(sync);
  EXPECT_EQ(ChangedInGoogle(a.id).size(), 1u);
  EXPECT_EQ((*EventAtGoogle(ready.event_id))["start"]["dateTime"], start.date_time);

  // The clinic reschedules: the event follows the clinic again and the drift is resolved.
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.Reschedule(a.id, At(3, 9), At(3, 9) + minutes(30)); }));
  worker_->Nudge();
  core::Meeting restored = WaitFor(
      a.id, [&](const core::Meeting& m) { return m.drift.empty() && m.synced_start == At(3, 9); },
      "restored");
  EXPECT_EQ(restored.join_url, ready.join_url);
  EXPECT_EQ((*EventAtGoogle(ready.event_id))["start"]["dateTime"], "2026-03-03T10:00:00+01:00");
  WaitIdle();
  EXPECT_EQ(AuditCount(a.id, "meeting.drift_restored"), 1);
  SyncNow(sync);  // our own patch is not news
  EXPECT_EQ(ChangedInGoogle(a.id).size(), 1u);
}

TEST_P(SyncIntegrationTest, EventDeletedInGoogleIsReportedAndRestoredOnTheNextChange) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  CalendarSync sync(*store_, *calendar_, clock_);
  SyncNow(sync);
  ASSERT_TRUE(
      calendar_->DeleteEvent(DoctorKey(), "primary", ready.event_id, google::SendUpdates::kNone));
  EXPECT_EQ(SyncNow(sync).disposition, Disposition::kCompleted);
  auto reported = ChangedInGoogle(a.id);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(reported[0].payload)["change"], "deleted");
  EXPECT_EQ(AuditCount(a.id, kAppointmentChangedInGoogle), 1);
  EXPECT_EQ(MeetingOf(a.id)->drift, "deleted");
  SyncNow(sync);
  EXPECT_EQ(ChangedInGoogle(a.id).size(), 1u);

  // Any change of the appointment (here its notes) brings the event back, with its Meet.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    auto current = tx.GetAppointment(a.id);
    if (!current) return std::unexpected(current.error());
    current->notes = "patient asked for a call-back";
    auto updated = tx.UpdateAppointment(*current);
    if (!updated) return std::unexpected(updated.error());
    return Ok();
  }));
  worker_->Nudge();
  core::Meeting restored = WaitFor(
      a.id, [&](const core::Meeting& m) { return m.drift.empty(); }, "restored");
  EXPECT_EQ(restored.state, core::MeetingState::kReady);
  EXPECT_EQ(restored.join_url, ready.join_url);
  auto event = EventAtGoogle(ready.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["status"], "confirmed");
  EXPECT_EQ((*event)["hangoutLink"], ready.join_url);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_P(SyncIntegrationTest, EventDeletedInGoogleThenCancelledEndsCancelledWithoutDrift) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  CalendarSync sync(*store_, *calendar_, clock_);
  SyncNow(sync);
  ASSERT_TRUE(
      calendar_->DeleteEvent(DoctorKey(), "primary", ready.event_id, google::SendUpdates::kNone));
  SyncNow(sync);
  ASSERT_EQ(MeetingOf(a.id)->drift, "deleted");
  google_->ClearRequestLog();
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); }));
  worker_->Nudge();
  WaitForState(a.id, core::MeetingState::kCancelled);
  WaitIdle();
  EXPECT_TRUE(MeetingOf(a.id)->drift.empty());
  EXPECT_EQ(AuditCount(a.id, "meeting.drift_cleared"), 1);
  int gone = 0;
  for (const auto& e : google_->RequestLog()) gone += e.method == "DELETE" && e.status == 410;
  EXPECT_EQ(gone, 1);  // already deleted in Google: done
  SyncNow(sync);
  EXPECT_EQ(ChangedInGoogle(a.id).size(), 1u);
}

TEST_P(SyncIntegrationTest, AnExpiredSyncTokenFallsBackToAFullSync) {
  Connect();
  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  CalendarSync sync(*store_, *calendar_, clock_);
  SyncNow(sync);
  google_->calendar().InvalidateSyncTokens(kDoctorEmail);
  ASSERT_TRUE(
      calendar_->DeleteEvent(DoctorKey(), "primary", ready.event_id, google::SendUpdates::kNone));
  google_->ClearRequestLog();
  EXPECT_EQ(SyncNow(sync).disposition, Disposition::kCompleted);
  std::vector<int> statuses;
  for (const auto& e : google_->RequestLog()) {
    if (e.method == "GET" && e.path == kEventsPath) statuses.push_back(e.status);
  }
  EXPECT_EQ(statuses, (std::vector<int>{410, 200}));
  ASSERT_EQ(ChangedInGoogle(a.id).size(), 1u);
  SyncNow(sync);  // the new token works
  EXPECT_EQ(ChangedInGoogle(a.id).size(), 1u);
}

// Push: the sync keeps an events.watch channel to a receiver; Google's notification of the
// doctor's change makes the sync run at once (the sweep is an hour away).
TEST_P(SyncIntegrationTest, PushNotificationsTriggerTheSync) {
  net::Router router;
  CalendarSync* sync_ptr = nullptr;
  router.Post(std::string(kPushPath), [&](net::Request& r) { return sync_ptr->HandlePush(r); },
              {.offload = true});
  net::HttpServer receiver({.port = 0}, router);
  ASSERT_TRUE(receiver.Start());
  CalendarSyncOptions options;
  options.push_address = receiver.BaseUrl() + std::string(kPushPath);
  options.sweep_interval = std::chrono::hours(1);
  options.sweep_interval_with_push = std::chrono::hours(1);
  CalendarSync sync(*store_, *calendar_, clock_, options);
  sync_ptr = &sync;
  WorkerOptions w;
  w.kind = std::string(kCalendarSyncJobKind);
  w.threads = 2;
  w.poll_interval = milliseconds(5'000);
  Worker sync_worker(*store_, sync, clock_, w);
  sync.SetOnDue([&] { sync_worker.Nudge(); });
  sync_worker.Start();

  Connect();  // enqueues the doctor's sync: it opens the channel
  sync_worker.Nudge();
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  std::optional<store::CalendarSyncState> state;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = store_->Read([&](store::Tx& tx) { return tx.GetCalendarSync(clinic_.doctor.id); });
    if (s && !s->channel_id.empty() && s->synced_at) {
      state = *s;
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(state.has_value()) << "no channel";
  EXPECT_EQ(state->channel_address, options.push_address);
  EXPECT_GE(state->channel_token.size(), 32u);

  worker_->Start();
  core::Appointment a = Book(At(2, 8));
  core::Meeting ready = WaitForState(a.id, core::MeetingState::kReady);
  WaitIdle();
  google::EventDateTime start{*core::FormatWithOffset(a.start + minutes(30), "Europe/Berlin"),
                              "Europe/Berlin", ""};
  google::EventDateTime end{*core::FormatWithOffset(a.end + minutes(30), "Europe/Berlin"),
                            "Europe/Berlin", ""};
  ASSERT_TRUE(calendar_->PatchEventTimes(DoctorKey(), "primary", ready.event_id, start, end,
                                         google::SendUpdates::kNone));
  deadline = std::chrono::steady_clock::now() + seconds(4);
  while (ChangedInGoogle(a.id).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(ChangedInGoogle(a.id).size(), 1u) << "the push did not bring the change";
  EXPECT_EQ(MeetingOf(a.id)->drift, "moved");

  // A notification on a channel we do not hold, or with a wrong token, changes nothing.
  net::Request forged;
  forged.method = "POST";
  forged.headers.Set("X-Goog-Channel-ID", state->channel_id);
  forged.headers.Set("X-Goog-Channel-Token", "not-the-token");
  forged.headers.Set("X-Goog-Resource-State", "exists");
  // First the run the real push started must be over: not leased, next run at the sweep.
  Result<core::Job> before;
  deadline = std::chrono::steady_clock::now() + seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    before = store_->Read(
        [&](store::Tx& tx) { return tx.GetJob(CalendarSyncJobKey(clinic_.doctor.id)); });
    if (before && before->lease_owner.empty() && !before->rerun &&
        before->run_at > clock_.Now() + minutes(30)) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(before.has_value());
  ASSERT_GT(before->run_at, clock_.Now() + minutes(30)) << "the sync run did not finish";
  EXPECT_EQ(sync.HandlePush(forged).status, 204);
  forged.headers.Set("X-Goog-Channel-ID", "unknown");
  EXPECT_EQ(sync.HandlePush(forged).status, 204);
  // A malformed one is refused before any lookup (google::ParsePushNotification).
  forged.headers.Set("X-Goog-Channel-ID", std::string(65, 'c'));
  EXPECT_EQ(sync.HandlePush(forged).status, 400);
  forged.headers.Set("X-Goog-Channel-ID", state->channel_id);
  forged.headers.Remove("X-Goog-Resource-State");
  EXPECT_EQ(sync.HandlePush(forged).status, 400);
  auto after =
      store_->Read([&](store::Tx& tx) { return tx.GetJob(CalendarSyncJobKey(clinic_.doctor.id)); });
  ASSERT_TRUE(before.has_value() && after.has_value());
  EXPECT_EQ(after->run_at, before->run_at);
  sync_worker.Stop();
  worker_->Stop();
  receiver.Shutdown(milliseconds(500));
}

// An idle worker reads when the next job is due (one read transaction per poll interval) and
// writes nothing; work added without a Nudge is still found within a poll interval.
TEST_P(SyncIntegrationTest, AnIdleWorkerMakesNoWriteTransactions) {
  Connect();
  testing::CountingStore counting(*store_);
  Reconciler reconciler(counting, *calendar_, calls_, clock_, reconciler_->options());
  WorkerOptions w;
  w.threads = 2;
  w.poll_interval = milliseconds(20);
  Worker worker(counting, reconciler, clock_, w);
  worker.Start();
  // Waits until `done` or 10 s (a loaded machine stalls threads for hundreds of milliseconds).
  auto wait_for = [](auto done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return done();
  };
  // The first lease at start-up is a write; the first idle wait comes after it.
  ASSERT_TRUE(wait_for([&] { return worker.idle_waits() >= 1; }));
  const int64_t writes = counting.writes();
  const int64_t reads = counting.reads();
  const int64_t waits = worker.idle_waits();
  ASSERT_TRUE(wait_for([&] { return worker.idle_waits() - waits >= 8; }))
      << "an idle worker waits a poll interval at a time";
  EXPECT_EQ(counting.writes(), writes) << "an idle worker must not write";
  // One read per wait (the first of these waits may have read before the snapshot).
  EXPECT_GE(counting.reads() - reads, 7) << "an idle worker reads the next due time per poll";
  EXPECT_EQ(worker.lease_errors(), 0);

  // Work that arrives without a Nudge (another process) is found by the next poll.
  core::Appointment a;
  a.doctor_id = clinic_.doctor.id;
  a.service_id = clinic_.service.id;
  a.patient_id = clinic_.patient.id;
  a.start = At(2, 8);
  a.end = a.start + minutes(30);
  a.time_zone = "Europe/Berlin";
  a.status = core::AppointmentStatus::kConfirmed;
  auto made = store_->Transact([&](store::Tx& tx) { return tx.CreateAppointment(a); });
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  WaitForState(made->id, core::MeetingState::kReady);
  EXPECT_GT(counting.writes(), writes);
  WaitIdle();
  std::this_thread::sleep_for(milliseconds(100));
  const int64_t after_work = counting.writes();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(counting.writes(), after_work) << "idle again: no writes";
  worker.Stop();
}

// A job that falls due later (here: the lease of a worker that died) wakes the idle worker at
// that moment, not at its next poll.
TEST_P(SyncIntegrationTest, AnIdleWorkerWakesWhenTheNextJobFallsDue) {
  Connect();
  core::Appointment a = Book(At(2, 8));
  store::LeaseRequest r;
  r.owner = "a-worker-that-died";
  r.max = 1;
  r.kind = std::string(store::kReconcileJobKind);
  r.lease_for = milliseconds(400);
  r.now = clock_.Now();
  auto ghost = store_->Transact([&](store::Tx& tx) { return tx.LeaseJobs(r); });
  ASSERT_TRUE(ghost.has_value() && ghost->size() == 1u);
  testing::CountingStore counting(*store_);
  WorkerOptions w;
  w.threads = 2;
  w.poll_interval = milliseconds(5'000);
  Worker worker(counting, *reconciler_, clock_, w);
  const auto started = std::chrono::steady_clock::now();
  worker.Start();
  WaitForState(a.id, core::MeetingState::kReady);
  const auto took = std::chrono::steady_clock::now() - started;
  worker.Stop();
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(3'000)) << "the worker waited for its poll, not for the job";
  // The worker's own writes (the run's go through the fixture's store): the lease at start-up
  // and the one when the job fell due, not one per poll.
  EXPECT_LE(counting.writes(), 4);
}

// The same behaviour on both backends; the PostgreSQL half is registered with the label
// postgres and a server fixture (see CMakeLists.txt).
// A single-event series (M15): one recurring event with one Meet link for every occurrence;
// moving one occurrence patches its instance, cancelling one deletes its instance, and the link
// never changes. An occurrence cancelled before the series' event existed loses its instance
// once another occurrence makes the event.
TEST_P(SyncIntegrationTest, SingleEventSeriesSharesOneLinkAndChangesOnlyItsInstances) {
  Connect();
  // Mondays 10:00 Berlin from 2026-10-19, across the end of summer time on 2026-10-25.
  const core::Recurrence rule = *core::ParseRecurrence("FREQ=WEEKLY;COUNT=4");
  const Instant first = *core::LocalToInstant("2026-10-19T10:00", "Europe/Berlin", "start");
  auto occurrences = core::ExpandRecurrence(rule, first, first + minutes(30), "Europe/Berlin");
  ASSERT_TRUE(occurrences.has_value());
  core::AppointmentSeries series;
  std::vector<core::Appointment> appointments;
  auto booked = store_->Transact([&](store::Tx& tx) -> Status {
    core::AppointmentSeries s;
    s.doctor_id = clinic_.doctor.id;
    s.service_id = clinic_.service.id;
    s.patient_id = clinic_.patient.id;
    s.rrule = core::FormatRecurrence(rule);
    s.time_zone = "Europe/Berlin";
    s.mode = core::SeriesMode::kSingleEvent;
    s.first_start = first;
    s.first_end = first + minutes(30);
    series = TM_TRY(tx.CreateSeries(s));
    for (const core::Occurrence& o : *occurrences) {
      core::Appointment a;
      a.doctor_id = clinic_.doctor.id;
      a.service_id = clinic_.service.id;
      a.patient_id = clinic_.patient.id;
      a.start = o.start;
      a.end = o.end;
      a.time_zone = "Europe/Berlin";
      a.status = core::AppointmentStatus::kConfirmed;
      a.series_id = series.id;
      appointments.push_back(TM_TRY(tx.CreateAppointment(a)));
    }
    // The last occurrence is cancelled before any worker ran: it never has a meeting of its
    // own, but the series' event will hold an instance for it.
    TM_TRY(tx.SetStatus(appointments[3].id, core::AppointmentStatus::kCancelled));
    return Ok();
  });
  ASSERT_TRUE(booked.has_value()) << booked.error().ToString();
  worker_->Start();
  worker_->Nudge();
  for (int i = 0; i < 3; ++i) WaitForState(appointments[i].id, core::MeetingState::kReady);
  WaitIdle();

  // Exactly one event at Google: the recurring one, with the rule and the zone.
  const std::string master_id = core::SeriesEventIdFor(series.uid);
  auto events = Events();
  ASSERT_EQ(events.size(), 1u) << events.dump();
  EXPECT_EQ(events[0]["id"], master_id);
  EXPECT_EQ(events[0]["recurrence"], nlohmann::json::array({"RRULE:FREQ=WEEKLY;COUNT=4"}));
  EXPECT_EQ(events[0]["start"]["timeZone"], "Europe/Berlin");
  EXPECT_EQ(events[0]["start"]["dateTime"], "2026-10-19T10:00:00+02:00");
  int clean_inserts = 0;
  for (const auto& e : google_->RequestLog()) {
    clean_inserts += e.method == "POST" && e.path == kEventsPath && e.status == 200 ? 1 : 0;
  }
  EXPECT_EQ(clean_inserts, 1);

  // One link for all; each occurrence's meeting is its instance, at 10:00 local.
  const std::string link = MeetingOf(appointments[0].id)->join_url;
  ASSERT_FALSE(link.empty());
  for (int i = 0; i < 3; ++i) {
    core::Meeting m = *MeetingOf(appointments[i].id);
    EXPECT_EQ(m.join_url, link) << i;
    EXPECT_EQ(m.event_id, core::InstanceEventId(master_id, appointments[i].start)) << i;
    auto instance = calendar_->GetEvent(DoctorKey(), "primary", m.event_id);
    ASSERT_TRUE(instance.has_value()) << instance.error().ToString();
    EXPECT_EQ(instance->start.date_time.substr(11, 8), "10:00:00") << instance->start.date_time;
    EXPECT_EQ(instance->conference.join_url, link);
  }
  // The occurrence cancelled early has no instance left.
  WaitFor(
      appointments[3].id,
      [](const core::Meeting& m) { return m.state == core::MeetingState::kCancelled; },
      "the early cancellation's instance deleted");
  auto gone = calendar_->GetEvent(DoctorKey(), "primary",
                                  core::InstanceEventId(master_id, appointments[3].start));
  EXPECT_TRUE(!gone.has_value() || gone->cancelled());

  // Move the second occurrence by an hour: its instance alone moves, the link stays.
  const int inserts_before = Inserts();
  auto moved = store_->Transact([&](store::Tx& tx) {
    return tx.Reschedule(appointments[1].id, appointments[1].start + minutes(60),
                         appointments[1].end + minutes(60));
  });
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  worker_->Nudge();
  core::Meeting after_move = WaitFor(
      appointments[1].id,
      [&](const core::Meeting& m) {
        return m.state == core::MeetingState::kReady && m.synced_start == moved->start;
      },
      "the moved instance");
  EXPECT_EQ(after_move.join_url, link);
  EXPECT_EQ(after_move.event_id, core::InstanceEventId(master_id, appointments[1].start));
  auto moved_instance = calendar_->GetEvent(DoctorKey(), "primary", after_move.event_id);
  ASSERT_TRUE(moved_instance.has_value());
  EXPECT_EQ(moved_instance->start.date_time,
            *core::FormatWithOffset(moved->start, "Europe/Berlin"));
  EXPECT_EQ(moved_instance->conference.join_url, link);

  // Cancel the third: its instance is deleted, the first stays as it was.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return tx.SetStatus(appointments[2].id, core::AppointmentStatus::kCancelled);
  }));
  worker_->Nudge();
  WaitForState(appointments[2].id, core::MeetingState::kCancelled);
  WaitIdle();
  auto third = calendar_->GetEvent(DoctorKey(), "primary",
                                   core::InstanceEventId(master_id, appointments[2].start));
  EXPECT_TRUE(!third.has_value() || third->cancelled());
  auto first_instance = calendar_->GetEvent(
      DoctorKey(), "primary", core::InstanceEventId(master_id, appointments[0].start));
  ASSERT_TRUE(first_instance.has_value());
  EXPECT_FALSE(first_instance->cancelled());
  EXPECT_EQ(first_instance->conference.join_url, link);
  auto master = calendar_->GetEvent(DoctorKey(), "primary", master_id);
  ASSERT_TRUE(master.has_value());
  EXPECT_FALSE(master->cancelled());
  EXPECT_EQ(master->conference.join_url, link);
  EXPECT_EQ(Inserts(), inserts_before);  // no new event for a change
  EXPECT_EQ(Events().size(), 1u);
  // Webhooks and emails per occurrence, as for any appointment.
  for (int i = 0; i < 3; ++i) {
    auto topics = OutboxTopics(appointments[i].id);
    EXPECT_EQ(std::count(topics.begin(), topics.end(), std::string(kMeetingReady)), 1) << i;
  }
  auto cancelled_topics = OutboxTopics(appointments[2].id);
  EXPECT_EQ(
      std::count(cancelled_topics.begin(), cancelled_topics.end(), std::string(kMeetingCancelled)),
      1);
}

// The default poll schedule (issue 19): a pending conference is read again after 250 ms, then
// 500 ms (doubling to the cap), and only the run that commits an outbox event (meeting.ready
// here) announces it, after its commit, so the dispatchers deliver at once.
TEST_P(SyncIntegrationTest, PendingConferenceIsReadAgainAfterAQuarterSecondThenDoubling) {
  Connect();
  google_->calendar().SetConferenceBehaviour(
      kDoctorEmail, {emulator::ConferenceMode::kPending, /*pending_reads=*/1});
  int announced = 0;
  int64_t outbox_at_announce = -1;
  ReconcilerOptions options;
  core::Appointment a;
  options.on_outbox = [&] {
    ++announced;
    outbox_at_announce = static_cast<int64_t>(OutboxTopics(a.id).size());
  };
  Reconciler reconciler(*store_, *calendar_, calls_, clock_, options);
  a = Book(At(2, 8));
  // One run of the appointment's job, whenever it is due; when it was due, as the run left it.
  auto run_once = [&](Instant& before, Instant& after) -> std::optional<Instant> {
    store::LeaseRequest r;
    r.owner = "poll-test";
    r.max = 1;
    r.now = clock_.Now() + std::chrono::hours(1);
    r.kind = std::string(store::kReconcileJobKind);
    auto jobs = store_->Transact([&](store::Tx& tx) { return tx.LeaseJobs(r); });
    EXPECT_TRUE(jobs && jobs->size() == 1u);
    if (!jobs || jobs->empty()) return std::nullopt;
    before = clock_.Now();
    reconciler.Run(jobs->front());
    after = clock_.Now();
    auto job = store_->Read([&](store::Tx& tx) { return tx.GetJob(store::ReconcileJobKey(a.id)); });
    if (!job) return std::nullopt;
    return job->run_at;
  };
  Instant before, after;
  auto due = run_once(before, after);  // the insert: pending
  ASSERT_TRUE(due.has_value());
  EXPECT_GE(*due, before + milliseconds(250));
  EXPECT_LE(*due, after + milliseconds(250));
  EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kConferencePending);
  due = run_once(before, after);  // the first read: still pending
  ASSERT_TRUE(due.has_value());
  EXPECT_GE(*due, before + milliseconds(500));
  EXPECT_LE(*due, after + milliseconds(500));
  EXPECT_EQ(announced, 0);
  due = run_once(before, after);  // the second read: the conference exists
  EXPECT_FALSE(due.has_value());  // done
  EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kReady);
  EXPECT_EQ(announced, 1);
  EXPECT_EQ(outbox_at_announce, 1);  // committed before the announcement
  EXPECT_EQ(OutboxTopics(a.id), std::vector<std::string>{"meeting.ready"});
}

INSTANTIATE_TEST_SUITE_P(Backends, SyncIntegrationTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace telemeet::sync
