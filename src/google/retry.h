// The one retry policy for calls to Google: exponential backoff with full jitter, capped,
// honouring Retry-After, bounded by attempts and by a per-call deadline, and retrying only what
// a retry can fix (transient failures, rate limits, quota; 4xx are final). Timeouts are retried
// only for idempotent calls, since the first attempt may have happened.
//
//   RetryPolicy policy(RetryOptions{}, clock, sleeper, /*seed=*/42);
//   GoogleResult<Event> e = policy.Run(/*idempotent=*/true, [&](int attempt) {
//     return client.GetOnce(...);
//   });
//
// A RetryPolicy is safe for concurrent use; its jitter source is guarded.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "base/clock.h"
#include "google/google_error.h"

namespace telemeet::google {

// Waiting as a seam, so tests move a FakeClock instead of sleeping.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void SleepFor(std::chrono::microseconds duration) = 0;
};

class RealSleeper final : public Sleeper {
 public:
  void SleepFor(std::chrono::microseconds duration) override {
    std::this_thread::sleep_for(duration);
  }
  static RealSleeper& Instance() {
    static RealSleeper sleeper;
    return sleeper;
  }
};

struct RetryOptions {
  int max_attempts = 6;                            // including the first
  std::chrono::milliseconds initial_backoff{500};  // cap of the first jittered wait
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{32'000};       // cap of any jittered wait
  std::chrono::milliseconds quota_backoff{60'000};     // minimum wait after quotaExceeded
  std::chrono::milliseconds max_retry_after{120'000};  // longer Retry-After: give up
  std::chrono::milliseconds deadline{120'000};         // whole call, waits included
};

class RetryPolicy {
 public:
  RetryPolicy(RetryOptions options, const Clock& clock, Sleeper& sleeper, uint64_t seed);

  const RetryOptions& options() const { return options_; }

  // Whether to try again after `error` on attempt `attempt` (1-based).
  bool ShouldRetry(const GoogleError& error, int attempt, bool idempotent) const;

  // The wait before attempt `attempt + 1` after `error` on attempt `attempt`: a uniform draw in
  // [0, min(max_backoff, initial_backoff * multiplier^(attempt-1))] (full jitter), raised to
  // Retry-After when Google sent one, and to quota_backoff after quotaExceeded.
  std::chrono::microseconds Backoff(const GoogleError& error, int attempt);

  // Runs `call(attempt)` until it succeeds, fails finally, runs out of attempts, or the next
  // wait would pass the deadline. Returns the last result.
  template <typename F>
  auto Run(bool idempotent, F&& call) -> decltype(call(1)) {
    const Instant start = clock_.Now();
    for (int attempt = 1;; ++attempt) {
      auto result = call(attempt);
      if (result.has_value()) return result;
      const GoogleError& error = result.error();
      if (!ShouldRetry(error, attempt, idempotent)) return result;
      if (error.retry_after() && *error.retry_after() > options_.max_retry_after) return result;
      std::chrono::microseconds wait = Backoff(error, attempt);
      if (clock_.Now() + wait - start > options_.deadline) return result;
      sleeper_.SleepFor(wait);
    }
  }

 private:
  RetryOptions options_;
  const Clock& clock_;
  Sleeper& sleeper_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace telemeet::google
