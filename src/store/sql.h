// The small SQL seam both backends implement (internal to the store): a connection runs one
// statement with positional parameters and returns text cells. Statements are written once with
// `?` placeholders in the SQL both SQLite and PostgreSQL accept; the PostgreSQL driver rewrites
// them to $n and caches prepared statements.
//
//   SqlValue params[] = {int64_t{42}, std::string("ready")};
//   Result<QueryResult> r = conn.Exec("SELECT id FROM jobs WHERE id = ? AND state = ?", params);
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::store {

enum class Dialect { kSqlite, kPostgres };

using SqlValue = std::variant<std::nullptr_t, int64_t, std::string>;

// Instants travel as fixed-width UTC text (core::FormatFixedUtc), so SQL compares them as text.
SqlValue TimeValue(Instant t);
SqlValue OptTimeValue(const std::optional<Instant>& t);

// One result row. Cells keep the type the database answered with: integer columns arrive as
// int64 (SQLite's INTEGER values, PostgreSQL's int2/int4/int8), so reading an id or a count
// never goes through text; everything else is text. Not thread-safe (one transaction's).
class Row {
 public:
  Row() = default;
  explicit Row(std::vector<SqlValue> cells) : cells_(std::move(cells)) {}
  explicit Row(std::vector<std::optional<std::string>> cells);  // all text
  size_t size() const { return cells_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::nullptr_t>(cells_.at(i)); }
  int64_t Int(size_t i) const;  // 0 for NULL
  bool Bool(size_t i) const { return Int(i) != 0; }
  const std::string& Text(size_t i) const;  // "" for NULL; an integer as its decimal digits
  Instant Time(size_t i) const;             // Instant{} for NULL
  std::optional<Instant> OptTime(size_t i) const;

 private:
  // Mutable: Text() of an integer cell turns it into the text it returns a reference to.
  mutable std::vector<SqlValue> cells_;
};

struct QueryResult {
  std::vector<Row> rows;
  int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
};

// One database connection. Not thread-safe; the pool hands it to one transaction at a time.
// Errors: kAlreadyExists (unique violation), kFailedPrecondition (foreign key), kInvalidArgument
// (check / not null), kAborted (serialization failure, deadlock, busy), kUnavailable (the
// connection is gone), kInternal (anything else, with the database's message).
class Conn {
 public:
  virtual ~Conn() = default;
  virtual Dialect dialect() const = 0;
  virtual Result<QueryResult> Exec(std::string_view sql, std::span<const SqlValue> params) = 0;
  Result<QueryResult> Exec(std::string_view sql) { return Exec(sql, {}); }
  // Several statements without parameters (migrations).
  virtual Status ExecScript(std::string_view sql) = 0;
};

// kReadStatement: a read whose function runs one statement. A statement is its own snapshot,
// so it runs without BEGIN and COMMIT (SQLite: the statement's own read transaction); a second
// statement fails with kInternal, since it would read another snapshot (Store::ReadStatement).
enum class TxMode { kWrite, kRead, kReadStatement };

// Write transactions and the commits that made them durable (SQLite's group commit: several
// writes share one commit), and the writers queued for the next commit now.
struct WriteStats {
  int64_t commits = 0;
  int64_t writes = 0;
  int64_t waiting = 0;
};

// The database's committed state as one value, read without a transaction (Driver::
// CommittedMark): two marks differ when any connection, of this process or another, committed
// between them. On SQLite it is the WAL-index header (https://www.sqlite.org/walformat.html,
// "The WAL-Index Header"): every commit rewrites it, and a new read transaction takes its
// snapshot from it, so an unchanged header means a read now would see what a read then saw.
struct CommitMark {
  std::array<uint32_t, 12> words{};
  friend bool operator==(const CommitMark&, const CommitMark&) = default;
};

// A backend: a pool of connections and how a transaction begins and ends on it.
// Thread-safe.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual Dialect dialect() const = 0;
  // Runs `fn` inside BEGIN/COMMIT on a pooled connection; rolls back when fn fails or the
  // commit does; returns only once the commit is durable. Does not retry. kReadStatement runs
  // fn without BEGIN/COMMIT (the caller, SqlStore::Run, keeps it to one statement). SQLite's write
  // transactions from concurrent callers may share one commit (group commit): each fn runs in
  // a savepoint of its own, sees the writes of those before it in the group, and gets its own
  // result: a failing fn undoes only its own writes. A thrown exception reaches fn's caller.
  virtual Status RunTx(TxMode mode, const std::function<Status(Conn&)>& fn) = 0;
  // Zero where the backend does not count (PostgreSQL groups commits in the server).
  virtual WriteStats write_stats() { return {}; }
  // The committed state now; nullopt when the backend cannot tell without a query (PostgreSQL,
  // whose other sessions may be other instances) or a writer is rewriting it at this instant.
  virtual std::optional<CommitMark> CommittedMark() { return std::nullopt; }
  // Runs `fn` on a pooled connection outside a transaction (migrations take their own locks).
  virtual Status RunRaw(const std::function<Status(Conn&)>& fn) = 0;
};

}  // namespace telemeet::store
