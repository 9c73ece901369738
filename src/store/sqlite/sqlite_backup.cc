#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "base/redact.h"
#include "store/backup.h"
#include "store/store.h"

namespace telemeet::store {

namespace {

// A connection closed when it goes out of scope.
struct Db {
  sqlite3* db = nullptr;
  ~Db() {
    if (db != nullptr) sqlite3_close_v2(db);
  }
  std::string Message() const { return db != nullptr ? sqlite3_errmsg(db) : "out of memory"; }
};

Status Open(Db& d, const std::string& file, int flags, std::string_view what) {
  if (sqlite3_open_v2(file.c_str(), &d.db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return Fail(ErrorCode::kUnavailable,
                "cannot open " + std::string(what) + " " + file + ": " + d.Message());
  }
  sqlite3_busy_timeout(d.db, 10'000);
  return Ok();
}

// Copies all of `from` into `to` in one step: one read transaction, so one consistent snapshot.
Status Copy(Db& from, Db& to, const std::string& to_file) {
  sqlite3_backup* b = sqlite3_backup_init(to.db, "main", from.db, "main");
  if (b == nullptr) {
    return Fail(ErrorCode::kUnavailable, "cannot start the backup: " + to.Message());
  }
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 100; ++attempt) {
    rc = sqlite3_backup_step(b, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    sqlite3_sleep(100);
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    return Fail(ErrorCode::kUnavailable,
                "the copy into " + to_file + " failed: " + std::string(sqlite3_errstr(rc)));
  }
  // One self-contained file: no WAL beside it.
  char* err = nullptr;
  if (sqlite3_exec(to.db, "PRAGMA journal_mode = DELETE;", nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    return Fail(ErrorCode::kUnavailable, "cannot finish " + to_file + ": " + message);
  }
  return Ok();
}

// A new, empty file only its owner may read (the database holds patient data).
Status CreatePrivate(const std::string& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(errno == EEXIST ? ErrorCode::kAlreadyExists : ErrorCode::kUnavailable,
                "cannot create " + file + ": " + std::strerror(errno));
  }
  ::close(fd);
  return Ok();
}

// Copies `from_file` to a new `to_file` through a temporary beside it, renamed at the end.
Status CopyToNewFile(const std::string& from_file, int from_flags, const std::string& to_file) {
  const std::string tmp = to_file + ".partial";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  TM_TRY(CreatePrivate(tmp));
  Status copied = [&]() -> Status {
    Db from, to;
    TM_TRY(Open(from, from_file, from_flags, "the database"));
    TM_TRY(Open(to, tmp, SQLITE_OPEN_READWRITE, "the copy"));
    return Copy(from, to, to_file);
  }();
  if (!copied) {
    std::filesystem::remove(tmp, ec);
    return copied;
  }
  std::filesystem::rename(tmp, to_file, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Fail(ErrorCode::kUnavailable, "cannot move the copy to " + to_file);
  }
  return Ok();
}

}  // namespace

Result<std::string> SqliteFileOf(std::string_view url) {
  if (!url.starts_with("sqlite:")) {
    return Fail(ErrorCode::kInvalidArgument, "not a sqlite: URL", "storage.url");
  }
  std::string_view rest = url.substr(7);
  if (rest.starts_with("//")) rest.remove_prefix(2);  // sqlite:///abs/path → /abs/path
  rest = rest.substr(0, rest.find('?'));
  if (rest.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the sqlite: URL names no file", "storage.url");
  }
  return std::string(rest);
}

Status BackupSqlite(std::string_view url, const std::string& to) {
  const std::string file = TM_TRY(SqliteFileOf(url));
  if (!std::filesystem::exists(file)) {
    return Fail(ErrorCode::kNotFound, "no database at " + file, "storage.url");
  }
  if (std::filesystem::exists(to)) {
    return Fail(ErrorCode::kAlreadyExists, to + " exists already: name a new file", "to");
  }
  return CopyToNewFile(file, SQLITE_OPEN_READONLY, to);
}

Result<bool> SqliteInUse(const std::string& file) {
  // Every connection to a WAL database holds a shared lock on byte 128 of the -shm file (the
  // "dead man switch" of SQLite's unix VFS) while open; F_GETLK asks whether a write lock
  // there would conflict, without taking one.
  const std::string shm = file + "-shm";
  int fd = ::open(shm.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // no index: nobody has it open in WAL mode
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 128;
  lock.l_len = 1;
  const int rc = ::fcntl(fd, F_GETLK, &lock);
  ::close(fd);
  if (rc != 0) return Fail(ErrorCode::kUnavailable, "cannot check the locks of " + shm);
  return lock.l_type != F_UNLCK;
}

Status RestoreSqlite(const std::string& from, std::string_view url, const RestoreOptions& options) {
  const std::string file = TM_TRY(SqliteFileOf(url));
  if (!std::filesystem::exists(from)) {
    return Fail(ErrorCode::kNotFound, "no backup at " + from, "from");
  }
  // The backup must be a telemeet database this build can serve.
  {
    Db backup;
    TM_TRY(Open(backup, from, SQLITE_OPEN_READONLY, "the backup"));
    sqlite3_stmt* stmt = nullptr;
    int version = 0;
    if (sqlite3_prepare_v2(backup.db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", -1,
                           &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      version = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
    if (version == 0 || version > Store::LatestSchemaVersion()) {
      return Fail(ErrorCode::kInvalidArgument,
                  from + " is not a telemeet backup this build can restore", "from");
    }
  }
  if (TM_TRY(SqliteInUse(file))) {
    return Fail(ErrorCode::kFailedPrecondition,
                "the database " + file +
                    " is in use (telemeet serves it, or a command runs on it): stop telemeet "
                    "first; restore never replaces a database under a running service",
                "storage.url");
  }
  if (std::filesystem::exists(file) && !options.replace) {
    return Fail(ErrorCode::kFailedPrecondition,
                "a database exists at " + file +
                    ": pass --force to replace it (it is not in use), or restore into a new "
                    "data dir",
                "storage.url");
  }
  std::error_code ec;
  // A data dir made here is its owner's alone, as `telemeet serve` makes it.
  const auto dir = std::filesystem::path(file).parent_path();
  if (!dir.empty() && std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  const std::string staged = file + ".restoring";
  std::filesystem::remove(staged, ec);
  TM_TRY(CopyToNewFile(from, SQLITE_OPEN_READONLY, staged));
  // The old WAL and index belong to the old database: left beside the new one they would be
  // replayed into it.
  for (const char* suffix : {"-wal", "-shm", "-journal"})
    std::filesystem::remove(file + suffix, ec);
  std::filesystem::rename(staged, file, ec);
  if (ec) {
    return Fail(ErrorCode::kUnavailable, "cannot move the restored database to " + file);
  }
  return Ok();
}

std::string PgDumpCommand(std::string_view url, const std::string& file, bool restore) {
  // The password stays out of the command line (visible to every user in ps).
  std::string safe = RedactUrl(url);
  if (size_t at = safe.find(":" + std::string(kRedacted) + "@"); at != std::string::npos) {
    safe.erase(at, kRedacted.size() + 1);
  }
  if (restore) {
    return "pg_restore --clean --if-exists --no-owner --dbname '" + safe + "' '" + file + "'";
  }
  return "pg_dump --format=custom --file '" + file + "' '" + safe + "'";
}

}  // namespace telemeet::store
