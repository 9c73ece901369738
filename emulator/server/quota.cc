#include "emulator/server/quota.h"

#include "emulator/google_error.h"

namespace telemeet::emulator {

namespace {
constexpr int64_t kSlotMicros = 100'000;
constexpr int64_t kSlotsPerMinute = 600;

int64_t SlotOf(Instant t) { return t.time_since_epoch().count() / kSlotMicros; }
}  // namespace

void SlidingWindow::Expire(Instant now) {
  int64_t oldest_kept = SlotOf(now) - kSlotsPerMinute + 1;
  while (!slots_.empty() && slots_.front().first < oldest_kept) {
    total_ -= slots_.front().second;
    slots_.pop_front();
  }
}

int SlidingWindow::Count(Instant now) {
  Expire(now);
  return total_;
}

void SlidingWindow::Add(Instant now, int units) {
  int64_t slot = SlotOf(now);
  if (!slots_.empty() && slots_.back().first >= slot) {
    slots_.back().second += units;
  } else {
    slots_.emplace_back(slot, units);
  }
  total_ += units;
}

std::optional<QuotaExceeded> QuotaLimiter::Charge(std::string_view user, int units) {
  std::lock_guard lock(mu_);
  if (options_.per_user <= 0 && options_.per_project <= 0) return std::nullopt;
  Instant now = clock_.Now();
  SlidingWindow* user_window = nullptr;
  if (!user.empty() && options_.per_user > 0) {
    user_window = &users_[std::string(user)];
    if (user_window->Count(now) + units > options_.per_user) return QuotaExceeded::kUser;
  }
  if (options_.per_project > 0 && project_.Count(now) + units > options_.per_project) {
    return QuotaExceeded::kProject;
  }
  if (user_window != nullptr) user_window->Add(now, units);
  if (options_.per_project > 0) project_.Add(now, units);
  return std::nullopt;
}

QuotaOptions QuotaLimiter::options() const {
  std::lock_guard lock(mu_);
  return options_;
}

void QuotaLimiter::SetOptions(QuotaOptions options) {
  std::lock_guard lock(mu_);
  options_ = options;
}

void QuotaLimiter::Reset() {
  std::lock_guard lock(mu_);
  project_ = SlidingWindow();
  users_.clear();
}

net::Response QuotaError(QuotaExceeded which, const QuotaOptions& options) {
  ErrorItem item{
      .domain = "usageLimits",
      .reason = which == QuotaExceeded::kUser ? "userRateLimitExceeded" : "rateLimitExceeded",
      .message = which == QuotaExceeded::kUser ? "User Rate Limit Exceeded" : "Rate Limit Exceeded",
      .location_type = "",
      .location = ""};
  net::Response r = ApiError(options.status == 429 ? 429 : 403, item);
  if (options.retry_after_seconds > 0) {
    r.headers.Set("Retry-After", std::to_string(options.retry_after_seconds));
  }
  return r;
}

}  // namespace telemeet::emulator
