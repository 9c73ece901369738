// Load program for bench/google_client: connects D doctors through the OAuth flow (PKCE,
// auto-approved by fake-google), then creates N events with Google Meet across them from C
// threads through telemeet's CalendarClient, and prints one JSON line:
// {"client":"telemeet","events":N,"failed":F,"wall_s":..,"events_per_s":..,"cpu_s":..,
//  "peak_rss_kb":..,"token_calls_per_doctor":{"min":..,"max":..}}
//
//   bench_google_client --base http://127.0.0.1:PORT --client-id ID --client-secret S
//       --redirect URI --account-prefix doctor --doctors 50 --events 5000 --concurrency 32
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "crypto/random.h"
#include "google/calendar_client.h"
#include "google/event_ids.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/testing/fake_grant_store.h"
#include "google/token_provider.h"
#include "net/http_client.h"

namespace {

using namespace telemeet;
using namespace telemeet::google;

// Counts token-endpoint calls per doctor (the OAuth observer sees no doctor, so the connect
// phase and the provider's refresh count are added per doctor).
struct TokenCounter final : CallObserver {
  std::atomic<int> calls{0};
  void OnCall(const CallRecord& r) override {
    if (r.operation == "oauth.exchange" || r.operation == "oauth.refresh") ++calls;
  }
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long PeakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"telemeet Google client load"};
  std::string base, client_id, client_secret, redirect, prefix = "doctor", domain = "clinic.test";
  int doctors = 50, events = 5000, concurrency = 32;
  app.add_option("--base", base)->required();
  app.add_option("--client-id", client_id)->required();
  app.add_option("--client-secret", client_secret)->required();
  app.add_option("--redirect", redirect)->required();
  app.add_option("--account-prefix", prefix);
  app.add_option("--account-domain", domain);
  app.add_option("--doctors", doctors)->check(CLI::Range(1, 10'000));
  app.add_option("--events", events)->check(CLI::Range(1, 10'000'000));
  app.add_option("--concurrency", concurrency)->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);

  net::HttpClient http;
  HttpTransport transport(http);
  SystemClock& clock = SystemClock::Instance();
  RealSleeper& sleeper = RealSleeper::Instance();
  RetryPolicy retry(RetryOptions{}, clock, sleeper, 1);
  RateLimiter limiter(RateLimitOptions{.doctor_per_minute = 1e9, .project_per_minute = 1e9}, clock,
                      sleeper);
  TokenCounter counter;
  OAuthClient oauth(
      OAuthConfig{.client_id = client_id,
                  .client_secret = client_secret,
                  .redirect_uri = redirect,
                  .auth_url = base + "/o/oauth2/v2/auth",
                  .token_url = base + "/token",
                  .revoke_url = base + "/revoke"},
      OAuthDeps{.transport = transport, .clock = clock, .retry = retry, .observer = &counter});
  crypto::KeyRing keys;
  if (!keys.Add("bench", crypto::RandomBytes(32))) return 1;
  testing::FakeGrantStore store;
  TokenProvider tokens(oauth, store, keys, clock);
  CalendarClient calendar(CalendarOptions{.base_url = base}, CalendarDeps{.transport = transport,
                                                                          .tokens = tokens,
                                                                          .retry = retry,
                                                                          .clock = clock,
                                                                          .sleeper = sleeper,
                                                                          .limiter = &limiter});

  // Connect every doctor.
  std::map<std::string, int> token_calls;
  for (int d = 0; d < doctors; ++d) {
    const std::string email = prefix + std::to_string(d) + "@" + domain;
    const std::string doctor = "doc-" + std::to_string(d);
    int before = counter.calls.load();
    auto start = oauth.BuildAuthorizationUrl("s" + std::to_string(d), email);
    auto consent = transport.Send(HttpRequest{.method = "GET", .url = start->url});
    if (!consent || consent->status != 302) {
      std::cerr << "consent failed for " << email << "\n";
      return 1;
    }
    std::string location = consent->headers.Get("Location").value_or("");
    auto q = ParseQuery(location.substr(location.find('?') + 1)).value_or(KeyValues{});
    auto grant = oauth.ExchangeCode(FindValue(q, "code").value_or(""), start->code_verifier);
    if (!grant) {
      std::cerr << "exchange failed: " << grant.error().ToString() << "\n";
      return 1;
    }
    if (!tokens.StoreNewGrant(doctor, *grant, email)) return 1;
    token_calls[doctor] = counter.calls.load() - before;
  }

  // Create the events.
  std::atomic<int> next{0}, failed{0}, with_link{0};
  const int64_t refreshes_before = tokens.refreshes();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < events; i = next++) {
        const std::string appointment = "bench-" + std::to_string(i);
        const std::string doctor = "doc-" + std::to_string(i % doctors);
        EventSpec spec{
            .id = EventIdForAppointment(appointment),
            .summary = "Consultation",
            .start = {.date_time = "2026-03-02T09:00:00+01:00", .time_zone = "Europe/Paris"},
            .end = {.date_time = "2026-03-02T09:30:00+01:00", .time_zone = "Europe/Paris"},
            .private_properties = {{"telemeetAppointment", appointment}},
            .conference_request_id = ConferenceRequestId(appointment, 1)};
        auto made = calendar.InsertEvent(doctor, "primary", spec, SendUpdates::kNone);
        if (made && made->event.conference.status == ConferenceStatus::kPending) {
          auto done = calendar.AwaitConference(doctor, "primary", spec.id);
          if (done) made->event = *done;
        }
        if (!made) {
          ++failed;
        } else if (!made->event.conference.join_url.empty()) {
          ++with_link;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Refreshes during the run (none expected within an hour's token) add to every doctor alike.
  const int64_t refreshes = tokens.refreshes() - refreshes_before;
  int min_calls = 1 << 30, max_calls = 0;
  for (const auto& [doctor, n] : token_calls) {
    min_calls = std::min(min_calls, n);
    max_calls = std::max<int>(max_calls, n + static_cast<int>(refreshes));
  }
  nlohmann::json out = {{"client", "telemeet"},
                        {"events", events},
                        {"failed", failed.load()},
                        {"with_link", with_link.load()},
                        {"wall_s", wall},
                        {"events_per_s", events / wall},
                        {"cpu_s", CpuSeconds()},
                        {"peak_rss_kb", PeakRssKb()},
                        {"token_calls_per_doctor", {{"min", min_calls}, {"max", max_calls}}}};
  std::cout << out.dump() << std::endl;
  return failed.load() == 0 ? 0 : 3;
}
