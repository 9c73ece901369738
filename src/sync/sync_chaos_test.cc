// Chaos: appointments are created, rescheduled and cancelled while fake-google fails 10% of
// Calendar calls with 5xx, times out 5%, loses the answer of 3% after doing the work, refuses
// everything with 429 during short rate-limit storms, and the worker process is SIGKILLed at
// random moments and restarted. At the end the emulator must
// hold exactly what the appointments say: one event per active appointment with the right
// times and one conference, none for cancelled ones, and exactly one successful insert per
// event (every other insert was answered 409 and adopted).
//
// Recurring series (M15) take part: each doctor has a weekly series across the end of summer
// time whose occurrences are appointments like the others (one event each, kept at 10:00 local
// unless moved), and one series has the rest of its occurrences cancelled mid-run. One more
// series is a single-event one: exactly one recurring event must exist for it, every occurrence
// sharing its link, each moved one's instance moved and each cancelled one's instance deleted.
//
// SYNC_CHAOS_APPOINTMENTS (default 300) and SYNC_CHAOS_KILLS (default 5) scale it.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "base/strings.h"
#include "core/meeting.h"
#include "core/recurrence.h"
#include "core/time.h"
#include "crypto/encoding.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "emulator/server/fake_google.h"
#include "google/calendar_client.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "sync/grant_store_adapter.h"
#include "sync/testing/google_fixture.h"
#include "sync/testing_util.h"

extern char** environ;

namespace telemeet::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kClientId = "telemeet-chaos.apps.example";
const std::string kSecret = "chaos-secret";
constexpr int kDoctors = 5;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

std::string Email(int i) { return fmt::format("doctor{}@clinic.example", i); }

class Child {
 public:
  Child(const std::string& store_url, const std::string& base, const std::string& key_hex) {
    std::string threads = "8";
    // The production lease (WorkerOptions): on PostgreSQL a killed instance's jobs wait it out
    // on the living; on SQLite the restarted process takes them back at once (ReclaimLeases).
    std::string lease = "15000";
    std::vector<std::string> args = {SYNC_WORKER_CHILD, store_url, base, kClientId, threads, lease};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
    env_store.push_back("TELEMEET_TEST_KEY=" + key_hex);
    env_store.push_back("TELEMEET_TEST_CLIENT_SECRET=" + kSecret);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid_, SYNC_WORKER_CHILD, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0);
  }
  ~Child() { Kill(SIGKILL); }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

class SyncChaosTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_NE(store_.operator->(), nullptr) << "no store";
    emulator::FakeGoogleOptions options = testing::EmulatorFor(kClientId, kSecret, {});
    for (int i = 0; i < kDoctors; ++i) options.accounts.push_back({Email(i), "", ""});
    options.request_log_size = 1'000'000;
    options.fault_seed = 11;
    google_ = std::make_unique<emulator::FakeGoogle>(options, clock_);
    ASSERT_TRUE(google_->Start("127.0.0.1", 0, 4));
    key_ = crypto::RandomBytes(32);
    ASSERT_TRUE(keys_.Add("k1", key_));
    const std::string base = google_->base_url();
    const google::OAuthConfig c = testing::OAuthAt(base, kClientId, kSecret);
    oauth_ = std::make_unique<google::OAuthClient>(
        c, google::OAuthDeps{transport_, clock_, retry_, nullptr});
    tokens_ = std::make_unique<google::TokenProvider>(*oauth_, grants_, keys_, clock_);
  }
  void TearDown() override {
    if (google_) google_->Stop();
  }

  void Connect(int64_t doctor_id, const std::string& email) {
    auto grant = testing::GrantByConsent(*oauth_, transport_, email);
    ASSERT_TRUE(grant.has_value());
    ASSERT_TRUE(tokens_->StoreNewGrant(std::to_string(doctor_id), *grant, email));
  }

  // For a moment every Calendar call is refused with 429 rateLimitExceeded (Retry-After: 1).
  void RateLimitStorm() {
    emulator::QuotaOptions storm;
    storm.per_user = 0;
    storm.per_project = 1;
    storm.status = 429;
    storm.retry_after_seconds = 1;
    google_->quota().SetOptions(storm);
    std::this_thread::sleep_for(milliseconds(300));
    emulator::QuotaOptions calm;
    calm.per_user = 0;
    calm.per_project = 0;
    google_->quota().SetOptions(calm);
    ++storms_;
  }

  int storms_ = 0;
  SystemClock& clock_ = SystemClock::Instance();
  testing::TempStore store_{clock_, GetParam()};
  StoreGrantStore grants_{*store_};
  google::RetryPolicy retry_{google::RetryOptions{}, clock_, google::RealSleeper::Instance(), 1};
  net::HttpClient http_;
  google::HttpTransport transport_{http_};
  std::string key_;
  crypto::KeyRing keys_;
  std::unique_ptr<emulator::FakeGoogle> google_;
  std::unique_ptr<google::OAuthClient> oauth_;
  std::unique_ptr<google::TokenProvider> tokens_;
};

TEST_P(SyncChaosTest, EveryAppointmentEndsWithExactlyTheRightEvent) {
  const int n = EnvInt("SYNC_CHAOS_APPOINTMENTS", 300);
  const int kills = EnvInt("SYNC_CHAOS_KILLS", 5);
  std::mt19937 rng(20260301);

  // Doctors (connected), one service, one patient.
  std::vector<testing::Clinic> clinics;
  for (int d = 0; d < kDoctors; ++d) {
    clinics.push_back(testing::MakeClinic(*store_, Email(d)));
    Connect(clinics.back().doctor.id, Email(d));
  }

  for (auto [kind, fraction, after] :
       {std::tuple{emulator::FaultKind::kBackendError, 0.10, false},
        std::tuple{emulator::FaultKind::kTimeout, 0.05, false},
        // Lost answers use 503 so the request log tells them from the 500s that ran nothing.
        std::tuple{emulator::FaultKind::kUnavailable, 0.03, true}}) {
    emulator::FaultRule rule;
    rule.path_prefix = "/calendar/v3/";
    rule.kind = kind;
    rule.fraction = fraction;
    rule.after = after;
    rule.delay = milliseconds(1'300);  // > the child's 1 s client timeout
    google_->faults().Add(rule);
  }

  const std::string store_url = store_.url();
  const std::string key_hex = crypto::HexEncode(key_);
  // SQLite: one worker process; PostgreSQL: three instances sharing the work.
  const int instances = GetParam() == "postgres" ? 3 : 1;
  std::vector<std::unique_ptr<Child>> children;
  for (int i = 0; i < instances; ++i) {
    children.push_back(std::make_unique<Child>(store_url, google_->base_url(), key_hex));
  }

  const Instant base = *core::ParseRfc3339("2026-04-01T06:00:00Z");
  std::vector<core::Appointment> appointments;
  int killed = 0;
  std::uniform_int_distribution<int> percent(0, 99);
  auto maybe_kill = [&](int step, int steps) {
    if (killed < kills && step >= (killed + 1) * steps / (kills + 1)) {
      std::this_thread::sleep_for(milliseconds(50 + percent(rng) * 3));
      auto& victim = children[static_cast<size_t>(percent(rng)) % children.size()];
      victim->Kill(SIGKILL);
      ++killed;
      victim = std::make_unique<Child>(store_url, google_->base_url(), key_hex);
    }
  };
  const int steps = n + n / 2;
  int step = 0;
  for (int i = 0; i < n; ++i, ++step) {
    const testing::Clinic& c = clinics[i % kDoctors];
    core::Appointment a;
    a.doctor_id = c.doctor.id;
    a.service_id = c.service.id;
    a.patient_id = c.patient.id;
    a.start = base + std::chrono::hours(i);
    a.end = a.start + minutes(30);
    a.time_zone = "Europe/Berlin";
    a.status = core::AppointmentStatus::kConfirmed;
    auto made = store_->Transact([&](store::Tx& tx) { return tx.CreateAppointment(a); });
    ASSERT_TRUE(made.has_value()) << made.error().ToString();
    appointments.push_back(*made);
    maybe_kill(step, steps);
  }
  // A weekly series per doctor, Mondays 10:00 Berlin across the change of offset on 2026-10-25,
  // booked as the API books one: the series row and one confirmed appointment per occurrence.
  const core::Recurrence weekly = *core::ParseRecurrence("FREQ=WEEKLY;COUNT=6");
  std::vector<int64_t> series_ids;
  std::vector<std::string> series_uids;
  std::set<int64_t> series_appointments;
  std::set<int64_t> single_event_appointments;  // of the last series
  for (int d = 0; d <= kDoctors; ++d) {
    const bool single_event = d == kDoctors;
    const testing::Clinic& c = clinics[static_cast<size_t>(d % kDoctors)];
    const Instant first =
        *core::LocalToInstant(fmt::format("2026-10-12T{}:{:02}", single_event ? 12 : 10, d * 5),
                              "Europe/Berlin", "start");
    auto occurrences = core::ExpandRecurrence(weekly, first, first + minutes(30), "Europe/Berlin");
    ASSERT_TRUE(occurrences.has_value()) << occurrences.error().ToString();
    auto booked = store_->Transact([&](store::Tx& tx) -> Result<std::vector<core::Appointment>> {
      core::AppointmentSeries series;
      series.doctor_id = c.doctor.id;
      series.service_id = c.service.id;
      series.patient_id = c.patient.id;
      series.rrule = core::FormatRecurrence(weekly);
      series.time_zone = "Europe/Berlin";
      series.first_start = first;
      series.first_end = first + minutes(30);
      if (single_event) series.mode = core::SeriesMode::kSingleEvent;
      series = TM_TRY(tx.CreateSeries(series));
      series_ids.push_back(series.id);
      series_uids.push_back(series.uid);
      std::vector<core::Appointment> out;
      for (const core::Occurrence& o : *occurrences) {
        core::Appointment a;
        a.doctor_id = c.doctor.id;
        a.service_id = c.service.id;
        a.patient_id = c.patient.id;
        a.start = o.start;
        a.end = o.end;
        a.time_zone = "Europe/Berlin";
        a.status = core::AppointmentStatus::kConfirmed;
        a.series_id = series.id;
        out.push_back(TM_TRY(tx.CreateAppointment(a)));
      }
      return out;
    });
    ASSERT_TRUE(booked.has_value()) << booked.error().ToString();
    for (const core::Appointment& a : *booked) {
      series_appointments.insert(a.id);
      if (single_event) single_event_appointments.insert(a.id);
      appointments.push_back(a);
    }
  }

  // Reschedules (some several times) and cancels, spread over the run.
  std::uniform_int_distribution<size_t> pick(0, appointments.size() - 1);
  for (int k = 0; k < n / 2; ++k, ++step) {
    if (k > 0 && k % (n / 8 + 1) == 0) RateLimitStorm();
    core::Appointment& a = appointments[pick(rng)];
    if (a.status == core::AppointmentStatus::kCancelled) continue;
    Result<core::Appointment> changed;
    if (percent(rng) < 30) {
      changed = store_->Transact(
          [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); });
    } else {
      Instant start = a.start + minutes(percent(rng) < 50 ? 15 : -15);
      changed = store_->Transact(
          [&](store::Tx& tx) { return tx.Reschedule(a.id, start, start + minutes(30)); });
    }
    ASSERT_TRUE(changed.has_value()) << changed.error().ToString();
    a = *changed;
    maybe_kill(step, steps);
    if (k == n / 4) {
      // The rest of the first series is cancelled (what DELETE /appointment_series/{id} does):
      // every occurrence after the second.
      auto rest = store_->Transact([&](store::Tx& tx) -> Status {
        auto all = TM_TRY(tx.ListSeriesAppointments(series_ids[0]));
        for (size_t i = 2; i < all.size(); ++i) {
          TM_TRY(tx.SetStatus(all[i].id, core::AppointmentStatus::kCancelled));
        }
        return Ok();
      });
      ASSERT_TRUE(rest.has_value()) << rest.error().ToString();
      for (core::Appointment& x : appointments) {
        if (x.series_id != series_ids[0]) continue;
        auto now = store_->Read([&](store::Tx& tx) { return tx.GetAppointment(x.id); });
        ASSERT_TRUE(now.has_value());
        x = *now;
      }
    }
  }

  // Let the last worker finish: no reconcile job due or leased.
  const auto last_change = std::chrono::steady_clock::now();
  auto deadline = last_change + seconds(240);
  for (;;) {
    auto left = store_->Read(
        [&](store::Tx& tx) { return tx.ListJobs(store::kReconcileJobKind, std::nullopt, {}); });
    ASSERT_TRUE(left.has_value());
    if (left->items.empty()) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << left->items.size() << " reconcile jobs left, first: " << left->items[0].key << " "
        << left->items[0].last_error;
    std::this_thread::sleep_for(milliseconds(100));
  }
  // The figure the issue asks for (printed, not asserted: timing belongs to benchmarks).
  std::printf("converged %.1f s after the last change (%s, %d instances, %d kills)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - last_change).count(),
              GetParam().c_str(), instances, killed);
  for (auto& child : children) child->Kill(SIGTERM);
  EXPECT_EQ(killed, kills);

  // What Google holds, per doctor.
  std::map<std::string, nlohmann::json> events;  // event id -> event
  for (int d = 0; d < kDoctors; ++d) {
    auto state = google_->calendar().CalendarState(Email(d));
    if (!state) continue;
    for (const auto& e : (*state)["events"]) events[e["id"].get<std::string>()] = e;
  }
  // The single-event series: its one recurring event, checked apart.
  const std::string master_id = core::SeriesEventIdFor(series_uids.back());
  ASSERT_EQ(events.count(master_id), 1u) << "no recurring event for the single-event series";
  const nlohmann::json master = events[master_id];
  events.erase(master_id);
  EXPECT_NE(master["status"], "cancelled");
  EXPECT_EQ(master["recurrence"], nlohmann::json::array({"RRULE:FREQ=WEEKLY;COUNT=6"}));
  const std::string series_link = master.value("hangoutLink", "");
  EXPECT_FALSE(series_link.empty());
  std::map<std::string, nlohmann::json> series_instances;
  for (const auto& i : master["_instances"]) series_instances[i["id"].get<std::string>()] = i;
  EXPECT_EQ(series_instances.size(), 6u);
  for (const core::Appointment& a : appointments) {
    if (!single_event_appointments.count(a.id)) continue;
    auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(a.id); });
    ASSERT_TRUE(m.has_value()) << a.id;
    EXPECT_EQ(events.count(core::EventIdFor(a.uid)), 0u) << "an event of its own for " << a.id;
    const std::string instance_id = core::InstanceEventId(master_id, a.original_start);
    EXPECT_EQ(m->event_id, instance_id);
    ASSERT_EQ(series_instances.count(instance_id), 1u) << instance_id;
    const nlohmann::json& i = series_instances[instance_id];
    if (a.status == core::AppointmentStatus::kCancelled) {
      EXPECT_EQ(m->state, core::MeetingState::kCancelled) << a.id << " " << m->last_error;
      EXPECT_EQ(i["status"], "cancelled") << a.id;
      continue;
    }
    EXPECT_EQ(m->state, core::MeetingState::kReady) << a.id << " " << m->last_error;
    EXPECT_EQ(m->join_url, series_link) << a.id;
    EXPECT_NE(i["status"], "cancelled") << a.id;
    EXPECT_EQ(i["start"]["dateTime"], *core::FormatWithOffset(a.start, "Europe/Berlin")) << a.id;
  }

  int active = 0, cancelled = 0;
  for (const core::Appointment& a : appointments) {
    if (single_event_appointments.count(a.id)) continue;
    const std::string id = core::EventIdFor(a.uid);
    auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(a.id); });
    auto it = events.find(id);
    if (a.status == core::AppointmentStatus::kCancelled) {
      ++cancelled;
      // Cancelled before any worker looked at it: no meeting at all.
      if (m) {
        EXPECT_EQ(m->state, core::MeetingState::kCancelled) << a.id << " " << m->last_error;
      }
      EXPECT_TRUE(it == events.end() || it->second["status"] == "cancelled") << a.id;
      continue;
    }
    ++active;
    ASSERT_TRUE(m.has_value()) << a.id << " " << m.error().ToString();
    EXPECT_EQ(m->state, core::MeetingState::kReady) << a.id << " " << m->last_error;
    ASSERT_NE(it, events.end()) << "no event for appointment " << a.id;
    const nlohmann::json& e = it->second;
    EXPECT_NE(e["status"], "cancelled");
    EXPECT_EQ(e["start"]["dateTime"], *core::FormatWithOffset(a.start, "Europe/Berlin")) << a.id;
    EXPECT_EQ(e["end"]["dateTime"], *core::FormatWithOffset(a.end, "Europe/Berlin")) << a.id;
    EXPECT_EQ(e["conferenceData"]["createRequest"]["status"]["statusCode"], "success");
    EXPECT_EQ(e["hangoutLink"], m->join_url);
    if (series_appointments.count(a.id) && a.revision == 1) {
      // An occurrence never moved keeps its series' local wall time on both sides of the change.
      EXPECT_EQ(e["start"]["dateTime"].get<std::string>().substr(11, 3), "10:") << a.id;
    }
  }
  // Every occurrence had its own event and link.
  std::set<std::string> links;
  int series_active = 0;
  for (const core::Appointment& a : appointments) {
    if (!series_appointments.count(a.id) || single_event_appointments.count(a.id) ||
        a.status == core::AppointmentStatus::kCancelled) {
      continue;
    }
    ++series_active;
    auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(a.id); });
    if (m) links.insert(m->join_url);
  }
  EXPECT_EQ(static_cast<int>(links.size()), series_active);
  auto first_series =
      store_->Read([&](store::Tx& tx) { return tx.ListSeriesAppointments(series_ids[0]); });
  ASSERT_TRUE(first_series.has_value());
  ASSERT_EQ(first_series->size(), 6u);
  for (size_t i = 2; i < first_series->size(); ++i) {
    EXPECT_EQ((*first_series)[i].status, core::AppointmentStatus::kCancelled);
  }
  int live = 0;
  for (const auto& [id, e] : events) live += e["status"] != "cancelled" ? 1 : 0;
  EXPECT_EQ(live, active);

  // Client-chosen ids: no appointment ever had a second event, whatever was retried. Every
  // event was made by exactly one insert: a clean 200, or one whose answer was lost after it
  // ran (503); every other insert was refused (409 → adopted) or failed before running.
  EXPECT_LE(events.size() + 1, appointments.size());
  int inserts = 0, conflicts = 0, faults = 0, clean = 0, lost_answers = 0;
  for (const auto& r : google_->RequestLog()) {
    if (r.method != "POST" || !r.path.ends_with("/events")) continue;
    ++inserts;
    conflicts += r.status == 409 ? 1 : 0;
    faults += r.fault.empty() ? 0 : 1;
    clean += r.fault.empty() && r.status == 200 ? 1 : 0;
    lost_answers += r.fault == "unavailable" ? 1 : 0;
  }
  // (events no longer holds the series' event: one more.)
  EXPECT_LE(clean, static_cast<int>(events.size()) + 1);
  EXPECT_LE(static_cast<int>(events.size()) + 1, clean + lost_answers);
  int rate_limited = 0;
  for (const auto& r : google_->RequestLog()) rate_limited += r.status == 429 ? 1 : 0;
  std::printf(
      "chaos: %d appointments and %zu series occurrences (%d active, %d cancelled), %d kills, %d "
      "storms (%d "
      "calls answered 429), %zu events, %d insert requests (%d answered 409, %d "
      "faulted)\n",
      n, series_appointments.size(), active, cancelled, killed, storms_, rate_limited,
      events.size(), inserts, conflicts, faults);
  EXPECT_GT(storms_, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, SyncChaosTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace telemeet::sync
