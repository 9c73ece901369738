// The Google quota budget kept in the database, shared by every telemeet instance on one
// PostgreSQL (issue 17): google::QuotaBudget on the store's quota windows and slow-downs. Each
// Take is one short transaction (one UPSERT); past windows are purged as windows go by.
//
//   sync::StoreQuotaBudget budget(store);
//   google::RateLimiter limiter(limits, clock, sleeper, &budget);
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "google/quota_budget.h"
#include "store/store.h"

namespace telemeet::sync {

class StoreQuotaBudget final : public google::QuotaBudget {
 public:
  // `keep`: windows kept behind the current one before they are purged (a minute's worth of
  // 1 s windows by default; any number is correct, the rows are only history).
  explicit StoreQuotaBudget(store::Store& store, int64_t keep = 120) : store_(store), keep_(keep) {}

  // google::QuotaBudget
  Result<google::QuotaSlice> Take(std::string_view scope, int64_t window, int want, int cap,
                                  Instant now) override;
  Status SlowDown(std::string_view scope, Instant now, Instant until, int64_t window) override;

 private:
  store::Store& store_;
  const int64_t keep_;
  std::atomic<int64_t> purged_below_{0};  // the window purged up to, by this instance
};

}  // namespace telemeet::sync
