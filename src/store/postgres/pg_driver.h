// The PostgreSQL backend: libpq connections in a small pool, statements prepared once per
// connection, READ COMMITTED transactions (row locks, FOR UPDATE SKIP LOCKED for leases).
// Several telemeet instances may share one database.
//
//   Result<std::unique_ptr<Driver>> d = OpenPostgres("postgresql://u@127.0.0.1:5433/tm", {});
#pragma once

#include <memory>
#include <string>

#include "store/sql.h"

namespace telemeet::store {

struct PostgresOptions {
  int pool_size = 8;
};

// Connects once to check the URL. kUnavailable when the server cannot be reached.
Result<std::unique_ptr<Driver>> OpenPostgres(const std::string& url, PostgresOptions options);

}  // namespace telemeet::store
