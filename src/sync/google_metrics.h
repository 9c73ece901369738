// What operators see of Google on /metrics: every call the Calendar and OAuth clients make, by
// operation and HTTP status, with its latency (GoogleCallMetrics, a CallObserver in the
// clients' observer chain), and the rate limiter's budget (QuotaMetrics, read at each scrape).
//
//   obs::Registry metrics;
//   GoogleCallMetrics call_metrics(metrics, &freebusy_cache);   // then passes each call on
//   CallCollector calls(&call_metrics);
//   QuotaMetrics quota(limiter, metrics);                        // registers its collector
//
//   telemeet_google_calls_total{operation="events.insert",status="200"} 12
//   telemeet_google_call_duration_seconds_bucket{operation="events.insert",le="0.25"} 11
//
// Labels stay bounded: the operation is one of the clients' constants ("events.insert",
// "oauth.refresh", ...), the status an HTTP code or "error" when no answer came; never a doctor,
// a path or an id. Both classes are thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "google/observer.h"
#include "google/rate_limiter.h"
#include "obs/metrics.h"

namespace telemeet::sync {

// The status label of a call: "200", "429", ...; "error" when the transport failed (status 0)
// and "other" for a number outside 100..599.
std::string StatusLabel(int status);

class GoogleCallMetrics final : public google::CallObserver {
 public:
  // Declares its families, so /metrics names them before the first call.
  explicit GoogleCallMetrics(obs::Registry& metrics, google::CallObserver* next = nullptr);

  // google::CallObserver
  void OnCall(const google::CallRecord& record) override;

 private:
  obs::Registry& metrics_;
  google::CallObserver* next_;
};

// The rate limiter's state as gauges, and its grants and rate-limit answers as counters, set
// from RateLimiter::Stats when /metrics is scraped (a lock and a walk over the doctors' buckets,
// no I/O). Must outlive every Render of `metrics`.
class QuotaMetrics {
 public:
  QuotaMetrics(const google::RateLimiter& limiter, obs::Registry& metrics);
  QuotaMetrics(const QuotaMetrics&) = delete;
  QuotaMetrics& operator=(const QuotaMetrics&) = delete;

  void Collect();

 private:
  const google::RateLimiter& limiter_;
  obs::Registry& metrics_;
  std::mutex mu_;
  google::RateLimiterStats last_;  // guarded by mu_: what the counters already hold
};

}  // namespace telemeet::sync
