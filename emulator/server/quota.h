// Calendar API quotas as Google applies them (google-protocol.md §12): requests per sliding
// minute per user and per project, each call weighing its quota units (a patch costs 3).
//
//   QuotaLimiter quota(clock, {.per_user = 600, .per_project = 10'000});
//   if (auto exceeded = quota.Charge("alice@example.com", 1)) return QuotaError(*exceeded, cfg);
//
// Thread safety: safe for concurrent use (one mutex).
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "net/http.h"

namespace telemeet::emulator {

struct QuotaOptions {
  int per_user = 600;           // units per sliding minute per user; 0 = unlimited
  int per_project = 10'000;     // units per sliding minute for the whole project; 0 = unlimited
  int status = 403;             // 403 (usageLimits) or 429 when exceeded
  int retry_after_seconds = 0;  // a Retry-After header when > 0
};

enum class QuotaExceeded { kUser, kProject };

// A window of the last minute in 100 ms slots: O(1) per charge, exact to the slot.
class SlidingWindow {
 public:
  // The units counted in the minute ending at `now`.
  int Count(Instant now);
  void Add(Instant now, int units);

 private:
  void Expire(Instant now);
  std::deque<std::pair<int64_t, int>> slots_;  // slot number (100 ms), units
  int total_ = 0;
};

class QuotaLimiter {
 public:
  QuotaLimiter(const Clock& clock, QuotaOptions options) : clock_(clock), options_(options) {}

  // Counts `units` for `user` (empty: an unauthenticated call, project quota only). Nothing is
  // counted when a limit would be passed; the answer says which.
  std::optional<QuotaExceeded> Charge(std::string_view user, int units);

  QuotaOptions options() const;
  void SetOptions(QuotaOptions options);
  void Reset();  // forgets what was counted

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  QuotaOptions options_;
  SlidingWindow project_;
  std::unordered_map<std::string, SlidingWindow> users_;
};

// Google's answer for an exceeded quota: 403 or 429, domain usageLimits, reason
// userRateLimitExceeded or rateLimitExceeded, with Retry-After when configured.
net::Response QuotaError(QuotaExceeded which, const QuotaOptions& options);

}  // namespace telemeet::emulator
