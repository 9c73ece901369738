// Tx operations for bulk jobs (issue 17: resync, backfill, cancel on disconnect) and leasing one
// job by its key (the bulk runner fences the appointments it works on with their reconcile
// jobs' leases).
#include <fmt/format.h>

#include <string>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace {

constexpr std::string_view kBulkCols =
    "id, kind, doctor_id, params, state, total_count, done_count, failed_count, cursor_id, "
    "failures, created_by, created_at, updated_at, finished_at";

BulkJob BulkJobFrom(const Row& r) {
  BulkJob j;
  j.id = r.Int(0);
  j.kind = r.Text(1);
  j.doctor_id = r.Int(2);
  j.params = r.Text(3);
  j.state = r.Text(4);
  j.total = r.Int(5);
  j.done = r.Int(6);
  j.failed = r.Int(7);
  j.cursor = r.Int(8);
  j.failures = r.Text(9);
  j.created_by = r.Text(10);
  j.created_at = r.Time(11);
  j.updated_at = r.Time(12);
  j.finished_at = r.OptTime(13);
  return j;
}

}  // namespace

std::string BulkJobKey(int64_t bulk_job_id) { return fmt::format("bulk:{}", bulk_job_id); }

Result<BulkJob> Tx::CreateBulkJob(BulkJob job) {
  if (job.kind.empty()) return Fail(ErrorCode::kInvalidArgument, "a bulk job needs a kind", "kind");
  const Instant now = Now();
  auto row =
      ExecOne(fmt::format("INSERT INTO bulk_jobs (kind, doctor_id, params, state, "
                          "total_count, done_count, failed_count, cursor_id, failures, "
                          "created_by, created_at, updated_at, finished_at) "
                          "VALUES (?, ?, ?, 'queued', 0, 0, 0, 0, '[]', ?, ?, ?, NULL) "
                          "RETURNING {}",
                          kBulkCols),
              {job.kind, job.doctor_id, job.params, job.created_by, TimeValue(now), TimeValue(now)},
              "bulk job");
  if (!row) return std::unexpected(row.error());
  BulkJob made = BulkJobFrom(*row);
  core::Job queued;
  queued.kind = std::string(kBulkJobKind);
  queued.key = BulkJobKey(made.id);
  queued.doctor_id = made.doctor_id;
  queued.payload = std::to_string(made.id);
  queued.run_at = now;
  TM_TRY(UpsertJob(queued));
  return made;
}

Result<BulkJob> Tx::GetBulkJob(int64_t id) {
  auto row = ExecOne(fmt::format("SELECT {} FROM bulk_jobs WHERE id = ?", kBulkCols), {id},
                     fmt::format("bulk job {}", id));
  if (!row) return std::unexpected(row.error());
  return BulkJobFrom(*row);
}

Result<std::optional<BulkJob>> Tx::FindOpenBulkJob(std::string_view kind, int64_t doctor_id,
                                                   std::string_view params) {
  auto r = Exec(fmt::format("SELECT {} FROM bulk_jobs WHERE kind = ? AND doctor_id = ? AND "
                            "params = ? AND state IN ('queued', 'running') ORDER BY id DESC "
                            "LIMIT 1",
                            kBulkCols),
                {std::string(kind), doctor_id, std::string(params)});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return std::optional<BulkJob>();
  return std::optional<BulkJob>(BulkJobFrom(r->rows.front()));
}

Status Tx::SaveBulkProgress(const BulkJob& job) {
  auto r = Exec(
      "UPDATE bulk_jobs SET state = ?, total_count = ?, done_count = ?, failed_count = ?, "
      "cursor_id = ?, failures = ?, updated_at = ?, finished_at = ? WHERE id = ?",
      {job.state, job.total, job.done, job.failed, job.cursor, job.failures, TimeValue(Now()),
       OptTimeValue(job.finished_at), job.id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) return Fail(ErrorCode::kNotFound, fmt::format("bulk job {}", job.id));
  return Ok();
}

Result<std::optional<core::Job>> Tx::LeaseJobByKey(std::string_view key, std::string_view owner,
                                                   std::chrono::microseconds lease_for,
                                                   Instant now) {
  if (owner.empty()) return Fail(ErrorCode::kInvalidArgument, "a lease needs an owner", "owner");
  // A live lease is one whose expiry (run_at) is still ahead.
  std::string sql = fmt::format(
      "UPDATE jobs SET lease_owner = ?, lease_seq = lease_seq + 1, run_at = ? "
      "WHERE id IN (SELECT id FROM jobs WHERE key = ? AND state = 'ready' AND "
      "(lease_owner IS NULL OR run_at <= ?){}) RETURNING {}",
      postgres() ? " FOR UPDATE SKIP LOCKED" : "", kJobCols);
  auto r =
      Exec(sql, {std::string(owner), TimeValue(now + lease_for), std::string(key), TimeValue(now)});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return std::optional<core::Job>();
  return std::optional<core::Job>(JobFrom(r->rows.front()));
}

}  // namespace telemeet::store
