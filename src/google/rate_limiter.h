// Client-side budget for Google's Calendar quotas (google-protocol.md §12): a token bucket per
// doctor (default 600 requests/min) and one per project (default 10,000/min), adaptive (AIMD:
// a rate-limit answer halves the rate it concerns, each success wins a little back) and fair
// across doctors: a request first waits for its doctor's bucket and only then queues for the
// project bucket, so one busy doctor holds at most its own rate of project slots and cannot
// starve the others.
//
//   RateLimiter limiter(RateLimitOptions{}, clock, sleeper);
//   limiter.Acquire(doctor_id);          // blocks (through the Sleeper) until allowed
//   ... call Google ...
//   if (rate limited) limiter.OnRateLimited(doctor_id, error.reason() == "userRateLimitExceeded");
//   else limiter.OnSuccess(doctor_id);
//
// Thread-safe. Buckets use GCRA (theoretical arrival times), so waiting callers never spin.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "google/retry.h"

namespace telemeet::google {

struct RateLimitOptions {
  double doctor_per_minute = 600;
  double project_per_minute = 10'000;
  int doctor_burst = 10;            // requests a quiet doctor may make at once
  int project_burst = 100;          // likewise for the project
  double decrease_factor = 0.5;     // multiplicative decrease on a rate-limit answer
  double increase_fraction = 0.02;  // additive increase per success, of the configured rate
  double min_fraction = 0.05;       // the rate never drops below this share of the configured
};

// What the limiter holds now, for /metrics: no doctor is named, so the labels stay bounded.
struct RateLimiterStats {
  double project_configured_per_minute = 0;
  double project_rate_per_minute = 0;  // below the configured rate while backing off
  int project_tokens_available = 0;    // requests the project bucket admits at once (<= burst)
  int project_burst = 0;
  int doctors = 0;                         // doctors with a bucket
  int doctors_backed_off = 0;              // of which below their configured rate
  std::uint64_t granted = 0;               // project slots reserved since start
  std::uint64_t rate_limited_user = 0;     // OnRateLimited(.., user_limit = true) since start
  std::uint64_t rate_limited_project = 0;  // OnRateLimited(.., user_limit = false) since start
};

class RateLimiter {
 public:
  RateLimiter(RateLimitOptions options, const Clock& clock, Sleeper& sleeper);

  // Waits until `doctor` may send one request; returns how long it waited.
  std::chrono::microseconds Acquire(std::string_view doctor);

  // The two stages of Acquire, for callers that wait on their own (and for tests): reserve the
  // doctor's next slot and return the wait before it; then, once that wait is over, reserve a
  // project slot and return the wait before it.
  std::chrono::microseconds ReserveDoctorSlot(std::string_view doctor);
  std::chrono::microseconds ReserveProjectSlot();

  // Google answered with a rate-limit error: halve the doctor's rate (user limit) or the
  // project's (project limit).
  void OnRateLimited(std::string_view doctor, bool user_limit);
  void OnSuccess(std::string_view doctor);

  // Current rates in requests per minute.
  double DoctorRate(std::string_view doctor) const;
  double ProjectRate() const;
  RateLimiterStats Stats() const;

 private:
  struct Bucket {
    double configured = 0;  // requests per minute
    double rate = 0;        // current (AIMD) requests per minute
    int burst = 1;
    Instant tat{};  // theoretical arrival time of the next request
  };
  // Reserves the next slot of `b` at or after `now`; returns the wait.
  std::chrono::microseconds ReserveLocked(Bucket& b, Instant now);
  Bucket& DoctorLocked(std::string_view doctor);
  void Increase(Bucket& b) const;
  void Decrease(Bucket& b) const;

  const RateLimitOptions options_;
  const Clock& clock_;
  Sleeper& sleeper_;
  mutable std::mutex mu_;
  Bucket project_;                                      // guarded by mu_
  std::map<std::string, Bucket, std::less<>> doctors_;  // guarded by mu_
  std::uint64_t granted_ = 0;                           // guarded by mu_
  std::uint64_t rate_limited_user_ = 0;                 // guarded by mu_
  std::uint64_t rate_limited_project_ = 0;              // guarded by mu_
};

}  // namespace telemeet::google
