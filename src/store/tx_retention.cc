// Tx operations of retention (issue 15): which rows of each table may go, counted or deleted in
// bounded batches. store/retention.h runs them table by table.
#include <fmt/format.h>

#include <cstdlib>
#include <vector>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

namespace {

// One table's rule: its key column and the condition (with its parameters) a row that may go
// meets.
struct Rule {
  std::string_view table;
  std::string_view key;
  std::string where;
  std::vector<SqlValue> params;
};

Rule RuleFor(RetentionTable table, const RetentionCutoffs& c) {
  switch (table) {
    // Expired rows of these three are refused by every read already (GetSession, GetIdempotency,
    // ConsumeOAuthState compare with now): they can go as soon as they expire.
    case RetentionTable::kSessions:
      return {"sessions", "id", "expires_at <= ?", {TimeValue(c.now)}};
    case RetentionTable::kOAuthStates:
      return {"oauth_states", "state_hash", "expires_at <= ?", {TimeValue(c.now)}};
    case RetentionTable::kIdempotencyKeys:
      return {"idempotency_keys", "key", "expires_at <= ?", {TimeValue(c.now)}};
    // An appointment's links stay listed (revoked or expired) for retention.days, so an admin
    // can still see why a patient's link stopped working.
    case RetentionTable::kAccessLinks:
      return {"access_links",
              "id",
              "(expires_at < ? OR revoked_at < ?)",
              {TimeValue(c.data_before), TimeValue(c.data_before)}};
    case RetentionTable::kWebhookDeliveries:
      return {"webhook_deliveries", "id", "updated_at < ?", {TimeValue(c.data_before)}};
    // An event goes once nothing needs it: its "deliver" job (which reads the row) is finished,
    // and so are its email jobs (they carry their own copy of the event, and the notifier only
    // makes them for events younger than a day, so none can be left a retention period later:
    // the check is a guard). Deliveries last updated within the period keep their event (the
    // delivery log shows both); older ones are deleted first (PurgeExpired below).
    case RetentionTable::kOutboxEvents:
      return {"outbox_events",
              "id",
              "created_at < ? AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.key = 'outbox:' || "
              "CAST(outbox_events.id AS TEXT)) AND NOT EXISTS (SELECT 1 FROM jobs j WHERE "
              "j.kind = 'email' AND j.key LIKE 'email:' || CAST(outbox_events.id AS TEXT) || "
              "':%') AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = "
              "outbox_events.id AND d.updated_at >= ?)",
              {TimeValue(c.data_before), TimeValue(c.data_before)}};
    case RetentionTable::kAuditEntries:
      return {"audit_entries", "id", "at < ?", {TimeValue(c.audit_before)}};
    case RetentionTable::kAdminAudit:
      return {"admin_audit", "id", "at < ?", {TimeValue(c.audit_before)}};
    // A bulk job's progress stays readable (GET /api/v1/jobs/{id}) for retention.days after it
    // ended; one still queued or running is never purged (its command or serve resumes it).
    case RetentionTable::kBulkJobs:
      return {"bulk_jobs",
              "id",
              "state IN ('done', 'failed') AND finished_at < ?",
              {TimeValue(c.data_before)}};
  }
  std::abort();  // every enumerator is handled above
}

}  // namespace

Result<int64_t> Tx::CountExpired(RetentionTable table, const RetentionCutoffs& cutoffs) {
  Rule rule = RuleFor(table, cutoffs);
  auto r = conn_.Exec(fmt::format("SELECT COUNT(*) FROM {} WHERE {}", rule.table, rule.where),
                      rule.params);
  if (!r) return std::unexpected(r.error());
  return r->rows.at(0).Int(0);
}

Result<int64_t> Tx::PurgeExpired(RetentionTable table, const RetentionCutoffs& cutoffs,
                                 int32_t limit) {
  if (limit < 1) return Fail(ErrorCode::kInvalidArgument, "limit must be positive", "limit");
  Rule rule = RuleFor(table, cutoffs);
  rule.params.emplace_back(int64_t{limit});
  std::string batch =
      fmt::format("SELECT {} FROM {} WHERE {} LIMIT ?", rule.key, rule.table, rule.where);
  if (table == RetentionTable::kOutboxEvents) {
    // A delivery row references its event, so old deliveries still there (Purge deletes them
    // first, but this operation must not depend on it) go with their event. The batch is
    // ordered (along the created_at index) so both statements pick the same events.
    batch = fmt::format("SELECT id FROM outbox_events WHERE {} ORDER BY created_at, id LIMIT ?",
                        rule.where);
    auto d = conn_.Exec(fmt::format("DELETE FROM webhook_deliveries WHERE event_id IN ({})", batch),
                        rule.params);
    if (!d) return std::unexpected(d.error());
  }
  auto r = conn_.Exec(fmt::format("DELETE FROM {} WHERE {} IN ({})", rule.table, rule.key, batch),
                      rule.params);
  if (!r) return std::unexpected(r.error());
  return r->affected;
}

}  // namespace telemeet::store
