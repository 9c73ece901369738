// Bulk work through batch (sync/bulk.h) against the real emulator, on SQLite and PostgreSQL:
// backfill, resync of each kind of drift, dry runs, resuming after an interruption, running
// beside a live worker, and the cancel-on-disconnect job.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/strings.h"
#include "core/meeting.h"
#include "core/time.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "emulator/server/fake_google.h"
#include "google/batching_transport.h"
#include "google/calendar_client.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "sync/bulk.h"
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

const std::string kClientId = "telemeet-bulk-test.apps.example";
const std::string kSecret = "bulk-test-secret";
const std::string kDoctorEmail = "bulk@clinic.example";
const std::string kEventsPath = "/calendar/v3/calendars/primary/events";

class SyncBulkTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_NE(store_.operator->(), nullptr) << "no store";
    emulator::FakeGoogleOptions options =
        testing::EmulatorFor(kClientId, kSecret, {{kDoctorEmail, "", "Dr Bulk"}});
    google_ = std::make_unique<emulator::FakeGoogle>(options, clock_);
    ASSERT_TRUE(google_->Start());
    const std::string base = google_->base_url();
    ASSERT_TRUE(keys_.Add("k1", crypto::RandomBytes(32)));
    const google::OAuthConfig oauth_config = testing::OAuthAt(base, kClientId, kSecret);
    oauth_ = std::make_unique<google::OAuthClient>(
        oauth_config, google::OAuthDeps{transport_, clock_, retry_, nullptr});
    tokens_ = std::make_unique<google::TokenProvider>(*oauth_, grants_, keys_, clock_);
    clinic_ = testing::MakeClinic(*store_, kDoctorEmail);

    google::CalendarOptions calendar_options;
    calendar_options.base_url = base;
    calendar_options.timeout = milliseconds(2000);
    // The service: one call per HTTP request.
    calendar_ = std::make_unique<google::CalendarClient>(
        calendar_options,
        google::CalendarDeps{transport_, *tokens_, retry_, clock_, google::RealSleeper::Instance(),
                             &limiter_, &calls_});
    ReconcilerOptions ro;
    ro.poll_base = milliseconds(30);
    ro.poll_max = milliseconds(200);
    ro.retry_base = milliseconds(30);
    ro.retry_max = milliseconds(200);
    ro.actor = "worker:test";
    reconciler_ = std::make_unique<Reconciler>(*store_, *calendar_, calls_, clock_, ro);
    WorkerOptions w;
    w.threads = 4;
    w.batch = 4;
    w.poll_interval = milliseconds(20);
    w.lease_for = seconds(30);
    worker_ = std::make_unique<Worker>(*store_, *reconciler_, clock_, w);

    // The bulk side: its own client over the batching transport, the same limiter and tokens.
    batching_ = std::make_unique<google::BatchingTransport>(transport_, base);
    bulk_calendar_ = std::make_unique<google::CalendarClient>(
        calendar_options,
        google::CalendarDeps{*batching_, *tokens_, retry_, clock_, google::RealSleeper::Instance(),
                             &limiter_, &bulk_calls_});
    ro.actor = "bulk:test";
    bulk_reconciler_ =
        std::make_unique<Reconciler>(*store_, *bulk_calendar_, bulk_calls_, clock_, ro);
    MakeBulk(BulkOptions{});
  }

  void TearDown() override {
    if (bulk_worker_) bulk_worker_->Stop();
    if (worker_) worker_->Stop();
    if (google_) google_->Stop();
  }

  void MakeBulk(BulkOptions o) {
    o.actor = "bulk:test";
    o.pass_pause = milliseconds(20);
    bulk_ = std::make_unique<BulkRunner>(*store_, *bulk_calendar_, *batching_, *bulk_reconciler_,
                                         clock_, o);
  }

  std::string DoctorKey() const { return std::to_string(clinic_.doctor.id); }

  void Connect() {
    auto grant = testing::GrantByConsent(*oauth_, transport_, kDoctorEmail);
    ASSERT_TRUE(grant.has_value());
    ASSERT_TRUE(tokens_->StoreNewGrant(DoctorKey(), *grant, kDoctorEmail));
  }

  Instant At(int day, int hour, int minute = 0) {
    return *core::ParseRfc3339(fmt::format("2027-03-{:02}T{:02}:{:02}:00Z", day, hour, minute));
  }

  // `n` confirmed appointments, 40 minutes apart, made while no worker runs.
  std::vector<core::Appointment> BookMany(int n, int day = 2) {
    std::vector<core::Appointment> out;
    for (int i = 0; i < n; ++i) {
      core::Appointment a;
      a.doctor_id = clinic_.doctor.id;
      a.service_id = clinic_.service.id;
      a.patient_id = clinic_.patient.id;
      a.start = At(day, 0) + minutes(40 * i);
      a.end = a.start + minutes(30);
      a.time_zone = "Europe/Berlin";
      a.status = core::AppointmentStatus::kConfirmed;
      auto made = store_->Transact([&](store::Tx& tx) { return tx.CreateAppointment(a); });
      EXPECT_TRUE(made.has_value()) << made.error().ToString();
      if (made) out.push_back(*made);
    }
    return out;
  }

  // Makes a bulk job and takes its queue job's lease, as the CLI does.
  std::pair<store::BulkJob, core::Job> Start(std::string_view kind, BulkParams params = {}) {
    auto job = CreateBulkJob(*store_, kind, clinic_.doctor.id, params, "cli:test");
    EXPECT_TRUE(job.has_value()) << job.error().ToString();
    return {*job, Lease(job->id, "cli-1")};
  }
  core::Job Lease(int64_t bulk_id, std::string owner) {
    auto lease = store_->Transact([&](store::Tx& tx) {
      return tx.LeaseJobByKey(store::BulkJobKey(bulk_id), owner, seconds(2), clock_.Now());
    });
    EXPECT_TRUE(lease.has_value() && lease->has_value());
    return lease && *lease ? **lease : core::Job{};
  }

  std::optional<core::Meeting> MeetingOf(int64_t appointment_id) {
    auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(appointment_id); });
    if (!m) return std::nullopt;
    return *m;
  }

  // Calls that reached Google's API: HTTP requests, and the calls inside batches.
  int HttpRequests() {
    int n = 0;
    for (const auto& e : google_->RequestLog()) {
      n += !e.in_batch && (e.path.starts_with("/calendar/") || e.path.starts_with("/batch"));
    }
    return n;
  }
  std::map<std::string, int> InsertsByEvent() {
    // The emulator's log has no body; the event id of an insert is found by the events held.
    std::map<std::string, int> out;
    for (const auto& e : google_->RequestLog()) {
      if (e.method == "POST" && e.path == kEventsPath) out["all"] += 1;
    }
    return out;
  }
  int Inserts() { return InsertsByEvent()["all"]; }

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
  int LiveEvents() {
    int n = 0;
    for (const auto& e : Events()) n += e.value("status", "") != "cancelled";
    return n;
  }
  int Outbox(std::string_view topic) {
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListOutbox(p);
    });
    int n = 0;
    if (page) {
      for (const auto& e : page->items) n += e.topic == topic;
    }
    return n;
  }

  // Backfills with the worker stopped and waits for every meeting to be ready.
  void BackfillAll() {
    auto [job, lease] = Start(kBulkBackfill);
    auto ended = bulk_->Execute(job, lease);
    ASSERT_TRUE(ended.has_value()) << ended.error().ToString();
    ASSERT_EQ(ended->state, "done");
    ASSERT_EQ(ended->failed, 0) << ended->failures;
  }

  google::Event Doctors(const std::string& id) {
    auto e = calendar_->GetEvent(DoctorKey(), "primary", id);
    EXPECT_TRUE(e.has_value());
    return e.value_or(google::Event{});
  }

  SystemClock& clock_ = SystemClock::Instance();
  testing::TempStore store_{clock_, GetParam()};
  StoreGrantStore grants_{*store_};
  google::RetryPolicy retry_{[] {
                               google::RetryOptions o;
                               o.max_attempts = 4;
                               o.initial_backoff = milliseconds(20);
                               o.max_backoff = milliseconds(100);
                               o.deadline = seconds(10);
                               return o;
                             }(),
                             clock_, google::RealSleeper::Instance(), 7};
  // Google's per-user quota (600/min) would pace a test of 80 appointments to 8 s; the
  // limiter is the same object for the service and the bulk side, with a test's rates.
  google::RateLimiter limiter_{[] {
                                 google::RateLimitOptions o;
                                 o.doctor_per_minute = 60'000;
                                 o.doctor_burst = 200;
                                 o.project_burst = 1000;
                                 o.project_per_minute = 600'000;
                                 return o;
                               }(),
                               clock_, google::RealSleeper::Instance()};
  net::HttpClient http_;
  google::HttpTransport transport_{http_};
  crypto::KeyRing keys_;
  CallCollector calls_;
  CallCollector bulk_calls_;
  std::unique_ptr<emulator::FakeGoogle> google_;
  std::unique_ptr<google::OAuthClient> oauth_;
  std::unique_ptr<google::TokenProvider> tokens_;
  std::unique_ptr<google::CalendarClient> calendar_;
  std::unique_ptr<google::BatchingTransport> batching_;
  std::unique_ptr<google::CalendarClient> bulk_calendar_;
  testing::Clinic clinic_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<Reconciler> bulk_reconciler_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<BulkRunner> bulk_;
  std::unique_ptr<Worker> bulk_worker_;
};

TEST_P(SyncBulkTest, BackfillMakesEveryMeetingThroughBatches) {
  Connect();
  auto booked = BookMany(60);
  google_->ClearRequestLog();
  std::vector<int64_t> seen;
  auto [job, lease] = Start(kBulkBackfill);
  auto ended = bulk_->Execute(job, lease, [&](const store::BulkJob& j) { seen.push_back(j.done); });
  ASSERT_TRUE(ended.has_value()) << ended.error().ToString();
  EXPECT_EQ(ended->state, "done");
  EXPECT_EQ(ended->total, 60);
  EXPECT_EQ(ended->done, 60);
  EXPECT_EQ(ended->failed, 0) << ended->failures;
  EXPECT_EQ(seen.back(), 60);
  std::set<std::string> links;
  for (const auto& a : booked) {
    auto m = MeetingOf(a.id);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->state, core::MeetingState::kReady);
    EXPECT_FALSE(m->join_url.empty());
    links.insert(m->join_url);
  }
  EXPECT_EQ(links.size(), 60u);
  EXPECT_EQ(LiveEvents(), 60);
  EXPECT_EQ(Inserts(), 60);  // each insert counted by Google, inside its batch
  // 60 inserts in two batches (50 + 10); no call went alone.
  EXPECT_EQ(HttpRequests(), 2);
  if (HttpRequests() != 2) {
    for (const auto& e : google_->RequestLog()) {
      ADD_FAILURE() << e.time_ms << " " << e.method << " " << e.path << " " << e.status << " "
                    << e.in_batch;
    }
  }
  // The same audit trail as the worker writes.
  auto audit = store_->Read([&](store::Tx& tx) { return tx.ListAudit(booked[0].id, {}); });
  ASSERT_TRUE(audit.has_value());
  bool insert_audited = false;
  for (const auto& e : audit->items) insert_audited |= e.action == "google.events.insert";
  EXPECT_TRUE(insert_audited);
  EXPECT_EQ(Outbox(kMeetingReady), 60);
  auto row = store_->Read([&](store::Tx& tx) { return tx.GetBulkJob(job.id); });
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state, "done");
  EXPECT_EQ(row->cursor, booked.back().id);
}

TEST_P(SyncBulkTest, DryRunChangesNothing) {
  Connect();
  auto booked = BookMany(7);
  google_->ClearRequestLog();
  auto job = CreateBulkJob(*store_, kBulkBackfill, clinic_.doctor.id, {}, "cli:test");
  ASSERT_TRUE(job.has_value());
  auto plan = bulk_->Plan(*job);
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->size(), 7u);
  EXPECT_EQ((*plan)[0].what, "create");
  EXPECT_EQ((*plan)[0].appointment_id, booked[0].id);
  EXPECT_EQ((*plan)[0].event_id, core::EventIdFor(booked[0].uid));
  EXPECT_EQ(HttpRequests(), 0);
  for (const auto& a : booked) EXPECT_FALSE(MeetingOf(a.id).has_value());
}

TEST_P(SyncBulkTest, ResumesAfterAnInterruptionWithoutRepeatingWork) {
  Connect();
  auto booked = BookMany(30);
  google_->ClearRequestLog();
  BulkOptions o;
  o.chunk = 10;
  o.lease_for = seconds(1);
  MakeBulk(o);
  auto [job, lease] = Start(kBulkBackfill);
  struct Crash {};
  int reports = 0;
  try {
    (void)bulk_->Execute(job, lease, [&](const store::BulkJob& j) {
      // The first report is the start; the third follows the second chunk: die there.
      if (++reports == 3) {
        EXPECT_EQ(j.done, 20);
        throw Crash{};
      }
    });
    FAIL() << "did not stop";
  } catch (const Crash&) {
  }
  EXPECT_EQ(Inserts(), 20);
  // The dead runner's lease holds the job for a while; then another runner resumes it.
  auto saved = store_->Read([&](store::Tx& tx) { return tx.GetBulkJob(job.id); });
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->state, "running");
  EXPECT_EQ(saved->done, 20);
  auto early = store_->Transact([&](store::Tx& tx) {
    return tx.LeaseJobByKey(store::BulkJobKey(job.id), "cli-2", seconds(2), clock_.Now());
  });
  ASSERT_TRUE(early.has_value());
  EXPECT_FALSE(early->has_value()) << "the first runner's lease is still live";
  auto open = store_->Read([&](store::Tx& tx) {
    return tx.FindOpenBulkJob(kBulkBackfill, clinic_.doctor.id, job.params);
  });
  ASSERT_TRUE(open.has_value() && open->has_value());
  EXPECT_EQ((*open)->id, job.id);
  std::this_thread::sleep_for(milliseconds(2100));
  core::Job second = Lease(job.id, "cli-2");
  ASSERT_GT(second.lease_seq, lease.lease_seq);
  auto ended = bulk_->Execute(**open, second);
  ASSERT_TRUE(ended.has_value()) << ended.error().ToString();
  EXPECT_EQ(ended->state, "done");
  EXPECT_EQ(ended->done, 30);
  EXPECT_EQ(ended->total, 30);
  EXPECT_EQ(Inserts(), 30) << "the first 20 were not made again";
  EXPECT_EQ(LiveEvents(), 30);
  for (const auto& a : booked) EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kReady);
  // The dead runner, were it to wake up, is fenced off.
  EXPECT_FALSE(store_->Transact([&](store::Tx& tx) { return tx.CompleteJob(lease); }));
}

TEST_P(SyncBulkTest, BesideALiveWorkerNoEventIsMadeTwice) {
  Connect();
  auto booked = BookMany(80);
  google_->ClearRequestLog();
  // 100 ms a call: the worker's 4 threads need seconds for 80 appointments one call each, while
  // the bulk run's first batch takes 50 in one request, so both sides do part of the work even
  // on a loaded machine (without it, the worker could finish before the bulk run began).
  google_->SetLatency(milliseconds(100));
  // The passes over appointments the worker holds may wait as long as the product's default
  // (30 passes 200 ms apart), not the fixture's 30 × 20 ms: under ThreadSanitizer one was still
  // held after 0.6 s and reported "still busy".
  BulkOptions o;
  o.max_passes = 300;
  MakeBulk(o);
  worker_->Start();  // the service reconciles the same appointments meanwhile
  auto [job, lease] = Start(kBulkBackfill);
  auto ended = bulk_->Execute(job, lease);
  ASSERT_TRUE(ended.has_value()) << ended.error().ToString();
  EXPECT_EQ(ended->failed, 0) << ended->failures;
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  auto all_ready = [&] {
    for (const auto& a : booked) {
      auto m = MeetingOf(a.id);
      if (!m || m->state != core::MeetingState::kReady) return false;
    }
    return true;
  };
  while (!all_ready() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(all_ready());
  worker_->Stop();
  EXPECT_EQ(LiveEvents(), 80);
  // One insert per appointment in all: never both the worker and the bulk run for one (a second
  // insert would answer 409 and show here).
  EXPECT_EQ(Inserts(), 80);
  int conflicts = 0;
  for (const auto& e : google_->RequestLog()) conflicts += e.status == 409;
  EXPECT_EQ(conflicts, 0);
  EXPECT_EQ(Outbox(kMeetingReady), 80);
  // Both sides did part of the work (the test would prove nothing otherwise).
  int by_worker = 0, by_bulk = 0;
  for (const auto& a : booked) {
    auto audit = store_->Read([&](store::Tx& tx) { return tx.ListAudit(a.id, {}); });
    ASSERT_TRUE(audit.has_value());
    for (const auto& e : audit->items) {
      if (e.action != "google.events.insert") continue;
      by_worker += e.actor == "worker:test";
      by_bulk += e.actor == "bulk:test";
    }
  }
  EXPECT_EQ(by_worker + by_bulk, 80);
  EXPECT_GT(by_worker, 0);
  EXPECT_GT(by_bulk, 0);
}

// A live worker that takes a job again as soon as it is due (its dispatcher leases ahead) must
// not be kept at one appointment by the bulk run's passes: a pass that finds the job held leaves
// it as it is. Here a stand-in worker holds the job for longer than a pass pause each time, and
// in the transaction that completes it takes it again if it is still there. Were each pass to
// mark the held job to run again, the job would never be free when a pass looked, and the bulk
// run would give the appointment up as "still busy" (CI saw this beside the real worker).
TEST_P(SyncBulkTest, APassLeavesAJobTheWorkerHoldsAsItIs) {
  Connect();
  auto booked = BookMany(1);
  const std::string key = store::ReconcileJobKey(booked[0].id);
  auto first = store_->Transact(
      [&](store::Tx& tx) { return tx.LeaseJobByKey(key, "worker-1", seconds(30), clock_.Now()); });
  ASSERT_TRUE(first.has_value() && first->has_value()) << "booking made the reconcile job";
  BulkOptions o;
  o.max_passes = 25;  // 25 × 20 ms: plenty once the job is free, and an end when it never is
  MakeBulk(o);
  auto [job, lease] = Start(kBulkBackfill);
  std::atomic<bool> stop = false;
  int holds = 1;
  std::thread worker([&] {
    // From the moment the bulk run starts its passes (it saves "running" just before the first),
    // so that a pass always finds the job held, however slow the run's start.
    for (auto until = std::chrono::steady_clock::now() + seconds(20);
         !stop && std::chrono::steady_clock::now() < until;) {
      auto saved = store_->Read([&](store::Tx& tx) { return tx.GetBulkJob(job.id); });
      if (saved && saved->state == "running") break;
      std::this_thread::sleep_for(milliseconds(1));
    }
    std::optional<core::Job> held = **first;
    while (held && !stop) {
      std::this_thread::sleep_for(milliseconds(60));  // three pass pauses: a pass sees it held
      auto next = store_->Transact([&](store::Tx& tx) -> Result<std::optional<core::Job>> {
        TM_TRY(tx.CompleteJob(*held));
        return tx.LeaseJobByKey(key, "worker-1", seconds(30), clock_.Now());
      });
      ASSERT_TRUE(next.has_value()) << next.error().ToString();
      held = *next;
      holds += held.has_value();
    }
  });
  auto ended = bulk_->Execute(job, lease);
  stop = true;
  worker.join();
  ASSERT_TRUE(ended.has_value()) << ended.error().ToString();
  EXPECT_EQ(ended->failed, 0) << ended->failures;
  EXPECT_EQ(ended->done, 1);
  EXPECT_EQ(holds, 1) << "the worker got the job back after its run";
  EXPECT_EQ(MeetingOf(booked[0].id)->state, core::MeetingState::kReady);
  EXPECT_EQ(Inserts(), 1);
}

// A stray copy of an event whose appointment's reconcile job the service's worker holds is left
// for the next resync: the item fails once with that reason, and the copy stays at Google.
TEST_P(SyncBulkTest, AStrayOfAnAppointmentTheWorkerHoldsIsLeftForTheNextResync) {
  Connect();
  auto booked = BookMany(1);
  BackfillAll();
  google::EventSpec copy;
  copy.id = "dup000000000000009";
  copy.summary = "copy";
  copy.start = {core::FormatRfc3339(booked[0].start), "UTC", ""};
  copy.end = {core::FormatRfc3339(booked[0].end), "UTC", ""};
  copy.private_properties = {{std::string(kAppointmentIdProperty), std::to_string(booked[0].id)},
                             {std::string(kAppointmentUidProperty), booked[0].uid}};
  ASSERT_TRUE(calendar_->InsertEvent(DoctorKey(), "primary", copy, google::SendUpdates::kNone));
  auto held = store_->Transact([&](store::Tx& tx) -> Result<std::optional<core::Job>> {
    TM_TRY(tx.EnqueueReconcile(booked[0].id));
    return tx.LeaseJobByKey(store::ReconcileJobKey(booked[0].id), "worker-1", seconds(30),
                            clock_.Now());
  });
  ASSERT_TRUE(held.has_value() && held->has_value());
  auto [job, lease] = Start(kBulkResync);
  auto ended = bulk_->Execute(job, lease);
  ASSERT_TRUE(ended.has_value()) << ended.error().ToString();
  EXPECT_EQ(ended->failed, 1);
  const auto failures = nlohmann::json::parse(ended->failures);
  ASSERT_EQ(failures.size(), 1u) << ended->failures;
  EXPECT_EQ(failures[0]["appointment_id"], booked[0].id);
  EXPECT_EQ(failures[0]["error"], "its reconcile job is running; resync again");
  EXPECT_EQ((*EventAtGoogle(copy.id))["status"], "confirmed");
}

TEST_P(SyncBulkTest, ResyncRepairsMissingStrayAndMovedEvents) {
  Connect();
  auto booked = BookMany(6);
  BackfillAll();
  const core::Meeting missing = *MeetingOf(booked[0].id);
  const core::Meeting moved = *MeetingOf(booked[1].id);
  const core::Meeting copied = *MeetingOf(booked[2].id);
  // The doctor deletes one event, drags another, and copies a third (a new id, our properties).
  ASSERT_TRUE(
      calendar_->DeleteEvent(DoctorKey(), "primary", missing.event_id, google::SendUpdates::kNone));
  const Instant later = booked[1].start + std::chrono::hours(2);
  google::EventDateTime start{*core::FormatWithOffset(later, "Europe/Berlin"), "Europe/Berlin", ""};
  google::EventDateTime end{*core::FormatWithOffset(later + minutes(30), "Europe/Berlin"),
                            "Europe/Berlin", ""};
  ASSERT_TRUE(calendar_->PatchEventTimes(DoctorKey(), "primary", moved.event_id, start, end,
                                         google::SendUpdates::kNone));
  google::EventSpec copy;
  copy.id = "dup000000000000001";
  copy.summary = "copy";
  copy.start = start;
  copy.end = end;
  copy.private_properties = {{std::string(kAppointmentIdProperty), std::to_string(booked[2].id)},
                             {std::string(kAppointmentUidProperty), booked[2].uid}};
  ASSERT_TRUE(calendar_->InsertEvent(DoctorKey(), "primary", copy, google::SendUpdates::kNone));
  // A stray of a cancelled appointment whose own event is gone, and someone else's event.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return tx.SetStatus(booked[3].id, core::AppointmentStatus::kCancelled);
  }));
  worker_->Start();
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (MeetingOf(booked[3].id)->state != core::MeetingState::kCancelled &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  worker_->Stop();
  copy.id = "dup000000000000002";
  copy.private_properties[std::string(kAppointmentIdProperty)] = std::to_string(booked[3].id);
  copy.private_properties[std::string(kAppointmentUidProperty)] = booked[3].uid;
  ASSERT_TRUE(calendar_->InsertEvent(DoctorKey(), "primary", copy, google::SendUpdates::kNone));
  copy.id = "other0000000000001";
  copy.private_properties[std::string(kAppointmentUidProperty)] = "another-installations-uid";
  ASSERT_TRUE(calendar_->InsertEvent(DoctorKey(), "primary", copy, google::SendUpdates::kNone));
  const int live_before = LiveEvents();

  // The dry run says what it would do, and does nothing.
  google_->ClearRequestLog();
  auto probe = CreateBulkJob(*store_, kBulkResync, clinic_.doctor.id, {}, "cli:test");
  ASSERT_TRUE(probe.has_value());
  auto plan = bulk_->Plan(*probe);
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  std::map<std::string, std::vector<int64_t>> planned;
  for (const auto& c : *plan) planned[c.what].push_back(c.appointment_id);
  EXPECT_EQ(planned["recreate_missing"], std::vector<int64_t>{booked[0].id});
  EXPECT_EQ(planned["flag_moved"], std::vector<int64_t>{booked[1].id});
  EXPECT_EQ(planned["delete_stray"], (std::vector<int64_t>{booked[2].id, booked[3].id}));
  EXPECT_EQ(plan->size(), 4u);
  for (const auto& e : google_->RequestLog()) EXPECT_EQ(e.method, "GET") << e.path;
  EXPECT_EQ(LiveEvents(), live_before);
  EXPECT_EQ(MeetingOf(booked[1].id)->drift, "");

  // The real run (default policy for moved events: flag).
  google_->ClearRequestLog();
  auto [job, lease] = Start(kBulkResync);
  auto ended = bulk_->Execute(job, lease);
  ASSERT_TRUE(ended.has_value()) << ended.error().ToString();
  EXPECT_EQ(ended->done, 4);
  EXPECT_EQ(ended->failed, 0) << ended->failures;
  // Missing: back, with the same link (Google keeps a deleted id; it is put back).
  auto back = EventAtGoogle(missing.event_id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ((*back)["status"], "confirmed");
  EXPECT_EQ(MeetingOf(booked[0].id)->state, core::MeetingState::kReady);
  EXPECT_EQ(MeetingOf(booked[0].id)->join_url, missing.join_url);
  // Moved: flagged, told to the clinic, left as the doctor made it.
  EXPECT_EQ(MeetingOf(booked[1].id)->drift, "moved");
  EXPECT_EQ(Outbox(kAppointmentChangedInGoogle), 1);
  EXPECT_EQ((*EventAtGoogle(moved.event_id))["start"]["dateTime"], start.date_time);
  // Strays: gone; someone else's event: untouched; the real ones: untouched.
  EXPECT_EQ((*EventAtGoogle("dup000000000000001"))["status"], "cancelled");
  EXPECT_EQ((*EventAtGoogle("dup000000000000002"))["status"], "cancelled");
  EXPECT_EQ((*EventAtGoogle("other0000000000001"))["status"], "confirmed");
  EXPECT_EQ((*EventAtGoogle(copied.event_id))["status"], "confirmed");
  EXPECT_EQ(LiveEvents(), live_before + 1 - 2);
  // The writes went in batches: 2 deletes in one, the re-insert of the missing one alone.
  int batches = 0;
  for (const auto& e : google_->RequestLog()) batches += e.path.starts_with("/batch");
  EXPECT_GE(batches, 1);

  // A second resync finds nothing left to do.
  auto again = CreateBulkJob(*store_, kBulkResync, clinic_.doctor.id, {}, "cli:test");
  ASSERT_TRUE(again.has_value());
  auto nothing = bulk_->Plan(*again);
  ASSERT_TRUE(nothing.has_value());
  EXPECT_TRUE(nothing->empty()) << (*nothing)[0].what;
}

TEST_P(SyncBulkTest, ResyncCanPutAMovedEventBack) {
  Connect();
  auto booked = BookMany(2);
  BackfillAll();
  const core::Meeting moved = *MeetingOf(booked[1].id);
  const Instant later = booked[1].start + std::chrono::hours(3);
  google::EventDateTime start{*core::FormatWithOffset(later, "Europe/Berlin"), "Europe/Berlin", ""};
  google::EventDateTime end{*core::FormatWithOffset(later + minutes(30), "Europe/Berlin"),
                            "Europe/Berlin", ""};
  ASSERT_TRUE(calendar_->PatchEventTimes(DoctorKey(), "primary", moved.event_id, start, end,
                                         google::SendUpdates::kNone));
  BulkParams params;
  params.moved = MovedPolicy::kRestore;
  auto [job, lease] = Start(kBulkResync, params);
  auto ended = bulk_->Execute(job, lease);
  ASSERT_TRUE(ended.has_value()) << ended.error().ToString();
  EXPECT_EQ(ended->done, 1);
  EXPECT_EQ(ended->failed, 0) << ended->failures;
  auto event = EventAtGoogle(moved.event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["start"]["dateTime"],
            *core::FormatWithOffset(booked[1].start, "Europe/Berlin"));
  core::Meeting after = *MeetingOf(booked[1].id);
  EXPECT_EQ(after.state, core::MeetingState::kReady);
  EXPECT_EQ(after.drift, "");
  EXPECT_EQ(after.join_url, moved.join_url);
  EXPECT_EQ(after.synced_start, booked[1].start);
}

TEST_P(SyncBulkTest, DisconnectCancelJobDeletesEveryFutureEventThroughBatch) {
  Connect();
  auto booked = BookMany(55, 20);
  BackfillAll();
  ASSERT_EQ(LiveEvents(), 55);
  google_->ClearRequestLog();
  auto job = CreateBulkJob(*store_, kBulkDisconnectCancel, clinic_.doctor.id, {}, "user:1");
  ASSERT_TRUE(job.has_value());
  WorkerOptions w;
  w.kind = std::string(store::kBulkJobKind);
  w.threads = 1;
  w.poll_interval = milliseconds(20);
  bulk_worker_ = std::make_unique<Worker>(*store_, *bulk_, clock_, w);
  bulk_worker_->Start();
  auto deadline = std::chrono::steady_clock::now() + seconds(30);
  store::BulkJob row;
  while (std::chrono::steady_clock::now() < deadline) {
    row = store_->Read([&](store::Tx& tx) { return tx.GetBulkJob(job->id); }).value_or(row);
    if (row.state == "done") break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_EQ(row.state, "done");
  EXPECT_EQ(row.total, 55);
  EXPECT_EQ(row.done, 55);
  EXPECT_EQ(row.failed, 0) << row.failures;
  EXPECT_EQ(LiveEvents(), 0);
  int batches = 0, deletes = 0;
  for (const auto& e : google_->RequestLog()) {
    batches += e.path.starts_with("/batch");
    deletes += e.method == "DELETE" && e.in_batch;
  }
  EXPECT_EQ(batches, 2);  // 50 + 5
  EXPECT_EQ(deletes, 55);
  for (const auto& a : booked) {
    EXPECT_EQ(MeetingOf(a.id)->state, core::MeetingState::kAwaitingDoctor);
  }
  EXPECT_EQ(Outbox(kMeetingCancelled), 55);
  auto grant = store_->Read([&](store::Tx& tx) { return tx.GetGrant(clinic_.doctor.id); });
  EXPECT_FALSE(grant.has_value()) << "the grant is removed at the end";
  auto queued = store_->Read([&](store::Tx& tx) { return tx.GetJob(store::BulkJobKey(job->id)); });
  EXPECT_FALSE(queued.has_value()) << "the queue job is done";
}

INSTANTIATE_TEST_SUITE_P(Backends, SyncBulkTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace telemeet::sync
