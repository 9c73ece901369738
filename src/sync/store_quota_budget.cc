#include "sync/store_quota_budget.h"

namespace telemeet::sync {

Result<google::QuotaSlice> StoreQuotaBudget::Take(std::string_view scope, int64_t window, int want,
                                                  int cap, Instant now) {
  // Each instance purges at most once per `keep` windows; several doing it is harmless.
  int64_t below = purged_below_.load();
  if (window - keep_ > below && purged_below_.compare_exchange_strong(below, window - keep_)) {
    (void)store_.Transact([&](store::Tx& tx) { return tx.PurgeQuota(window - keep_, now); });
  }
  auto taken =
      store_.Transact([&](store::Tx& tx) { return tx.TakeQuota(scope, window, want, cap, now); });
  if (!taken) return std::unexpected(taken.error());
  return google::QuotaSlice{.granted = taken->granted, .cap = taken->cap};
}

Status StoreQuotaBudget::SlowDown(std::string_view scope, Instant now, Instant until,
                                  int64_t window) {
  return store_.Transact([&](store::Tx& tx) { return tx.SlowQuota(scope, now, until, window); });
}

}  // namespace telemeet::sync
