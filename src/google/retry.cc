#include "google/retry.h"

#include <algorithm>
#include <cmath>

namespace telemeet::google {

RetryPolicy::RetryPolicy(RetryOptions options, const Clock& clock, Sleeper& sleeper, uint64_t seed)
    : options_(options), clock_(clock), sleeper_(sleeper), rng_(seed) {}

bool RetryPolicy::ShouldRetry(const GoogleError& error, int attempt, bool idempotent) const {
  if (attempt >= options_.max_attempts) return false;
  if (!error.IsRetriable()) return false;
  // A timeout or a reset after sending leaves a non-idempotent call in an unknown state.
  if (!idempotent && (error.kind() == ErrorKind::kTimeout || error.kind() == ErrorKind::kServer ||
                      error.kind() == ErrorKind::kTransport)) {
    return false;
  }
  return true;
}

std::chrono::microseconds RetryPolicy::Backoff(const GoogleError& error, int attempt) {
  using std::chrono::microseconds;
  const double cap_us = static_cast<double>(microseconds(options_.max_backoff).count());
  double ceiling = static_cast<double>(microseconds(options_.initial_backoff).count()) *
                   std::pow(options_.multiplier, std::max(0, attempt - 1));
  ceiling = std::min(ceiling, cap_us);
  int64_t draw;
  {
    std::lock_guard lock(mu_);
    std::uniform_int_distribution<int64_t> dist(0, static_cast<int64_t>(ceiling));
    draw = dist(rng_);
  }
  microseconds wait(draw);
  // Anti-abuse quota: wait long, still jittered so doctors do not return in step.
  if (error.kind() == ErrorKind::kQuotaExceeded) wait += options_.quota_backoff;
  if (error.retry_after()) wait = std::max<microseconds>(wait, *error.retry_after());
  return wait;
}

}  // namespace telemeet::google
