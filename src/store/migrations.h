// The schema, as numbered migrations written once for both dialects (internal to the store).
// A migration is never edited once released; a change is a new, higher-numbered migration.
//
//   for (const Migration& m : Migrations()) conn.ExecScript(MigrationSql(m, Dialect::kSqlite));
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "store/sql.h"

namespace telemeet::store {

struct Migration {
  int version;
  std::string_view name;
  // DDL with {ID} (auto-increment primary key) and {TIME} (UTC instant as fixed-width text,
  // byte-ordered) standing for the dialect's spelling.
  std::string_view sql;
};

std::span<const Migration> Migrations();
std::string MigrationSql(const Migration& m, Dialect dialect);

}  // namespace telemeet::store
