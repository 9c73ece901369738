#include "store/retention.h"

namespace telemeet::store {

RetentionCutoffs CutoffsFor(const RetentionPolicy& policy, Instant now) {
  return RetentionCutoffs{
      .now = now, .data_before = now - policy.days, .audit_before = now - policy.audit_days};
}

Result<PurgeCounts> Purge(Store& store, const RetentionPolicy& policy, Instant now,
                          const PurgeOptions& options) {
  if (options.batch < 1)
    return Fail(ErrorCode::kInvalidArgument, "batch must be positive", "batch");
  const RetentionCutoffs cutoffs = CutoffsFor(policy, now);
  PurgeCounts out;
  for (const auto& [table, name] : kRetentionTables) {
    PurgeCount count{.table = name};
    if (options.dry_run) {
      count.rows = TM_TRY(store.Read([&](Tx& tx) { return tx.CountExpired(table, cutoffs); }));
      out.push_back(count);
      continue;
    }
    while (!(options.should_stop && options.should_stop())) {
      int64_t n = TM_TRY(
          store.Transact([&](Tx& tx) { return tx.PurgeExpired(table, cutoffs, options.batch); }));
      count.rows += n;
      if (n < options.batch) break;
    }
    out.push_back(count);
  }
  return out;
}

}  // namespace telemeet::store
