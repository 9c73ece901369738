// Backups of a SQLite store while it runs, and restoring one (`telemeet backup|restore`).
//
//   Status s = BackupSqlite("sqlite:/var/lib/telemeet/telemeet.db", "/backup/tm.db");
//   Status r = RestoreSqlite("/backup/tm.db", "sqlite:/var/lib/telemeet/telemeet.db", {});
//
// A backup is one consistent snapshot taken with SQLite's online backup API inside one read
// transaction (WAL readers never block telemeet's writers), written to a new 0600 file as a
// single self-contained database (no -wal beside it). PostgreSQL is backed up with its own
// tools (pg_dump); PgDumpCommand says how.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace telemeet::store {

// The file a "sqlite:" URL names (without its options); kInvalidArgument for another scheme.
Result<std::string> SqliteFileOf(std::string_view url);

// Copies the database `url` names to `to`, which must not exist yet (kAlreadyExists).
// kUnavailable when the source cannot be read or `to` written (nothing is left at `to` then).
Status BackupSqlite(std::string_view url, const std::string& to);

// True when another process has the SQLite database `file` open (it holds the WAL index's
// shared lock, as every telemeet serving or running a command on it does).
Result<bool> SqliteInUse(const std::string& file);

struct RestoreOptions {
  bool replace = false;  // allow replacing an existing database that is not in use
};
// Makes the database `url` names a copy of the backup `from` (checked to be a telemeet
// database first: kInvalidArgument otherwise). kFailedPrecondition when the target is in use,
// or exists and options.replace is false. The target's old -wal and -shm files are removed.
Status RestoreSqlite(const std::string& from, std::string_view url, const RestoreOptions& options);

// The pg_dump (or, with `restore`, pg_restore) command for a postgres:// URL, its password left
// out (pg_dump reads PGPASSWORD or ~/.pgpass).
std::string PgDumpCommand(std::string_view url, const std::string& file, bool restore);

}  // namespace telemeet::store
