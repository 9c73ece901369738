// bench/store: appointments created per second and jobs leased per second through the Store,
// each beside a baseline measured in the same run on the same database with the same durability
// settings: the same rows written with raw sqlite3 / libpq calls and no abstraction, validation
// or existence checks. Also a physical ceiling: fsyncs per second of a 4 KiB write in the
// database's directory.
//
//   bench_store sqlite DIR N_APPOINTMENTS N_JOBS
//   bench_store postgres URL N_APPOINTMENTS N_JOBS
//   bench_store fsync DIR SECONDS
//
// Prints "name value" lines (per second) that run.sh turns into a table with ratios.
#include <fcntl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/time.h"
#include "store/store.h"

namespace {

using namespace telemeet;  // NOLINT(google-build-using-namespace): a small program
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_store: %s\n", what.c_str());
  std::exit(1);
}

template <typename R>
void Check(const R& r, const char* what) {
  if (!r) Die(std::string(what) + ": " + r.error().ToString());
}

struct Parties {
  int64_t doctor = 0, service = 0, patient = 0;
};

Parties Seed(store::Store& s, const std::string& tag) {
  Parties p;
  auto r = s.Transact([&](store::Tx& tx) -> Status {
    core::Doctor d;
    d.name = "Dr. Bench";
    d.email = "bench-" + tag + "@clinic.example";
    auto doc = tx.CreateDoctor(d);
    if (!doc) return std::unexpected(doc.error());
    core::Service sv;
    sv.name = "Video";
    sv.telemedicine = true;
    auto svc = tx.CreateService(sv);
    if (!svc) return std::unexpected(svc.error());
    core::Patient pt;
    pt.name = "Patient";
    auto pat = tx.CreatePatient(pt);
    if (!pat) return std::unexpected(pat.error());
    p = {doc->id, svc->id, pat->id};
    return Ok();
  });
  Check(r, "seed");
  return p;
}

core::Appointment NewAppointment(const Parties& p, int i) {
  core::Appointment a;
  a.doctor_id = p.doctor;
  a.service_id = p.service;
  a.patient_id = p.patient;
  a.start = FromUnixSeconds(1'800'000'000) + std::chrono::minutes(30) * i;
  a.end = a.start + std::chrono::minutes(30);
  a.time_zone = "Europe/Berlin";
  return a;
}

// One appointment per transaction, as the API creates them.
double StoreAppointments(store::Store& s, const Parties& p, int n) {
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto a = s.Transact([&](store::Tx& tx) { return tx.CreateAppointment(NewAppointment(p, i)); });
    Check(a, "create appointment");
  }
  return n / Seconds(t0, Clock::now());
}

void MakeJobs(store::Store& s, int n, const std::string& kind) {
  auto r = s.Transact([&](store::Tx& tx) -> Status {
    for (int i = 0; i < n; ++i) {
      core::Job j;
      j.kind = kind;
      j.key = kind + ":" + std::to_string(i);
      j.run_at = FromUnixSeconds(1'700'000'000);
      if (auto u = tx.UpsertJob(j); !u) return std::unexpected(u.error());
    }
    return Ok();
  });
  Check(r, "make jobs");
}

// Leases in batches of 32; with `complete`, a worker's cycle: each leased job then completed in
// its own transaction.
double StoreLeases(store::Store& s, const std::string& kind, int n, bool complete) {
  int done = 0;
  auto t0 = Clock::now();
  for (;;) {
    store::LeaseRequest req;
    req.owner = "bench";
    req.max = 32;
    req.now = FromUnixSeconds(1'750'000'000);
    req.kind = kind;
    auto jobs = s.Transact([&](store::Tx& tx) { return tx.LeaseJobs(req); });
    Check(jobs, "lease");
    if (jobs->empty()) break;
    for (const auto& j : *jobs) {
      if (complete) Check(s.Transact([&](store::Tx& tx) { return tx.CompleteJob(j); }), "complete");
      ++done;
    }
  }
  if (done != n) Die("leased " + std::to_string(done) + " of " + std::to_string(n));
  return n / Seconds(t0, Clock::now());
}

// The same cycle with `workers` threads sharing the queue, each with its own connection (on
// PostgreSQL like separate instances; on SQLite writers take turns).
double ParallelCycles(store::Store& s, const std::string& kind, int n, int workers) {
  std::atomic<int> done{0};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (;;) {
        store::LeaseRequest req;
        req.owner = "worker-" + std::to_string(w);
        req.max = 32;
        req.now = FromUnixSeconds(1'750'000'000);
        req.kind = kind;
        auto jobs = s.Transact([&](store::Tx& tx) { return tx.LeaseJobs(req); });
        Check(jobs, "lease");
        if (jobs->empty()) return;
        for (const auto& j : *jobs) {
          Check(s.Transact([&](store::Tx& tx) { return tx.CompleteJob(j); }), "complete");
          ++done;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (done != n) Die("parallel cycles did " + std::to_string(done.load()));
  return n / Seconds(t0, Clock::now());
}

// ---- Raw SQLite baseline ----

struct RawSqlite {
  sqlite3* db = nullptr;
  explicit RawSqlite(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("raw sqlite open");
    Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
  }
  ~RawSqlite() { sqlite3_close(db); }
  void Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      Die(std::string("raw sqlite: ") + (err ? err : "?"));
    }
  }
  sqlite3_stmt* Prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) Die(sqlite3_errmsg(db));
    return st;
  }
  void Step(sqlite3_stmt* st) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) Die(sqlite3_errmsg(db));
    sqlite3_reset(st);
  }
};

double RawSqliteAppointments(const std::string& path, const Parties& p, int first, int n) {
  RawSqlite raw(path);
  sqlite3_stmt* ins = raw.Prepare(
      "INSERT INTO appointments (uid, doctor_id, service_id, patient_id, start_at, end_at, "
      "time_zone, status, revision, notes, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, 'Europe/Berlin', 'booked', 1, '', ?, ?) RETURNING id");
  sqlite3_stmt* job = raw.Prepare(
      "INSERT INTO jobs (kind, key, doctor_id, payload, state, run_at, attempts, last_error, "
      "lease_seq, rerun, created_at) VALUES ('reconcile', ?, ?, '', 'ready', ?, 0, '', 0, 0, ?)");
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    core::Appointment a = NewAppointment(p, i);
    std::string uid = "raw" + std::to_string(first + i), s = core::FormatFixedUtc(a.start),
                e = core::FormatFixedUtc(a.end), now = core::FormatFixedUtc(a.start);
    raw.Exec("BEGIN IMMEDIATE");
    sqlite3_bind_text(ins, 1, uid.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 2, p.doctor);
    sqlite3_bind_int64(ins, 3, p.service);
    sqlite3_bind_int64(ins, 4, p.patient);
    sqlite3_bind_text(ins, 5, s.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 6, e.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 7, now.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 8, now.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(ins) != SQLITE_ROW) Die(sqlite3_errmsg(raw.db));
    int64_t id = sqlite3_column_int64(ins, 0);
    sqlite3_reset(ins);
    std::string key = "reconcile:" + std::to_string(id);
    sqlite3_bind_text(job, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(job, 2, p.doctor);
    sqlite3_bind_text(job, 3, now.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(job, 4, now.c_str(), -1, SQLITE_TRANSIENT);
    raw.Step(job);
    raw.Exec("COMMIT");
  }
  double rate = n / Seconds(t0, Clock::now());
  sqlite3_finalize(ins);
  sqlite3_finalize(job);
  return rate;
}

double RawSqliteLeases(const std::string& path, const std::string& kind, int n, bool complete) {
  RawSqlite raw(path);
  sqlite3_stmt* lease = raw.Prepare(
      "UPDATE jobs SET lease_owner = 'raw', lease_seq = lease_seq + 1, run_at = ?1 "
      "WHERE id IN (SELECT id FROM jobs WHERE state = 'ready' AND run_at <= ?2 AND kind = ?3 "
      "ORDER BY run_at, id LIMIT 32) RETURNING id, lease_seq");
  sqlite3_stmt* del =
      raw.Prepare("DELETE FROM jobs WHERE id = ? AND lease_owner = 'raw' AND lease_seq = ?");
  std::string until = core::FormatFixedUtc(FromUnixSeconds(1'750'000'060));
  std::string now = core::FormatFixedUtc(FromUnixSeconds(1'750'000'000));
  int done = 0;
  auto t0 = Clock::now();
  for (;;) {
    std::vector<std::pair<int64_t, int64_t>> got;
    raw.Exec("BEGIN IMMEDIATE");
    sqlite3_bind_text(lease, 1, until.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(lease, 2, now.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(lease, 3, kind.c_str(), -1, SQLITE_STATIC);
    while (sqlite3_step(lease) == SQLITE_ROW) {
      got.emplace_back(sqlite3_column_int64(lease, 0), sqlite3_column_int64(lease, 1));
    }
    sqlite3_reset(lease);
    raw.Exec("COMMIT");
    if (got.empty()) break;
    for (auto [id, seq] : got) {
      ++done;
      if (!complete) continue;
      raw.Exec("BEGIN IMMEDIATE");
      sqlite3_bind_int64(del, 1, id);
      sqlite3_bind_int64(del, 2, seq);
      raw.Step(del);
      raw.Exec("COMMIT");
    }
  }
  if (done != n) Die("raw leased " + std::to_string(done));
  double rate = n / Seconds(t0, Clock::now());
  sqlite3_finalize(lease);
  sqlite3_finalize(del);
  return rate;
}

// ---- Raw libpq baseline ----

struct RawPg {
  PGconn* c;
  explicit RawPg(const std::string& url) : c(PQconnectdb(url.c_str())) {
    if (PQstatus(c) != CONNECTION_OK) Die(PQerrorMessage(c));
  }
  ~RawPg() { PQfinish(c); }
  void Exec(const char* sql) {
    PGresult* r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      Die(PQresultErrorMessage(r));
    }
    PQclear(r);
  }
  void Prepare(const char* name, const char* sql) {
    PGresult* r = PQprepare(c, name, sql, 0, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(PQresultErrorMessage(r));
    PQclear(r);
  }
  PGresult* Run(const char* name, std::vector<std::string> args) {
    std::vector<const char*> v;
    for (auto& a : args) v.push_back(a.c_str());
    PGresult* r =
        PQexecPrepared(c, name, static_cast<int>(v.size()), v.data(), nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      Die(PQresultErrorMessage(r));
    }
    return r;
  }
};

double RawPgAppointments(const std::string& url, const Parties& p, int first, int n) {
  RawPg raw(url);
  raw.Prepare("ins",
              "INSERT INTO appointments (uid, doctor_id, service_id, patient_id, start_at, "
              "end_at, time_zone, status, revision, notes, created_at, updated_at) VALUES ($1, "
              "$2, $3, $4, $5, $6, 'Europe/Berlin', 'booked', 1, '', $7, $7) RETURNING id");
  raw.Prepare("job",
              "INSERT INTO jobs (kind, key, doctor_id, payload, state, run_at, attempts, "
              "last_error, lease_seq, rerun, created_at) VALUES ('reconcile', $1, $2, '', "
              "'ready', $3, 0, '', 0, 0, $3)");
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    core::Appointment a = NewAppointment(p, i);
    std::string now = core::FormatFixedUtc(a.start);
    raw.Exec("BEGIN");
    PGresult* r = raw.Run("ins", {"raw" + std::to_string(first + i), std::to_string(p.doctor),
                                  std::to_string(p.service), std::to_string(p.patient), now,
                                  core::FormatFixedUtc(a.end), now});
    std::string id = PQgetvalue(r, 0, 0);
    PQclear(r);
    PQclear(raw.Run("job", {"reconcile:" + id, std::to_string(p.doctor), now}));
    raw.Exec("COMMIT");
  }
  return n / Seconds(t0, Clock::now());
}

double RawPgLeases(const std::string& url, const std::string& kind, int n, bool complete) {
  RawPg raw(url);
  raw.Prepare("lease",
              "UPDATE jobs SET lease_owner = 'raw', lease_seq = lease_seq + 1, run_at = $1 "
              "WHERE id IN (SELECT id FROM jobs WHERE state = 'ready' AND run_at <= $2 AND "
              "kind = $3 ORDER BY run_at, id LIMIT 32 FOR UPDATE SKIP LOCKED) "
              "RETURNING id, lease_seq");
  raw.Prepare("del", "DELETE FROM jobs WHERE id = $1 AND lease_owner = 'raw' AND lease_seq = $2");
  std::string until = core::FormatFixedUtc(FromUnixSeconds(1'750'000'060));
  std::string now = core::FormatFixedUtc(FromUnixSeconds(1'750'000'000));
  int done = 0;
  auto t0 = Clock::now();
  for (;;) {
    raw.Exec("BEGIN");
    PGresult* r = raw.Run("lease", {until, now, kind});
    std::vector<std::pair<std::string, std::string>> got;
    for (int i = 0; i < PQntuples(r); ++i)
      got.emplace_back(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    raw.Exec("COMMIT");
    if (got.empty()) break;
    for (auto& [id, seq] : got) {
      ++done;
      if (!complete) continue;
      raw.Exec("BEGIN");
      PQclear(raw.Run("del", {id, seq}));
      raw.Exec("COMMIT");
    }
  }
  if (done != n) Die("raw leased " + std::to_string(done));
  return n / Seconds(t0, Clock::now());
}

double FsyncRate(const std::string& dir, double seconds) {
  std::string path = dir + "/fsync-probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) Die("fsync probe open");
  char block[4096] = {};
  int n = 0;
  auto t0 = Clock::now();
  while (Seconds(t0, Clock::now()) < seconds) {
    if (pwrite(fd, block, sizeof block, 0) != static_cast<ssize_t>(sizeof block)) Die("pwrite");
    if (fdatasync(fd) != 0) Die("fdatasync");
    ++n;
  }
  double rate = n / Seconds(t0, Clock::now());
  close(fd);
  unlink(path.c_str());
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "fsync") {
    std::printf("fsync_per_s %.0f\n", FsyncRate(argv[2], std::atof(argv[3])));
    return 0;
  }
  if (argc != 5) {
    std::fprintf(stderr, "usage: bench_store sqlite DIR|postgres URL N_APPOINTMENTS N_JOBS\n");
    return 2;
  }
  std::string backend = argv[1], where = argv[2];
  int n_appts = std::atoi(argv[3]), n_jobs = std::atoi(argv[4]);
  std::string url = backend == "sqlite" ? "sqlite://" + where + "/bench.db" : where;
  SystemClock& clock = SystemClock::Instance();
  auto s = store::OpenStore(url, clock);
  Check(s, "open");
  Check((*s)->Migrate(), "migrate");
  store::Store& st = **s;
  Parties p = Seed(st, "store");

  // Alternate store and baseline so drift on a shared machine hits both alike.
  auto raw_appointments = [&](int first, int n) {
    return backend == "sqlite" ? RawSqliteAppointments(where + "/bench.db", p, first, n)
                               : RawPgAppointments(url, p, first, n);
  };
  const int half = n_appts / 2;
  double store_appts = StoreAppointments(st, p, half);
  double raw_appts = raw_appointments(0, half);
  store_appts = (store_appts + StoreAppointments(st, p, half)) / 2;
  raw_appts = (raw_appts + raw_appointments(half, half)) / 2;

  for (const char* kind : {"lease", "cycle", "rawlease", "rawcycle", "parallel"}) {
    MakeJobs(st, n_jobs, kind);
  }
  auto raw_leases = [&](const std::string& kind, bool complete) {
    return backend == "sqlite" ? RawSqliteLeases(where + "/bench.db", kind, n_jobs, complete)
                               : RawPgLeases(url, kind, n_jobs, complete);
  };
  double store_leases = StoreLeases(st, "lease", n_jobs, /*complete=*/false);
  double raw_lease = raw_leases("rawlease", false);
  double store_cycles = StoreLeases(st, "cycle", n_jobs, /*complete=*/true);
  double raw_cycle = raw_leases("rawcycle", true);

  double parallel = ParallelCycles(st, "parallel", n_jobs, 4);

  std::printf("appointments_per_s %.0f\n", store_appts);
  std::printf("raw_appointments_per_s %.0f\n", raw_appts);
  std::printf("jobs_leased_per_s %.0f\n", store_leases);
  std::printf("raw_jobs_leased_per_s %.0f\n", raw_lease);
  std::printf("jobs_leased_and_completed_per_s %.0f\n", store_cycles);
  std::printf("raw_jobs_leased_and_completed_per_s %.0f\n", raw_cycle);
  std::printf("jobs_leased_and_completed_4_workers_per_s %.0f\n", parallel);
  return 0;
}
