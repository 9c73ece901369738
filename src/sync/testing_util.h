// Test helpers for the sync layer: a fresh, migrated store on either backend, and a doctor /
// service / patient to hang appointments on.
//
//   testing::TempStore store(clock, "sqlite");     // a file in a new mktemp directory
//   testing::TempStore pg(clock, "postgres");      // a new schema on the test server
//
// PostgreSQL: the server URL is read from the file $TELEMEET_TEST_PG_URL_FILE names (the CTest
// fixture running src/store/testing/pg_server.sh writes it); without it the store is not opened
// and the test fails (never skipped). The schema is dropped afterwards.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "store/store.h"

namespace telemeet::sync::testing {

// Runs one statement on the PostgreSQL server at `url`; the error message or empty.
inline std::string PgExec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

class TempStore {
 public:
  explicit TempStore(Clock& clock, std::string backend = "sqlite") {
    if (backend == "postgres") {
      const char* file = std::getenv("TELEMEET_TEST_PG_URL_FILE");
      std::string server;
      if (file != nullptr) std::getline(std::ifstream(file), server);
      if (server.empty()) {
        ADD_FAILURE() << "no PostgreSQL test server: set TELEMEET_TEST_PG_URL_FILE (the CTest "
                         "fixture runs src/store/testing/pg_server.sh start FILE)";
        return;
      }
      static std::atomic<int> counter{0};
      schema_ = "sync_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
                std::to_string(std::random_device{}() % 1'000'000);
      server_ = server;
      std::string error = PgExec(server_, "CREATE SCHEMA " + schema_);
      if (!error.empty()) {
        ADD_FAILURE() << "CREATE SCHEMA: " << error;
        return;
      }
      url_ = server_ + (server_.find('?') == std::string::npos ? "?" : "&") +
             "options=-csearch_path%3D" + schema_;
    } else {
      std::string pattern =
          (std::filesystem::temp_directory_path() / "telemeet-sync-XXXXXX").string();
      dir_ = mkdtemp(pattern.data()) ? pattern : std::string();
      url_ = "sqlite://" + dir_ + "/db.sqlite";
    }
    auto s = store::OpenStore(url_, clock);
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    if (s) store_ = std::move(*s);
    if (store_) {
      auto v = store_->Migrate();
      EXPECT_TRUE(v.has_value()) << v.error().ToString();
    }
  }
  ~TempStore() {
    store_.reset();
    if (std::getenv("SYNC_KEEP_DB") != nullptr) return;
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    if (!schema_.empty()) (void)PgExec(server_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  store::Store& operator*() { return *store_; }
  store::Store* operator->() { return store_.get(); }
  const std::string& url() const { return url_; }

 private:
  std::string dir_;
  std::string server_;
  std::string schema_;
  std::string url_;
  std::unique_ptr<store::Store> store_;
};

// A Store that counts the transactions run through it (read and write), forwarding everything
// to `inner`: tests check that an idle worker only reads.
class CountingStore : public store::Store {
 public:
  explicit CountingStore(store::Store& inner) : inner_(inner) {}
  std::string_view backend() const override { return inner_.backend(); }
  Result<int> Migrate() override { return inner_.Migrate(); }
  Result<int> SchemaVersion() override { return inner_.SchemaVersion(); }
  Status Run(store::TxMode mode, const std::function<Status(store::Tx&)>& fn) override {
    (mode == store::TxMode::kWrite ? writes_ : reads_).fetch_add(1);
    return inner_.Run(mode, fn);
  }
  int64_t writes() const { return writes_.load(); }
  int64_t reads() const { return reads_.load(); }

 private:
  store::Store& inner_;
  std::atomic<int64_t> writes_{0};
  std::atomic<int64_t> reads_{0};
};

struct Clinic {
  core::Doctor doctor;
  core::Service service;
  core::Patient patient;
};

inline Clinic MakeClinic(store::Store& store, const std::string& doctor_email) {
  Clinic c;
  auto made = store.Transact([&](store::Tx& tx) -> Status {
    core::Doctor d;
    d.name = "Dr Who";
    d.email = doctor_email;
    d.time_zone = "Europe/Berlin";
    auto doctor = tx.CreateDoctor(d);
    if (!doctor) return std::unexpected(doctor.error());
    c.doctor = *doctor;
    core::Service s;
    s.name = "Video consultation";
    s.telemedicine = true;
    s.event_title_template = "{service} with {doctor}";
    auto service = tx.CreateService(s);
    if (!service) return std::unexpected(service.error());
    c.service = *service;
    core::Patient p;
    p.name = "Amy Pond";
    p.email = "amy@patients.example";
    auto patient = tx.CreatePatient(p);
    if (!patient) return std::unexpected(patient.error());
    c.patient = *patient;
    return Ok();
  });
  EXPECT_TRUE(made.has_value()) << made.error().ToString();
  return c;
}

}  // namespace telemeet::sync::testing
