// bench/bulk: a backfill of APPOINTMENTS confirmed appointments over DOCTORS doctors, made two
// ways in the same run, each on its own store and its own fake-google (with LATENCY_MS added to
// every answer, standing for the network): one Google call per appointment (the service's worker
// pool, the baseline) and bulk backfill jobs through batch requests (sync/bulk.h, RUNNERS doctors
// at a time). Prints, for each, the HTTP requests Google received and the wall time; and the
// ratios (goals: requests ≤ 1/20, time ≤ 1/3).
//
//   bench_bulk STORE_DIR APPOINTMENTS DOCTORS LATENCY_MS THREADS RUNNERS
//
// Prints "key value" lines. The rate limits are lifted in both runs: Google's per-user quota
// (600/min) would pace both alike and hide what batching changes.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "base/strings.h"
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
#include "sync/bulk.h"
#include "sync/grant_store_adapter.h"
#include "sync/reconciler.h"
#include "sync/worker.h"

namespace {

using namespace telemeet;  // NOLINT(google-build-using-namespace): a benchmark program
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

const std::string kRedirect = "http://127.0.0.1:9/cb";

std::string Email(int i) { return fmt::format("doctor{}@bench.example", i); }

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

// One side of the comparison: a store, an emulator, connected doctors, confirmed appointments.
struct Side {
  std::unique_ptr<emulator::FakeGoogle> google;
  std::unique_ptr<store::Store> db;
  crypto::KeyRing keys;
  net::HttpClient http;
  google::HttpTransport transport{http};
  google::RetryPolicy retry{google::RetryOptions{}, SystemClock::Instance(),
                            google::RealSleeper::Instance(), 3};
  std::unique_ptr<google::RateLimiter> limiter;
  sync::CallCollector calls;
  std::unique_ptr<google::OAuthClient> oauth;
  std::unique_ptr<sync::StoreGrantStore> grants;
  std::unique_ptr<google::TokenProvider> tokens;
  std::vector<int64_t> doctors;
  std::vector<int64_t> appointments;

  bool Setup(const std::string& url, int n, int doctor_count, int latency_ms) {
    SystemClock& clock = SystemClock::Instance();
    emulator::FakeGoogleOptions options;
    options.clients.push_back({"bench", "bench-secret", {kRedirect}});
    for (int i = 0; i < doctor_count; ++i) options.accounts.push_back({Email(i), "", ""});
    options.oauth.auto_approve = true;
    options.quota.per_user = 0;
    options.quota.per_project = 0;
    options.request_log_size = 1'000'000;
    options.latency = milliseconds(latency_ms);
    google = std::make_unique<emulator::FakeGoogle>(options, clock);
    if (!google->Start("127.0.0.1", 0, 2)) return false;
    const std::string base = google->base_url();
    auto opened = store::OpenStore(url, clock);
    if (!opened || !(*opened)->Migrate()) {
      std::fprintf(stderr, "store %s unusable\n", url.c_str());
      return false;
    }
    db = std::move(*opened);
    if (!keys.Add("k1", crypto::RandomBytes(32))) return false;
    google::RateLimitOptions limits;
    limits.doctor_per_minute = 1e9;
    limits.project_per_minute = 1e9;
    limits.doctor_burst = 1'000'000;
    limits.project_burst = 1'000'000;
    limiter = std::make_unique<google::RateLimiter>(limits, clock, google::RealSleeper::Instance());
    google::OAuthConfig oc;
    oc.client_id = "bench";
    oc.client_secret = "bench-secret";
    oc.redirect_uri = kRedirect;
    oc.auth_url = base + "/o/oauth2/v2/auth";
    oc.token_url = base + "/token";
    oc.revoke_url = base + "/revoke";
    oauth = std::make_unique<google::OAuthClient>(
        oc, google::OAuthDeps{transport, clock, retry, &calls});
    grants = std::make_unique<sync::StoreGrantStore>(*db);
    tokens = std::make_unique<google::TokenProvider>(*oauth, *grants, keys, clock);

    int64_t service_id = 0, patient_id = 0;
    auto setup = db->Transact([&](store::Tx& tx) -> Status {
      for (int i = 0; i < doctor_count; ++i) {
        core::Doctor d;
        d.name = fmt::format("Dr {}", i);
        d.email = Email(i);
        doctors.push_back(TM_TRY(tx.CreateDoctor(d)).id);
      }
      core::Service s;
      s.name = "Video consultation";
      s.telemedicine = true;
      service_id = TM_TRY(tx.CreateService(s)).id;
      core::Patient p;
      p.name = "Patient";
      patient_id = TM_TRY(tx.CreatePatient(p)).id;
      return Ok();
    });
    if (!setup) return false;
    for (int i = 0; i < doctor_count; ++i) {
      auto start = oauth->BuildAuthorizationUrl("s", Email(i));
      google::HttpRequest r;
      r.url = start->url;
      auto consent = transport.Send(r);
      if (!consent) return false;
      std::string location = consent->headers.Get("Location").value_or("");
      KeyValues q = ParseQuery(location.substr(kRedirect.size() + 1)).value_or(KeyValues{});
      auto grant = oauth->ExchangeCode(FindValue(q, "code").value_or(""), start->code_verifier);
      if (!grant || !tokens->StoreNewGrant(std::to_string(doctors[static_cast<size_t>(i)]), *grant,
                                           Email(i))) {
        return false;
      }
    }
    // The existing confirmed appointments; their reconcile jobs are dropped, as for
    // appointments imported or made before their service was telemedicine.
    const Instant day = *core::ParseRfc3339("2031-05-05T06:00:00Z");
    auto created = db->Transact([&](store::Tx& tx) -> Status {
      for (int i = 0; i < n; ++i) {
        core::Appointment a;
        a.doctor_id = doctors[static_cast<size_t>(i % doctor_count)];
        a.service_id = service_id;
        a.patient_id = patient_id;
        a.start = day + std::chrono::hours(i / doctor_count);
        a.end = a.start + std::chrono::minutes(30);
        a.status = core::AppointmentStatus::kConfirmed;
        appointments.push_back(TM_TRY(tx.CreateAppointment(a)).id);
      }
      return Ok();
    });
    if (!created) return false;
    store::LeaseRequest drop;
    drop.owner = "setup";
    drop.max = 1'000'000;
    drop.now = clock.Now();
    auto dropped = db->Transact([&](store::Tx& tx) -> Status {
      for (const core::Job& j : TM_TRY(tx.LeaseJobs(drop))) TM_TRY(tx.CompleteJob(j));
      return Ok();
    });
    google->ClearRequestLog();
    return dropped.has_value();
  }

  int HttpRequests() {
    int n = 0;
    for (const auto& r : google->RequestLog()) {
      n += !r.in_batch && (r.path.starts_with("/calendar/") || r.path.starts_with("/batch/"));
    }
    return n;
  }
  int Ready() {
    int ready = 0;
    (void)db->Read([&](store::Tx& tx) -> Status {
      for (int64_t id : appointments) {
        auto m = tx.GetMeeting(id);
        ready += m && m->state == core::MeetingState::kReady && !m->join_url.empty();
      }
      return Ok();
    });
    return ready;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s STORE_DIR APPOINTMENTS DOCTORS LATENCY_MS THREADS RUNNERS\n",
                 argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int n = std::atoi(argv[2]);
  const int doctor_count = std::atoi(argv[3]);
  const int latency_ms = std::atoi(argv[4]);
  const int threads = std::atoi(argv[5]);
  const int runners = std::max(1, std::atoi(argv[6]));
  SystemClock& clock = SystemClock::Instance();
  std::printf("appointments %d\ndoctors %d\nlatency_ms %d\nworker_threads %d\nrunners %d\n", n,
              doctor_count, latency_ms, threads, runners);

  // Baseline: the service's worker pool, one Google call per appointment.
  {
    Side side;
    if (!side.Setup("sqlite://" + dir + "/single.db?synchronous=normal", n, doctor_count,
                    latency_ms)) {
      return 1;
    }
    google::CalendarOptions co;
    co.base_url = side.google->base_url();
    google::CalendarClient calendar(
        co, {side.transport, *side.tokens, side.retry, clock, google::RealSleeper::Instance(),
             side.limiter.get(), &side.calls});
    sync::Reconciler reconciler(*side.db, calendar, side.calls, clock, {});
    sync::WorkerOptions wo;
    wo.threads = threads;
    wo.batch = threads;
    wo.poll_interval = milliseconds(20);
    sync::Worker worker(*side.db, reconciler, clock, wo);
    auto t0 = Steady::now();
    auto enqueued = side.db->Transact([&](store::Tx& tx) -> Status {
      for (int64_t id : side.appointments) TM_TRY(tx.EnqueueReconcile(id));
      return Ok();
    });
    if (!enqueued) return 1;
    worker.Start();
    while (side.Ready() < n && Seconds(Steady::now() - t0) < 1800) {
      std::this_thread::sleep_for(milliseconds(200));
    }
    const double seconds = Seconds(Steady::now() - t0);
    worker.Stop();
    std::printf("single_ready %d\nsingle_http_requests %d\nsingle_seconds %.2f\n", side.Ready(),
                side.HttpRequests(), seconds);
  }

  // Bulk: a backfill job per doctor through batch requests, RUNNERS doctors at a time.
  {
    Side side;
    if (!side.Setup("sqlite://" + dir + "/bulk.db?synchronous=normal", n, doctor_count,
                    latency_ms)) {
      return 1;
    }
    google::CalendarOptions co;
    co.base_url = side.google->base_url();
    std::atomic<size_t> next{0};
    std::atomic<int> failed{0};
    auto t0 = Steady::now();
    std::vector<std::thread> pool;
    for (int r = 0; r < runners; ++r) {
      pool.emplace_back([&] {
        sync::BulkStack bulk(*side.db, side.transport, *side.tokens, side.retry, clock,
                             side.limiter.get(), nullptr, co, {}, {});
        for (size_t i = next++; i < side.doctors.size(); i = next++) {
          auto job =
              sync::CreateBulkJob(*side.db, sync::kBulkBackfill, side.doctors[i], {}, "bench");
          if (!job) {
            ++failed;
            continue;
          }
          auto lease = side.db->Transact([&](store::Tx& tx) {
            return tx.LeaseJobByKey(store::BulkJobKey(job->id), "bench", std::chrono::minutes(5),
                                    clock.Now());
          });
          if (!lease || !*lease) {
            ++failed;
            continue;
          }
          auto ended = bulk.runner.Execute(*job, **lease);
          if (!ended || ended->failed > 0) {
            std::fprintf(stderr, "doctor %lld: %s\n", static_cast<long long>(side.doctors[i]),
                         ended ? ended->failures.c_str() : ended.error().ToString().c_str());
            ++failed;
          }
        }
      });
    }
    for (auto& t : pool) t.join();
    const double seconds = Seconds(Steady::now() - t0);
    std::printf("bulk_ready %d\nbulk_http_requests %d\nbulk_seconds %.2f\nbulk_failed_jobs %d\n",
                side.Ready(), side.HttpRequests(), seconds, failed.load());
  }
  return 0;
}
