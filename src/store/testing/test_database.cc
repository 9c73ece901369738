#include "store/testing/test_database.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace telemeet::store::testing {
namespace {

// Runs `sql`; when `first` is given, it receives the first cell of the first row ("" if none).
Status PgExec(const std::string& url, std::string_view sql, std::string* first = nullptr) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    Error e(ErrorCode::kUnavailable,
            fmt::format("cannot connect to the test PostgreSQL: {}", PQerrorMessage(c)));
    PQfinish(c);
    return std::unexpected(e);
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, std::string(sql).c_str());
  ExecStatusType st = PQresultStatus(r);
  Status out = Ok();
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    out = Fail(ErrorCode::kInternal, fmt::format("test SQL failed: {}", PQresultErrorMessage(r)));
  } else if (first != nullptr) {
    *first = PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

}  // namespace

Result<std::string> PostgresServerUrl() {
  const char* file = std::getenv("TELEMEET_TEST_PG_URL_FILE");
  if (!file || !*file) {
    return Fail(ErrorCode::kUnavailable,
                "TELEMEET_TEST_PG_URL_FILE is not set: run the PostgreSQL tests through ctest "
                "(fixture store_pg starts the server) or start one with "
                "src/store/testing/pg_server.sh start FILE");
  }
  std::ifstream in(file);
  std::string url;
  if (!in || !std::getline(in, url) || url.empty()) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("no PostgreSQL test server: {} is missing or empty", file));
  }
  return url;
}

Result<std::unique_ptr<TestDatabase>> TestDatabase::Create(std::string_view backend) {
  std::unique_ptr<TestDatabase> db(new TestDatabase());
  db->backend_ = std::string(backend);
  if (backend == "sqlite") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "telemeet-store.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return Fail(ErrorCode::kUnavailable, "mkdtemp failed");
    db->dir_ = tmpl;
    db->url_ = "sqlite://" + tmpl + "/telemeet.db";
    return db;
  }
  if (backend == "postgres") {
    auto server = PostgresServerUrl();
    if (!server) return std::unexpected(server.error());
    static std::atomic<int> counter{0};
    std::random_device rd;
    db->schema_ = fmt::format("t_{}_{}_{:08x}", getpid(), counter++, rd());
    db->server_url_ = *server;
    if (auto s = PgExec(db->server_url_, fmt::format("CREATE SCHEMA {}", db->schema_)); !s) {
      return std::unexpected(s.error());
    }
    db->url_ = fmt::format("{}{}options=-csearch_path%3D{}", db->server_url_,
                           db->server_url_.find('?') == std::string::npos ? "?" : "&", db->schema_);
    return db;
  }
  return Fail(ErrorCode::kInvalidArgument, fmt::format("unknown backend {}", backend));
}

TestDatabase::~TestDatabase() {
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  if (!schema_.empty()) {
    (void)PgExec(server_url_, fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema_));
  }
}

Status TestDatabase::ExecSql(std::string_view sql) const { return Query(sql, nullptr); }

Result<int64_t> TestDatabase::QueryInt(std::string_view sql) const {
  std::string first;
  if (auto s = Query(sql, &first); !s) return std::unexpected(s.error());
  return std::strtoll(first.c_str(), nullptr, 10);
}

Status TestDatabase::Query(std::string_view sql, std::string* first) const {
  if (backend_ == "postgres") return PgExec(url_, sql, first);
  sqlite3* db = nullptr;
  std::string path = dir_ + "/telemeet.db";
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return Fail(ErrorCode::kUnavailable, "cannot open the test SQLite file");
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  auto keep_first = [](void* out, int n, char** cells, char**) -> int {
    auto* first = static_cast<std::string*>(out);
    if (first != nullptr && first->empty() && n > 0 && cells[0] != nullptr) *first = cells[0];
    return 0;
  };
  int rc = sqlite3_exec(db, std::string(sql).c_str(), keep_first, first, &err);
  Status out = Ok();
  if (rc != SQLITE_OK) {
    out = Fail(ErrorCode::kInternal, fmt::format("test SQL failed: {}", err ? err : "?"));
  }
  sqlite3_free(err);
  sqlite3_close(db);
  return out;
}

}  // namespace telemeet::store::testing
