// An in-memory QuotaBudget with the rules of the database one (sync/store_quota_budget.h): a
// count per scope and window, a slow-down per scope. Several RateLimiters sharing one play
// several instances; `fail` makes every call answer kUnavailable (a database that is away).
//
//   FakeQuotaBudget budget;
//   RateLimiter a(options, clock, sleeper, &budget), b(options, clock, sleeper, &budget);
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "google/quota_budget.h"

namespace telemeet::google::testing {

class FakeQuotaBudget final : public QuotaBudget {
 public:
  // QuotaBudget
  Result<QuotaSlice> Take(std::string_view scope, int64_t window, int want, int cap,
                          Instant now) override {
    std::lock_guard lock(mu_);
    ++takes_;
    if (fail_) return Fail(ErrorCode::kUnavailable, "the budget is away");
    int permille = 1000;
    if (auto it = slow_.find(std::string(scope)); it != slow_.end() && it->second.until > now) {
      permille = it->second.permille;
    }
    const int effective = std::max(1, (cap * permille + 999) / 1000);
    int& used = used_[{std::string(scope), window}];
    const int granted = std::clamp(effective - used, 0, want);
    used += granted;
    return QuotaSlice{.granted = granted, .cap = effective};
  }
  Status SlowDown(std::string_view scope, Instant now, Instant until, int64_t window) override {
    std::lock_guard lock(mu_);
    if (fail_) return Fail(ErrorCode::kUnavailable, "the budget is away");
    Slow& s = slow_[std::string(scope)];
    if (s.until > now && s.window == window) return Ok();  // halved in this window already
    s.permille = std::max(50, (s.until > now ? s.permille : 1000) / 2);
    s.until = until;
    s.window = window;
    return Ok();
  }

  int Used(const std::string& scope, int64_t window) const {
    std::lock_guard lock(mu_);
    auto it = used_.find({scope, window});
    return it == used_.end() ? 0 : it->second;
  }
  int takes() const {
    std::lock_guard lock(mu_);
    return takes_;
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }

 private:
  struct Slow {
    int permille = 1000;
    Instant until{};
    int64_t window = -1;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int64_t>, int> used_;
  std::map<std::string, Slow> slow_;
  int takes_ = 0;
  bool fail_ = false;
};

}  // namespace telemeet::google::testing
