// Retention (issue 15): what telemeet keeps, and for how long. Expired sessions, OAuth states and
// idempotency records go as soon as they expire; access links expired or revoked, webhook
// deliveries, outbox events nothing needs any more and finished bulk jobs go after `days`; audit entries (each
// appointment's trail and the admin audit) after `audit_days`. Rows go in bounded batches, one
// transaction each, so a large backlog never holds SQLite's write lock for long.
//
//   RetentionPolicy policy{.days = std::chrono::days(30), .audit_days = std::chrono::days(3650)};
//   Result<PurgeCounts> n = Purge(store, policy, clock.Now());              // deletes
//   Result<PurgeCounts> m = Purge(store, policy, clock.Now(), {.dry_run = true});  // counts
//
// The janitor (sync/janitor.h) runs this every hour; `telemeet purge [--dry-run]` runs it once.
// Safe to run from several threads and instances at once (each batch is its own transaction;
// two purges at most find less to delete).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "store/store.h"

namespace telemeet::store {

struct RetentionPolicy {
  std::chrono::days days{30};          // retention.days
  std::chrono::days audit_days{3650};  // retention.audit_days
};

struct PurgeOptions {
  bool dry_run = false;  // count what would go, delete nothing
  int32_t batch = 500;   // rows per transaction
  // Asked before each batch; true ends the purge early (shutdown), returning the counts so far.
  std::function<bool()> should_stop{};
};

// The tables in the order a purge visits them (deliveries before the events they reference),
// with their names as in the schema (the CLI's output and the metrics' "table" label).
inline constexpr std::array<std::pair<RetentionTable, std::string_view>, 9> kRetentionTables{{
    {RetentionTable::kSessions, "sessions"},
    {RetentionTable::kOAuthStates, "oauth_states"},
    {RetentionTable::kIdempotencyKeys, "idempotency_keys"},
    {RetentionTable::kAccessLinks, "access_links"},
    {RetentionTable::kWebhookDeliveries, "webhook_deliveries"},
    {RetentionTable::kOutboxEvents, "outbox_events"},
    {RetentionTable::kAuditEntries, "audit_entries"},
    {RetentionTable::kAdminAudit, "admin_audit"},
    {RetentionTable::kBulkJobs, "bulk_jobs"},
}};

// Rows deleted (or, dry run, that would be) per table, in kRetentionTables order.
struct PurgeCount {
  std::string_view table;
  int64_t rows = 0;
};
using PurgeCounts = std::vector<PurgeCount>;

RetentionCutoffs CutoffsFor(const RetentionPolicy& policy, Instant now);

// Purges every table as of `now`. Errors: the store's (the counts of the batches committed
// before the error are lost to the caller, not to the database: those rows are gone).
Result<PurgeCounts> Purge(Store& store, const RetentionPolicy& policy, Instant now,
                          const PurgeOptions& options = {});

}  // namespace telemeet::store
