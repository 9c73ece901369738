// A budget of Google calls shared by every telemeet instance that works on one database, so
// that N instances together stay inside one project's quota (issue 17). Time is cut into short
// fixed windows; each scope (the project, or one doctor) may spend at most `cap` permits in a
// window, counted once for all instances. An instance takes permits in slices (several per
// round trip) and spends them before its window ends; a permit never outlives its window, so
// the count is exact whichever instance spends it.
//
//   QuotaSlice s = TM_TRY(budget.Take("doctor:7", window, /*want=*/4, /*cap=*/9, now));
//   // s.granted permits may be used until `window` ends; s.cap is the cap after any slow-down
//   budget.SlowDown("doctor:7", now, now + 10s, window);  // a 429: every instance slows
//
// RateLimiter (rate_limiter.h) is the one caller. The implementation kept in the database lives
// above this layer (sync/store_quota_budget.h); tests use an in-memory one.
// Implementations are safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::google {

struct QuotaSlice {
  int granted = 0;  // permits taken, to spend before the window ends (0: the window is spent)
  int cap = 0;      // the window's cap after the scope's slow-down (== the cap asked when none)
};

class QuotaBudget {
 public:
  virtual ~QuotaBudget() = default;

  // Takes up to `want` permits of `scope` in window number `window`, of which every instance
  // together gets at most `cap` scaled by the scope's current slow-down (at least 1). Errors:
  // whatever the backing store answers (kUnavailable, kAborted...); the caller then paces on
  // its own.
  virtual Result<QuotaSlice> Take(std::string_view scope, int64_t window, int want, int cap,
                                  Instant now) = 0;

  // Google answered a rate-limit error for `scope`: halves the scope's share of its cap (down to
  // 1/20) for every instance until `until`, at most once per window (many calls in flight see
  // the same answer; one halving is the reaction to it).
  virtual Status SlowDown(std::string_view scope, Instant now, Instant until, int64_t window) = 0;
};

}  // namespace telemeet::google
