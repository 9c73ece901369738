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
  ++granted_;
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
  ++(user_limit ? rate_limited_user_ : rate_limited_project_);
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

RateLimiterStats RateLimiter::Stats() const {
  std::lock_guard lock(mu_);
  RateLimiterStats s;
  s.project_configured_per_minute = project_.configured;
  s.project_rate_per_minute = project_.rate;
  s.project_burst = project_.burst;
  // GCRA: the n-th request from now is admitted at tat + (n - 1) * interval - tolerance.
  const auto interval = Interval(project_.rate);
  const auto tolerance = interval * (project_.burst - 1);
  const auto slack = clock_.Now() - (project_.tat - tolerance);
  const int64_t admitted = slack.count() < 0 ? 0 : 1 + slack / interval;
  s.project_tokens_available = static_cast<int>(std::min<int64_t>(admitted, project_.burst));
  s.doctors = static_cast<int>(doctors_.size());
  for (const auto& [name, b] : doctors_) {
    if (b.rate < b.configured) ++s.doctors_backed_off;
  }
  s.granted = granted_;
  s.rate_limited_user = rate_limited_user_;
  s.rate_limited_project = rate_limited_project_;
  return s;
}

}  // namespace telemeet::google
