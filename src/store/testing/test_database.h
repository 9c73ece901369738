// Fresh, private databases for tests of the store and of the layers above it (the reconciler
// runs its integration tests on both backends the same way).
//
//   auto db = TestDatabase::Create("postgres");    // or "sqlite"
//   ASSERT_TRUE(db) << db.error().ToString();
//   auto store = OpenStore((*db)->url(), clock);   // then (*store)->Migrate()
//
// SQLite: a file in a new mktemp directory, removed with the TestDatabase. PostgreSQL: a new
// schema on the test server whose URL is in the file named by $TELEMEET_TEST_PG_URL_FILE (the
// CTest fixture running pg_server.sh writes it); the URL selects that schema through
// `options=-csearch_path=...`, and the schema is dropped with the TestDatabase. When the server
// is not there, Create fails: PostgreSQL tests fail, they are never skipped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"

namespace telemeet::store::testing {

class TestDatabase {
 public:
  static Result<std::unique_ptr<TestDatabase>> Create(std::string_view backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& backend() const { return backend_; }
  const std::string& url() const { return url_; }
  // Raw statements on this database, for tests that forge states the store would refuse.
  Status ExecSql(std::string_view sql) const;
  // The first cell of the first row of a query, as a number ("SELECT COUNT(*) FROM jobs").
  Result<int64_t> QueryInt(std::string_view sql) const;

 private:
  TestDatabase() = default;
  Status Query(std::string_view sql, std::string* first) const;
  std::string backend_;
  std::string url_;
  std::string dir_;         // sqlite
  std::string server_url_;  // postgres
  std::string schema_;      // postgres
};

// The URL of the test PostgreSQL server ($TELEMEET_TEST_PG_URL_FILE); kUnavailable with a
// message saying how to start one when it is missing.
Result<std::string> PostgresServerUrl();

}  // namespace telemeet::store::testing
