// bench/quota: one Google quota shared by three telemeet instances (issue 17). Three in-process
// instances (each its own store connections, HTTP client, token provider, rate limiter and
// reconciler worker, as three `telemeet serve` would have) on one database reconcile a backlog
// of appointments for 20 doctors against fake-google with its quotas on (per user and per
// project per sliding minute, answering 429 beyond). Figures: Calendar calls Google accepted per
// minute as a share of the project quota (goal >= 90%), and the share of calls answered 403/429
// (goal <= 1%); the same with each instance's own limiter alone (the baseline, same run, when
// asked).
//
//   bench_quota STORE_URL SECONDS [PER_USER PER_PROJECT MARGIN_PERCENT THREADS SHARED]
//
// SHARED: 1 (default) the budget in the database (what serve does on PostgreSQL), 0 each
// instance's own buckets. Prints "key value" lines.
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
#include "sync/grant_store_adapter.h"
#include "sync/reconciler.h"
#include "sync/store_quota_budget.h"
#include "sync/worker.h"

namespace {

using namespace telemeet;  // NOLINT(google-build-using-namespace): a benchmark program
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

const std::string kRedirect = "http://127.0.0.1:9/cb";
constexpr int kDoctors = 20;
constexpr int kInstances = 3;

std::string Email(int i) { return fmt::format("doctor{}@bench.example", i); }

// One telemeet instance: everything serve.cc builds per process that matters here.
struct Instance {
  Instance(const std::string& url, const std::string& base, crypto::KeyRing& keys,
           const google::RateLimitOptions& limits, bool shared, int threads, Clock& clock) {
    auto opened = store::OpenStore(url, clock);
    if (!opened) {
      std::fprintf(stderr, "store %s: %s\n", url.c_str(), opened.error().ToString().c_str());
      std::exit(1);
    }
    db = std::move(*opened);
    transport = std::make_unique<google::HttpTransport>(http);
    retry = std::make_unique<google::RetryPolicy>(google::RetryOptions{}, clock,
                                                  google::RealSleeper::Instance(), 7);
    if (shared) budget = std::make_unique<sync::StoreQuotaBudget>(*db);
    limiter = std::make_unique<google::RateLimiter>(limits, clock, google::RealSleeper::Instance(),
                                                    budget.get());
    google::OAuthConfig oc;
    oc.client_id = "bench";
    oc.client_secret = "bench-secret";
    oc.redirect_uri = kRedirect;
    oc.auth_url = base + "/o/oauth2/v2/auth";
    oc.token_url = base + "/token";
    oc.revoke_url = base + "/revoke";
    oauth = std::make_unique<google::OAuthClient>(
        oc, google::OAuthDeps{*transport, clock, *retry, &calls});
    grants = std::make_unique<sync::StoreGrantStore>(*db);
    tokens = std::make_unique<google::TokenProvider>(*oauth, *grants, keys, clock);
    google::CalendarOptions co;
    co.base_url = base;
    calendar = std::make_unique<google::CalendarClient>(
        co, google::CalendarDeps{*transport, *tokens, *retry, clock,
                                 google::RealSleeper::Instance(), limiter.get(), &calls});
    reconciler =
        std::make_unique<sync::Reconciler>(*db, *calendar, calls, clock, sync::ReconcilerOptions{});
    sync::WorkerOptions wo;
    wo.threads = threads;
    wo.poll_interval = milliseconds(50);
    worker = std::make_unique<sync::Worker>(*db, *reconciler, clock, wo);
  }

  std::unique_ptr<store::Store> db;
  net::HttpClient http;
  std::unique_ptr<google::HttpTransport> transport;
  std::unique_ptr<google::RetryPolicy> retry;
  std::unique_ptr<sync::StoreQuotaBudget> budget;
  std::unique_ptr<google::RateLimiter> limiter;
  sync::CallCollector calls;
  std::unique_ptr<google::OAuthClient> oauth;
  std::unique_ptr<sync::StoreGrantStore> grants;
  std::unique_ptr<google::TokenProvider> tokens;
  std::unique_ptr<google::CalendarClient> calendar;
  std::unique_ptr<sync::Reconciler> reconciler;
  std::unique_ptr<sync::Worker> worker;
};

int Arg(int argc, char** argv, int i, int fallback) {
  return argc > i ? std::atoi(argv[i]) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s STORE_URL SECONDS [PER_USER PER_PROJECT MARGIN_PERCENT THREADS "
                 "SHARED]\n",
                 argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const int seconds = std::atoi(argv[2]);
  const int per_user = Arg(argc, argv, 3, 600);
  const int per_project = Arg(argc, argv, 4, 10'000);
  const int margin = Arg(argc, argv, 5, 95);
  const int threads = Arg(argc, argv, 6, 16);
  const bool shared = Arg(argc, argv, 7, 1) != 0;
  SystemClock& clock = SystemClock::Instance();

  emulator::FakeGoogleOptions options;
  options.clients.push_back({"bench", "bench-secret", {kRedirect}});
  for (int i = 0; i < kDoctors; ++i) options.accounts.push_back({Email(i), "", ""});
  options.oauth.auto_approve = true;
  options.quota.per_user = per_user;
  options.quota.per_project = per_project;
  options.quota.status = 429;
  options.request_log_size = 4'000'000;
  emulator::FakeGoogle google(options, clock);
  if (!google.Start("127.0.0.1", 0, 2)) return 1;
  const std::string base = google.base_url();

  {
    auto opened = store::OpenStore(url, clock);
    if (!opened || !(*opened)->Migrate()) {
      std::fprintf(stderr, "store %s unusable\n", url.c_str());
      return 1;
    }
  }
  crypto::KeyRing keys;
  if (!keys.Add("k1", crypto::RandomBytes(32))) return 1;
  google::RateLimitOptions limits;
  limits.doctor_per_minute = per_user * margin / 100.0;
  limits.project_per_minute = per_project * margin / 100.0;
  std::vector<std::unique_ptr<Instance>> instances;
  for (int i = 0; i < kInstances; ++i) {
    instances.push_back(
        std::make_unique<Instance>(url, base, keys, limits, shared, threads, clock));
  }
  store::Store& db = *instances[0]->db;

  // Clinic: 20 connected doctors, a telemedicine service, a patient; enough confirmed
  // appointments that the backlog outlasts the run (the project quota, and a third more).
  const int n = per_project * seconds / 60 * 4 / 3 + 100;
  std::vector<int64_t> doctors;
  auto setup = db.Transact([&](store::Tx& tx) -> Status {
    for (int i = 0; i < kDoctors; ++i) {
      core::Doctor d;
      d.name = fmt::format("Dr {}", i);
      d.email = Email(i);
      doctors.push_back(TM_TRY(tx.CreateDoctor(d)).id);
    }
    return Ok();
  });
  if (!setup) return 1;
  Instance& first = *instances[0];
  for (int i = 0; i < kDoctors; ++i) {
    auto start = first.oauth->BuildAuthorizationUrl("s", Email(i));
    google::HttpRequest r;
    r.url = start->url;
    auto consent = first.transport->Send(r);
    if (!consent) return 1;
    std::string location = consent->headers.Get("Location").value_or("");
    KeyValues q = ParseQuery(location.substr(kRedirect.size() + 1)).value_or(KeyValues{});
    auto grant = first.oauth->ExchangeCode(FindValue(q, "code").value_or(""), start->code_verifier);
    if (!grant || !first.tokens->StoreNewGrant(std::to_string(doctors[static_cast<size_t>(i)]),
                                               *grant, Email(i))) {
      return 1;
    }
  }
  const Instant day = *core::ParseRfc3339("2027-05-04T06:00:00Z");
  auto created = db.Transact([&](store::Tx& tx) -> Status {
    core::Service s;
    s.name = "Video consultation";
    s.telemedicine = true;
    const int64_t service = TM_TRY(tx.CreateService(s)).id;
    core::Patient p;
    p.name = "Patient";
    const int64_t patient = TM_TRY(tx.CreatePatient(p)).id;
    for (int i = 0; i < n; ++i) {
      core::Appointment a;
      a.doctor_id = doctors[static_cast<size_t>(i % kDoctors)];
      a.service_id = service;
      a.patient_id = patient;
      a.start = day + std::chrono::hours(i / kDoctors);
      a.end = a.start + std::chrono::minutes(30);
      a.status = core::AppointmentStatus::kConfirmed;
      TM_TRY(tx.CreateAppointment(a));
    }
    return Ok();
  });
  if (!created) {
    std::fprintf(stderr, "create: %s\n", created.error().ToString().c_str());
    return 1;
  }

  google.ClearRequestLog();
  const int64_t t0_ms = ToUnixMillis(clock.Now());
  for (auto& i : instances) i->worker->Start();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const int64_t t1_ms = ToUnixMillis(clock.Now());
  for (auto& i : instances) i->worker->Stop();
  google.Stop();

  // Calls Google counted inside the run, over whole seconds after the first (the limiter's
  // windows: a partial window at either end would count a whole window's calls in part of its
  // time); those answered 403/429 (rate limits) apart.
  const int64_t from_ms = (t0_ms / 1000 + 2) * 1000;
  const int64_t to_ms = t1_ms / 1000 * 1000;
  int64_t accepted = 0, limited = 0, total = 0;
  for (const auto& r : google.RequestLog()) {
    if (!r.path.starts_with("/calendar/") || r.time_ms < from_ms || r.time_ms >= to_ms) continue;
    ++total;
    if (r.status == 429 || r.status == 403) {
      ++limited;
    } else {
      ++accepted;
    }
  }
  const double minutes = static_cast<double>(to_ms - from_ms) / 60'000.0;
  std::printf("instances %d\ndoctors %d\nshared %d\nseconds %.1f\n", kInstances, kDoctors,
              shared ? 1 : 0, minutes * 60);
  std::printf("quota_per_project_per_minute %d\nquota_per_user_per_minute %d\n", per_project,
              per_user);
  std::printf("calls %lld\naccepted %lld\nrate_limited %lld\n", static_cast<long long>(total),
              static_cast<long long>(accepted), static_cast<long long>(limited));
  std::printf("accepted_per_minute %.1f\nquota_share %.4f\nrate_limited_share %.4f\n",
              accepted / minutes, accepted / minutes / per_project,
              total > 0 ? static_cast<double>(limited) / static_cast<double>(total) : 0.0);
  return 0;
}
