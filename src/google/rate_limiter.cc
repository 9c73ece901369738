#include "google/rate_limiter.h"

#include <algorithm>

namespace telemeet::google {
namespace {

std::chrono::microseconds Interval(double per_minute) {
  return std::chrono::microseconds(static_cast<int64_t>(60'000'000.0 / per_minute));
}

}  // namespace

RateLimiter::RateLimiter(RateLimitOptions options, const Clock& clock, Sleeper& sleeper)
    : options_(options), clock_(clock), sleeper_(sleeper) {
  project_.configured = project_.rate = options_.project_per_minute;
  project_.burst = std::max(1, options_.project_burst);
}

std::chrono::microseconds RateLimiter::Acquire(std::string_view doctor) {
  std::chrono::microseconds first = ReserveDoctorSlot(doctor);
  if (first.count() > 0) sleeper_.SleepFor(first);
  std::chrono::microseconds second = ReserveProjectSlot();
  if (second.count() > 0) sleeper_.SleepFor(second);
  return first + second;
}

std::chrono::microseconds RateLimiter::ReserveDoctorSlot(std::string_view doctor) {
  std::lock_guard lock(mu_);
  return ReserveLocked(DoctorLocked(doctor), clock_.Now());
}

std::chrono::microseconds RateLimiter::ReserveProjectSlot() {
  std::lock_guard lock(mu_);
  return ReserveLocked(project_, clock_.Now());
}

std::chrono::microseconds RateLimiter::ReserveLocked(Bucket& b, Instant now) {
  const auto interval = Interval(b.rate);
  const auto tolerance = interval * (b.burst - 1);
  Instant allowed = std::max(now, b.tat - tolerance);
  b.tat = std::max(b.tat, allowed) + interval;
  return std::chrono::duration_cast<std::chrono::microseconds>(allowed - now);
}

RateLimiter::Bucket& RateLimiter::DoctorLocked(std::string_view doctor) {
  auto it = doctors_.find(doctor);
  if (it == doctors_.end()) {
    Bucket b;
    b.configured = b.rate = options_.doctor_per_minute;
    b.burst = std::max(1, options_.doctor_burst);
    it = doctors_.emplace(std::string(doctor), b).first;
  }
  return it->second;
}

void RateLimiter::Increase(Bucket& b) const {
  b.rate = std::min(b.configured, b.rate + b.configured * options_.increase_fraction);
}

void RateLimiter::Decrease(Bucket& b) const {
  b.rate = std::max(b.configured * options_.min_fraction, b.rate * options_.decrease_factor);
}

void RateLimiter::OnRateLimited(std::string_view doctor, bool user_limit) {
  std::lock_guard lock(mu_);
  Decrease(user_limit ? DoctorLocked(doctor) : project_);
}

void RateLimiter::OnSuccess(std::string_view doctor) {
  std::lock_guard lock(mu_);
  Increase(DoctorLocked(doctor));
  Increase(project_);
}

double RateLimiter::DoctorRate(std::string_view doctor) const {
  std::lock_guard lock(mu_);
  auto it = doctors_.find(doctor);
  return it == doctors_.end() ? options_.doctor_per_minute : it->second.rate;
}

double RateLimiter::ProjectRate() const {
  std::lock_guard lock(mu_);
  return project_.rate;
}

}  // namespace telemeet::google
