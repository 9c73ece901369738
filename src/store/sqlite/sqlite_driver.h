// The SQLite backend: one database file in WAL mode, a pool of connections (readers run
// concurrently), foreign keys on. Write transactions are group-committed in-process: those that
// arrive while a commit is under way run together in the next transaction, each in its own
// savepoint, and share its one fsync (sql.h Driver::RunTx); BEGIN IMMEDIATE and busy_timeout
// cover another process (e.g. `telemeet migrate`).
//
//   Result<std::unique_ptr<Driver>> d = OpenSqlite("/var/lib/telemeet/telemeet.db", {});
#pragma once

#include <memory>
#include <string>

#include "store/sql.h"

namespace telemeet::store {

struct SqliteOptions {
  int pool_size = 8;
  int busy_timeout_ms = 5'000;
  std::string synchronous = "FULL";  // FULL (default, durable) or NORMAL
};

// Opens (creating) the file. kUnavailable when it cannot be opened.
Result<std::unique_ptr<Driver>> OpenSqlite(const std::string& path, SqliteOptions options);

}  // namespace telemeet::store
