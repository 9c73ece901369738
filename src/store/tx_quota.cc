// Tx operations for the Google quota that every instance on one database shares (issue 17):
// permits counted per scope and window, and a scope's slow-down after a rate-limit answer.
#include <string>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace {

// What is left of the window, at most what is asked. Right-hand sides of SET all read the row
// as it was, so `used` and `granted` agree.
constexpr std::string_view kGrant =
    "(CASE WHEN excluded.cap <= google_quota_windows.used THEN 0 "
    "WHEN excluded.cap - google_quota_windows.used < CAST(? AS BIGINT) "
    "THEN excluded.cap - google_quota_windows.used ELSE CAST(? AS BIGINT) END)";

}  // namespace

Result<QuotaTaken> Tx::TakeQuota(std::string_view scope, int64_t window, int32_t want, int32_t cap,
                                 Instant now) {
  if (want < 1 || cap < 1) {
    return Fail(ErrorCode::kInvalidArgument, "want and cap must be at least 1",
                want < 1 ? "want" : "cap");
  }
  // One UPSERT: the first taker of a window inserts its row with the cap (slowed or not) it
  // reads; the others add to it under the row's lock. "WHERE true" lets SQLite tell the
  // SELECT's end from the ON CONFLICT clause.
  const std::string sql =
      "INSERT INTO google_quota_windows (scope, window_no, cap, used, granted) "
      "SELECT s, w, c, CASE WHEN c < n THEN c ELSE n END, CASE WHEN c < n THEN c ELSE n END "
      "FROM (SELECT CAST(? AS TEXT) AS s, CAST(? AS BIGINT) AS w, CAST(? AS BIGINT) AS n, "
      "(CAST(? AS BIGINT) * COALESCE((SELECT permille FROM google_quota_slowdowns "
      "WHERE scope = ? AND slow_until > ?), 1000) + 999) / 1000 AS c) AS x WHERE true "
      "ON CONFLICT (scope, window_no) DO UPDATE SET used = google_quota_windows.used + " +
      std::string(kGrant) + ", granted = " + std::string(kGrant) +
      ", cap = excluded.cap RETURNING granted, cap";
  auto row = ExecOne(sql,
                     {std::string(scope), window, int64_t{want}, int64_t{cap}, std::string(scope),
                      TimeValue(now), int64_t{want}, int64_t{want}, int64_t{want}, int64_t{want}},
                     "quota window");
  if (!row) return std::unexpected(row.error());
  return QuotaTaken{.granted = static_cast<int32_t>(row->Int(0)),
                    .cap = static_cast<int32_t>(row->Int(1))};
}

Status Tx::SlowQuota(std::string_view scope, Instant now, Instant until, int64_t window) {
  // Halve from the current share while slowed, from the whole cap otherwise; once per window,
  // as every call in flight when Google said stop hears the same answer.
  auto r = Exec(
      "INSERT INTO google_quota_slowdowns (scope, permille, slow_until, window_no) "
      "VALUES (?, 500, ?, ?) ON CONFLICT (scope) DO UPDATE SET "
      "permille = CASE WHEN google_quota_slowdowns.slow_until <= ? THEN 500 "
      "WHEN google_quota_slowdowns.permille <= 100 THEN 50 "
      "ELSE google_quota_slowdowns.permille / 2 END, "
      "slow_until = excluded.slow_until, window_no = excluded.window_no "
      "WHERE google_quota_slowdowns.slow_until <= ? OR google_quota_slowdowns.window_no <> ?",
      {std::string(scope), TimeValue(until), window, TimeValue(now), TimeValue(now), window});
  if (!r) return std::unexpected(r.error());
  return Ok();
}

Result<int64_t> Tx::PurgeQuota(int64_t window, Instant now) {
  auto windows = Exec("DELETE FROM google_quota_windows WHERE window_no < ?", {window});
  if (!windows) return std::unexpected(windows.error());
  auto slowdowns =
      Exec("DELETE FROM google_quota_slowdowns WHERE slow_until < ?", {TimeValue(now)});
  if (!slowdowns) return std::unexpected(slowdowns.error());
  return windows->affected + slowdowns->affected;
}

}  // namespace telemeet::store
