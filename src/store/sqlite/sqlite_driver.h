// The SQLite backend: one database file in WAL mode, a pool of connections (readers run
// concurrently), write transactions serialized in-process and started with BEGIN IMMEDIATE
// (busy_timeout covers another process, e.g. `telemeet migrate`), foreign keys on.
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
