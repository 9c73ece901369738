// bench/reconcile: appointments reconciled per second end to end (store + worker + Calendar
// client + fake-google over real HTTP), beside the raw rate of the same Calendar client
// inserting the same Meet events from the same number of threads without the store (the
// baseline: what the reconciler adds), in ROUNDS rounds (default 5) of the two back to back,
// the ratio taken within each round; and Google calls per appointment lifecycle (create,
// reschedule, cancel), whose minimum is one each. With LATENCY_MS set (> 0), both rates again
// with fake-google answering every call that late (the emulator's latency setting, as
// bench/latency uses): context for a real Google's round trips, not the goal.
//
//   [ROUNDS=5] [LATENCY_MS=50] [PREFETCH=n] [PREFETCH_FOR_MS=ms] bench_reconcile STORE_URL
//       APPOINTMENTS THREADS
//
// PREFETCH and PREFETCH_FOR_MS set the worker's WorkerOptions::prefetch and prefetch_for (for an
// A/B of the worker's lease-ahead; unset, the defaults serve runs with).
//
// Prints "key value" lines; "round_<i> RAW E2E RATIO" per round, and the medians; and
// "cpu_<i> RAW_SELF RAW_REST E2E_SELF E2E_REST KIB": per round, the microseconds of CPU an insert
// (baseline) and a job (end to end) took in this process and in the rest of the machine, and the
// KiB a job had this process write to disk (SQLite's WAL and checkpoints; PostgreSQL writes in
// its server).
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "base/strings.h"
#include "core/attendance.h"
#include "core/meeting.h"
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
#include "store/store.h"
#include "sync/grant_store_adapter.h"
#include "sync/reconciler.h"
#include "sync/worker.h"

namespace {

using namespace telemeet;  // NOLINT(google-build-using-namespace): a benchmark program
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

const std::string kRedirect = "http://127.0.0.1:9/cb";
constexpr int kDoctors = 10;

std::string Email(int i) { return fmt::format("doctor{}@bench.example", i); }

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time so far: this process's (the worker, the client and fake-google), and the machine's
// busy time on all cores (/proc/stat: user, nice, system, irq, softirq; not idle, iowait or
// steal, the hypervisor's time for other guests), which adds the PostgreSQL server and
// whatever else runs on this shared machine. Taken around a round's raw phase, and around the
// end-to-end run's timed part (the worker's start to its last job; the transaction that creates
// the round's appointments is left out).
struct CpuTimes {
  double self = 0;
  double machine = 0;
  double written = 0;  // bytes this process had written to disk (/proc/self/io: pages dirtied)
};
CpuTimes CpuNow() {
  CpuTimes t;
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) == 0) {
    t.self = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
             static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  std::ifstream io("/proc/self/io");
  for (std::string key; io >> key;) {
    if (key == "write_bytes:") io >> t.written;
  }
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq) {
    t.machine = (user + nice + system + irq + softirq) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return t;
}
// Microseconds of CPU per item between two readings: this process's, and the rest of the
// machine's.
std::pair<double, double> CpuPerItem(const CpuTimes& a, const CpuTimes& b, int items) {
  const double self = (b.self - a.self) * 1e6 / items;
  const double machine = (b.machine - a.machine) * 1e6 / items;
  return {self, std::max(0.0, machine - self)};
}

int CalendarCalls(emulator::FakeGoogle& google) {
  int n = 0;
  for (const auto& r : google.RequestLog()) n += r.path.starts_with("/calendar/") ? 1 : 0;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s STORE_URL APPOINTMENTS THREADS\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const int n = std::atoi(argv[2]);
  const int threads = std::atoi(argv[3]);
  SystemClock& clock = SystemClock::Instance();

  emulator::FakeGoogleOptions options;
  options.clients.push_back({"bench", "bench-secret", {kRedirect}});
  for (int i = 0; i < kDoctors; ++i) options.accounts.push_back({Email(i), "", ""});
  options.oauth.auto_approve = true;
  options.quota.per_user = 0;
  options.quota.per_project = 0;
  options.request_log_size = 1'000'000;
  emulator::FakeGoogle google(options, clock);
  if (!google.Start("127.0.0.1", 0, 2)) return 1;
  const std::string base = google.base_url();

  auto opened = store::OpenStore(url, clock);
  if (!opened || !(*opened)->Migrate()) {
    std::fprintf(stderr, "store %s unusable\n", url.c_str());
    return 1;
  }
  store::Store& db = **opened;

  crypto::KeyRing keys;
  if (!keys.Add("k1", crypto::RandomBytes(32))) return 1;
  net::HttpClient http;
  google::HttpTransport transport(http);
  google::RetryPolicy retry(google::RetryOptions{}, clock, google::RealSleeper::Instance(), 3);
  google::RateLimitOptions limits;
  limits.doctor_per_minute = 1e9;
  limits.project_per_minute = 1e9;
  limits.doctor_burst = 1'000'000;
  limits.project_burst = 1'000'000;
  google::RateLimiter limiter(limits, clock, google::RealSleeper::Instance());
  sync::CallCollector calls;
  google::OAuthConfig oc;
  oc.client_id = "bench";
  oc.client_secret = "bench-secret";
  oc.redirect_uri = kRedirect;
  oc.auth_url = base + "/o/oauth2/v2/auth";
  oc.token_url = base + "/token";
  oc.revoke_url = base + "/revoke";
  google::OAuthClient oauth(oc, {transport, clock, retry, &calls});
  sync::StoreGrantStore grants(db);
  google::TokenProvider tokens(oauth, grants, keys, clock);
  google::CalendarOptions co;
  co.base_url = base;
  google::CalendarClient calendar(
      co, {transport, tokens, retry, clock, google::RealSleeper::Instance(), &limiter, &calls});

  // Clinic: doctors (connected), a telemedicine service, a patient.
  std::vector<int64_t> doctors;
  int64_t service_id = 0, patient_id = 0;
  auto setup = db.Transact([&](store::Tx& tx) -> Status {
    for (int i = 0; i < kDoctors; ++i) {
      core::Doctor d;
      d.name = fmt::format("Dr {}", i);
      d.email = Email(i);
      auto made = tx.CreateDoctor(d);
      if (!made) return std::unexpected(made.error());
      doctors.push_back(made->id);
    }
    core::Service s;
    s.name = "Video consultation";
    s.telemedicine = true;
    auto service = tx.CreateService(s);
    if (!service) return std::unexpected(service.error());
    service_id = service->id;
    core::Patient p;
    p.name = "Patient";
    auto patient = tx.CreatePatient(p);
    if (!patient) return std::unexpected(patient.error());
    patient_id = patient->id;
    return Ok();
  });
  if (!setup) return 1;
  for (int i = 0; i < kDoctors; ++i) {
    auto start = oauth.BuildAuthorizationUrl("s", Email(i));
    google::HttpRequest r;
    r.url = start->url;
    auto consent = transport.Send(r);
    if (!consent) return 1;
    std::string location = consent->headers.Get("Location").value_or("");
    KeyValues q = ParseQuery(location.substr(kRedirect.size() + 1)).value_or(KeyValues{});
    auto grant = oauth.ExchangeCode(FindValue(q, "code").value_or(""), start->code_verifier);
    if (!grant ||
        !tokens.StoreNewGrant(std::to_string(doctors[static_cast<size_t>(i)]), *grant, Email(i))) {
      return 1;
    }
  }

  // Baseline: the same client inserting the same Meet events from `threads` threads, no store:
  // the event the reconciler makes of these appointments (its title, zone, visibility, the two
  // private properties that tie it to the appointment; no guests, as the patient has no email),
  // with ids of its own. `round` keeps each round's event ids apart.
  auto raw_rate = [&](int round) {
    std::atomic<int> next{0};
    auto t0 = Steady::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (int i = next++; i < n; i = next++) {
          const std::string uid = fmt::format("{:032x}", 0xba5e0000 + round * 0x1000000 + i);
          google::EventSpec spec;
          spec.id = core::EventIdFor(uid);
          spec.summary =
              sync::RenderTitle(core::Service().event_title_template, "Video consultation",
                                fmt::format("Dr {}", i % kDoctors), "Patient");
          spec.start = {core::FormatRfc3339(clock.Now()), "UTC", ""};
          spec.end = {core::FormatRfc3339(clock.Now() + std::chrono::minutes(30)), "UTC", ""};
          spec.visibility = google::Visibility::kPrivate;
          spec.private_properties = {
              {std::string(sync::kAppointmentIdProperty), std::to_string(1'000'000 + i)},
              {std::string(sync::kAppointmentUidProperty), uid}};
          spec.conference_request_id = core::RequestIdFor(uid, 1);
          auto doctor = std::to_string(doctors[static_cast<size_t>(i % kDoctors)]);
          auto r = calendar.InsertEvent(doctor, "primary", spec, google::SendUpdates::kNone);
          if (!r) std::fprintf(stderr, "baseline insert: %s\n", r.error().ToString().c_str());
        }
      });
    }
    for (auto& t : pool) t.join();
    return n / Seconds(Steady::now() - t0);
  };

  sync::ReconcilerOptions ro;
  ro.meet_work = core::MeetPolicy{};  // as serve runs it, with the Meet policy's defaults (off)
  sync::Reconciler reconciler(db, calendar, calls, clock, ro);
  sync::WorkerOptions wo;
  wo.threads = threads;
  wo.poll_interval = milliseconds(20);
  if (const char* env = std::getenv("PREFETCH")) wo.prefetch = std::atoi(env);
  if (const char* env = std::getenv("PREFETCH_FOR_MS")) {
    wo.prefetch_for = milliseconds(std::atoi(env));
  }
  sync::Worker worker(db, reconciler, clock, wo);

  // Until no reconcile job is left (outbox deliveries are jobs too: only reconcile ones count).
  // The store is asked only once the worker has made `runs` runs, so that the polling does not
  // take the CPU and the store's time from the work it measures (PostgreSQL's ListJobs over a
  // queue of thousands: about 1.6 ms each, every 5 ms).
  auto wait_idle = [&](int64_t runs) {
    while (worker.runs() < runs) std::this_thread::sleep_for(milliseconds(1));
    for (;;) {
      auto pending = db.Read([&](store::Tx& tx) {
        store::PageRequest p;
        p.limit = 1;
        return tx.ListJobs(store::kReconcileJobKind, std::nullopt, p);
      });
      if (pending && pending->items.empty()) return;
      std::this_thread::sleep_for(milliseconds(5));
    }
  };

  // End to end: N confirmed appointments committed (from `first_hour` on, one an hour per
  // doctor), then the worker closes the gap. Returns how many became ready, and how fast.
  const Instant day = *core::ParseRfc3339("2026-05-04T06:00:00Z");
  std::vector<int64_t> ids;
  // The CPU readings at the start and the end of the timed part of the last call.
  CpuTimes e2e_cpu0, e2e_cpu1;
  auto reconcile_rate = [&](int first_hour) -> std::optional<std::pair<int, double>> {
    ids.clear();
    auto created = db.Transact([&](store::Tx& tx) -> Status {
      for (int i = 0; i < n; ++i) {
        core::Appointment a;
        a.doctor_id = doctors[static_cast<size_t>(i % kDoctors)];
        a.service_id = service_id;
        a.patient_id = patient_id;
        a.start = day + std::chrono::hours(first_hour + i / kDoctors);
        a.end = a.start + std::chrono::minutes(30);
        a.status = core::AppointmentStatus::kConfirmed;
        auto made = tx.CreateAppointment(a);
        if (!made) return std::unexpected(made.error());
        ids.push_back(made->id);
      }
      return Ok();
    });
    if (!created) {
      std::fprintf(stderr, "create: %s\n", created.error().ToString().c_str());
      return std::nullopt;
    }
    google.ClearRequestLog();
    const int64_t runs = worker.runs() + n;
    e2e_cpu0 = CpuNow();
    auto t0 = Steady::now();
    worker.Start();
    worker.Nudge();
    wait_idle(runs);
    double elapsed = Seconds(Steady::now() - t0);
    e2e_cpu1 = CpuNow();
    int ready = 0;
    for (int64_t id : ids) {
      auto m = db.Read([&](store::Tx& tx) { return tx.GetMeeting(id); });
      ready += m && m->state == core::MeetingState::kReady ? 1 : 0;
    }
    return std::pair{ready, ready / elapsed};
  };
  // Rounds of the baseline and the end-to-end run back to back, each round's appointments a day
  // after the last one's: this machine's rates drift by half between runs a minute apart, so a
  // ratio is taken within a round and the median of the rounds' is the figure.
  const int rounds = std::max(1, std::getenv("ROUNDS") ? std::atoi(std::getenv("ROUNDS")) : 5);
  const int round_hours = n / kDoctors + 24;
  std::vector<double> raws, e2es, ratios;
  int ready = 0;
  const store::WriteStats w0 = db.write_stats();
  // Between rounds, untimed: the outbox's delivery jobs the round made are taken and completed,
  // as serve's webhook dispatcher does with no endpoint to send to, so each round starts with the
  // same queue (SQLite's lease steps over due jobs of other kinds in run_at order).
  auto drain_deliveries = [&]() -> bool {
    for (;;) {
      auto drained = db.Transact([&](store::Tx& tx) -> Result<size_t> {
        store::LeaseRequest lease;
        lease.owner = "bench-dispatcher";
        lease.max = 1000;
        lease.kind = std::string(store::kDeliverJobKind);
        const std::vector<core::Job> jobs = TM_TRY(tx.LeaseJobs(lease));
        TM_TRY(tx.CompleteJobs(jobs));
        return jobs.size();
      });
      if (!drained) return false;
      if (*drained == 0) return true;
    }
  };
  for (int r = 0; r < rounds; ++r) {
    if (!drain_deliveries()) return 1;
    const CpuTimes c0 = CpuNow();
    const double raw = raw_rate(r);
    const CpuTimes c1 = CpuNow();
    auto e2e = reconcile_rate(r * round_hours);
    worker.Stop();
    if (!e2e) return 1;
    ready += e2e->first;
    raws.push_back(raw);
    e2es.push_back(e2e->second);
    ratios.push_back(e2e->second / raw);
    std::printf("round_%d %.1f %.1f %.3f\n", r, raw, e2e->second, e2e->second / raw);
    const auto [raw_self, raw_other] = CpuPerItem(c0, c1, n);
    const auto [e2e_self, e2e_other] = CpuPerItem(e2e_cpu0, e2e_cpu1, n);
    std::printf("cpu_%d %.0f %.0f %.0f %.0f %.1f\n", r, raw_self, raw_other, e2e_self, e2e_other,
                (e2e_cpu1.written - e2e_cpu0.written) / 1024 / n);
  }
  const store::WriteStats w1 = db.write_stats();
  auto median = [](std::vector<double> v) {
    std::ranges::sort(v);
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  std::printf("rounds %d\nraw_client_inserts_per_s %.1f\n", rounds, median(raws));
  std::printf("appointments %d\nready %d\nreconciled_per_s %.1f\nratio %.3f\n", n * rounds, ready,
              median(e2es), median(ratios));
  // SQLite's group commit: the worker's write transactions and the commits that held them
  // (PostgreSQL groups in the server: zeros).
  std::printf("store_writes %lld\nstore_commits %lld\n",
              static_cast<long long>(w1.writes - w0.writes),
              static_cast<long long>(w1.commits - w0.commits));
  const double per_create = static_cast<double>(CalendarCalls(google)) / n;
  worker.Start();

  // One lifecycle, call by call.
  int64_t id = ids.front();
  google.ClearRequestLog();
  auto moved = db.Transact([&](store::Tx& tx) -> Result<core::Appointment> {
    const core::Appointment a = TM_TRY(tx.GetAppointment(id));
    return tx.Reschedule(id, a.start + std::chrono::minutes(10), a.end + std::chrono::minutes(10));
  });
  if (!moved) {
    std::fprintf(stderr, "reschedule: %s\n", moved.error().ToString().c_str());
    return 1;
  }
  worker.Nudge();
  wait_idle(worker.runs() + 1);
  int reschedule_calls = CalendarCalls(google);
  google.ClearRequestLog();
  if (!db.Transact(
          [&](store::Tx& tx) { return tx.SetStatus(id, core::AppointmentStatus::kCancelled); })) {
    std::fprintf(stderr, "cancel failed\n");
    return 1;
  }
  worker.Nudge();
  wait_idle(worker.runs() + 1);
  int cancel_calls = CalendarCalls(google);
  worker.Stop();
  std::printf("calls_create %.2f\ncalls_reschedule %d\ncalls_cancel %d\n", per_create,
              reschedule_calls, cancel_calls);

  if (const char* env = std::getenv("LATENCY_MS"); env != nullptr && std::atoi(env) > 0) {
    const int latency_ms = std::atoi(env);
    google.SetLatency(milliseconds(latency_ms));
    std::printf("latency_ms %d\nraw_client_inserts_per_s_latency %.1f\n", latency_ms,
                raw_rate(rounds));
    // After the rounds' appointments (and a day), so no doctor is double-booked.
    auto slow = reconcile_rate(rounds * round_hours);
    worker.Stop();
    if (!slow) return 1;
    std::printf("ready_latency %d\nreconciled_per_s_latency %.1f\n", slow->first, slow->second);
  }
  google.Stop();
  return 0;
}
