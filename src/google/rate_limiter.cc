#include "google/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace telemeet::google {
namespace {

std::chrono::microseconds Interval(double per_minute) {
  return std::chrono::microseconds(static_cast<int64_t>(60'000'000.0 / per_minute));
}

}  // namespace

RateLimiter::RateLimiter(RateLimitOptions options, const Clock& clock, Sleeper& sleeper,
                         QuotaBudget* shared)
    : options_(options), clock_(clock), sleeper_(sleeper), shared_(shared) {
  project_.configured = project_.rate = options_.project_per_minute;
  project_.burst = std::max(1, options_.project_burst);
}

std::string RateLimiter::DoctorScope(std::string_view doctor) {
  return "doctor:" + std::string(doctor);
}

int64_t RateLimiter::WindowOf(Instant t) const {
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const int64_t w = options_.window.count();
  return us >= 0 ? us / w : (us - w + 1) / w;
}

Instant RateLimiter::WindowEnd(int64_t window) const {
  return Instant{} + std::chrono::duration_cast<Instant::duration>(options_.window * (window + 1));
}

int RateLimiter::CapPerWindow(double per_minute, int64_t window) const {
  // The permits due by the window's end less those due by its start: a fractional rate (9.5 a
  // window) alternates 9 and 10 instead of losing the half, and any run of windows holds at
  // most one permit more than its exact share.
  const double per_window = per_minute * static_cast<double>(options_.window.count()) /
                            static_cast<double>(options_.minute.count());
  const auto due = [&](int64_t w) {
    return static_cast<int64_t>(std::floor(per_window * static_cast<double>(w)));
  };
  return std::max(1, static_cast<int>(due(window + 1) - due(window)));
}

RateLimiter::SharedScope& RateLimiter::Shared(std::string_view scope) {
  std::lock_guard lock(mu_);
  auto it = scopes_.find(scope);
  if (it == scopes_.end()) {
    it = scopes_.emplace(std::string(scope), std::make_unique<SharedScope>()).first;
  }
  return *it->second;
}

std::chrono::microseconds RateLimiter::TakeShared(std::string_view scope, double per_minute,
                                                  std::string_view fallback_doctor) {
  SharedScope& s = Shared(scope);
  std::chrono::microseconds waited{0};
  s.waiting.fetch_add(1);
  for (;;) {
    Instant window_end;
    {
      std::lock_guard lock(s.mu);
      const Instant now = clock_.Now();
      const int64_t window = WindowOf(now);
      const int cap = CapPerWindow(per_minute, window);
      if (s.window == window && s.remaining > 0) {
        --s.remaining;
        s.waiting.fetch_sub(1);
        return waited;
      }
      // The callers waiting now spend what is asked at once; a floor saves round trips when
      // they come one by one, a ceiling leaves the other instances their share.
      const int floor = std::max(1, cap / std::max(1, options_.min_slices));
      const int ceiling = std::max(floor, cap / std::max(1, options_.max_slices));
      const int want = std::clamp(s.waiting.load(), floor, ceiling);
      Result<QuotaSlice> slice = shared_->Take(scope, window, want, cap, now);
      if (!slice) {
        // The budget cannot be asked (the database is away): pace on the local buckets, which
        // keep this instance alone inside the limits.
        s.waiting.fetch_sub(1);
        std::chrono::microseconds wait;
        {
          std::lock_guard limiter_lock(mu_);
          wait = ReserveLocked(fallback_doctor.empty() ? project_ : DoctorLocked(fallback_doctor),
                               now);
        }
        if (wait.count() > 0) sleeper_.SleepFor(wait);
        return waited + wait;
      }
      s.window = window;
      s.remaining = slice->granted;
      if (s.remaining > 0) {
        --s.remaining;
        s.waiting.fetch_sub(1);
        return waited;
      }
      window_end = WindowEnd(window);
    }
    // This window is spent, by every instance together: the next one starts afresh.
    const auto wait =
        std::chrono::duration_cast<std::chrono::microseconds>(window_end - clock_.Now());
    if (wait.count() > 0) {
      sleeper_.SleepFor(wait);
      waited += wait;
    }
  }
}

std::chrono::microseconds RateLimiter::Acquire(std::string_view doctor) {
  if (shared_ != nullptr) {
    // Doctor first, then project, as below: a busy doctor waits on its own windows and holds
    // no project permits while it waits. The project's permit is the last wait, so the call
    // goes out in the window it was counted in; a doctor's may be counted a window early, which
    // its share of the margin covers.
    std::chrono::microseconds first =
        TakeShared(DoctorScope(doctor), options_.doctor_per_minute, doctor);
    return first + TakeShared(kProjectScope, options_.project_per_minute, {});
  }
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
  {
    std::lock_guard lock(mu_);
    ++(user_limit ? rate_limited_user_ : rate_limited_project_);
    Decrease(user_limit ? DoctorLocked(doctor) : project_);
  }
  if (shared_ == nullptr) return;
  const std::string scope = user_limit ? DoctorScope(doctor) : std::string(kProjectScope);
  const Instant now = clock_.Now();
  // Best effort: when the budget cannot be told, the local buckets were slowed above.
  (void)shared_->SlowDown(scope, now, now + options_.slow_for, WindowOf(now));
  SharedScope& s = Shared(scope);
  std::lock_guard lock(s.mu);
  s.remaining = 0;  // the next permit is asked under the slowed cap
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
