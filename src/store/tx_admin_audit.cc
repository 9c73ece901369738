// Tx operations of the admin audit (M25): administrators' changes, append only, read newest
// first across the install.
#include <fmt/format.h>

#include <vector>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

Result<core::AdminAuditEntry> Tx::AppendAdminAudit(core::AdminAuditEntry e) {
  for (auto [value, field] :
       {std::pair{&e.actor, "actor"}, std::pair{&e.kind, "kind"}, std::pair{&e.action, "action"}}) {
    if (value->empty()) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("{} is required", field), field);
    }
  }
  if (e.detail.empty()) e.detail = "{}";
  if (e.at == Instant{}) e.at = Now();
  auto row = ExecOne(
      "INSERT INTO admin_audit (at, actor, kind, action, target, detail) "
      "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
      {TimeValue(e.at), e.actor, e.kind, e.action, e.target, e.detail}, "admin audit entry");
  if (!row) return std::unexpected(row.error());
  e.id = row->Int(0);
  return e;
}

Result<Page<core::AdminAuditEntry>> Tx::ListAdminAudit(const AdminAuditFilter& filter,
                                                       const PageRequest& page) {
  if (auto s = CheckLimit(page); !s) return std::unexpected(s.error());
  std::string sql =
      "SELECT id, at, actor, kind, action, target, detail FROM admin_audit WHERE 1 = 1";
  std::vector<SqlValue> params;
  if (!filter.actor.empty()) {
    sql += " AND actor = ?";
    params.emplace_back(filter.actor);
  }
  if (!filter.kind.empty()) {
    sql += " AND kind = ?";
    params.emplace_back(filter.kind);
  }
  // Newest first: the cursor holds the last id shown, the next page starts below it.
  if (!page.cursor.empty()) {
    auto parts = DecodeCursor(page.cursor, 1);
    if (!parts) return std::unexpected(parts.error());
    auto before = ParseCursorId((*parts)[0]);
    if (!before) return std::unexpected(before.error());
    sql += " AND id < ?";
    params.emplace_back(*before);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  params.emplace_back(int64_t{page.limit} + 1);
  auto r = conn_.Exec(sql, params);
  if (!r) return std::unexpected(r.error());
  Page<core::AdminAuditEntry> out;
  for (const Row& row : r->rows) {
    if (out.items.size() == static_cast<size_t>(page.limit)) {
      out.next_cursor = EncodeCursor({std::to_string(out.items.back().id)});
      break;
    }
    core::AdminAuditEntry e;
    e.id = row.Int(0);
    e.at = row.Time(1);
    e.actor = row.Text(2);
    e.kind = row.Text(3);
    e.action = row.Text(4);
    e.target = row.Text(5);
    e.detail = row.Text(6);
    out.items.push_back(std::move(e));
  }
  return out;
}

}  // namespace telemeet::store
