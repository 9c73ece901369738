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
// With a QuotaBudget (quota_budget.h) the limits are shared by every instance on one database:
// a call then takes a permit of its doctor's window and then one of the project's, from slices
// taken in the budget, and a rate-limit answer slows every instance through the budget. The
// same two stages keep the fairness; the local buckets pace only while the budget cannot be
// asked.
//
// Thread-safe. Buckets use GCRA (theoretical arrival times), so waiting callers never spin.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "google/quota_budget.h"
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

  // With a shared budget: Google counts each quota over a sliding `minute`; the budget counts
  // fixed windows of `window`, each allowed per_minute * window / minute permits. Any sliding
  // minute then overlaps at most minute / window + 1 windows, so it sees at most
  // per_minute * (1 + window / minute): 1/60 over with 1 s windows, which the configured safety
  // margin covers. Tests shorten `minute`.
  std::chrono::microseconds minute{std::chrono::seconds(60)};
  std::chrono::microseconds window{std::chrono::seconds(1)};
  // How long one rate-limit answer slows a scope for every instance.
  std::chrono::microseconds slow_for{std::chrono::seconds(10)};
  // Permits asked per round trip to the budget: the callers waiting, at least 1/min_slices of the
  // window's cap (fewer round trips) and at most 1/max_slices of it (a share for the others).
  int min_slices = 20;
  int max_slices = 4;
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
  // `shared` (optional, outliving the limiter): the budget all instances share.
  RateLimiter(RateLimitOptions options, const Clock& clock, Sleeper& sleeper,
              QuotaBudget* shared = nullptr);

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

  // Current rates in requests per minute (of the local buckets).
  double DoctorRate(std::string_view doctor) const;
  double ProjectRate() const;
  RateLimiterStats Stats() const;

  // The budget's scope names: one per doctor, one for the project.
  static std::string DoctorScope(std::string_view doctor);
  static constexpr std::string_view kProjectScope = "project";
  // The window number `t` falls in, and when that window ends.
  int64_t WindowOf(Instant t) const;
  Instant WindowEnd(int64_t window) const;

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

  // The permits this instance holds of one scope's current window.
  struct SharedScope {
    std::mutex mu;        // held across the round trip, so one slice is asked at a time
    int64_t window = -1;  // guarded by mu
    int remaining = 0;    // guarded by mu
    std::atomic<int> waiting{0};
  };
  SharedScope& Shared(std::string_view scope);
  // Waits for one permit of `scope` (cap per window from `per_minute`); when the budget fails,
  // for a slot of `fallback` instead. Returns the wait.
  std::chrono::microseconds TakeShared(std::string_view scope, double per_minute,
                                       std::string_view fallback_doctor);
  int CapPerWindow(double per_minute, int64_t window) const;

  const RateLimitOptions options_;
  const Clock& clock_;
  Sleeper& sleeper_;
  QuotaBudget* const shared_;
  mutable std::mutex mu_;
  Bucket project_;                                      // guarded by mu_
  std::map<std::string, Bucket, std::less<>> doctors_;  // guarded by mu_
  std::uint64_t granted_ = 0;                           // guarded by mu_
  std::uint64_t rate_limited_user_ = 0;                 // guarded by mu_
  std::uint64_t rate_limited_project_ = 0;              // guarded by mu_
  // Never erased, so a reference outlives mu_.
  std::map<std::string, std::unique_ptr<SharedScope>, std::less<>> scopes_;  // guarded by mu_
};

}  // namespace telemeet::google
