#include "store/postgres/pg_driver.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace telemeet::store {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string Oneline(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

Error PgError(PGconn* conn, const PGresult* res, std::string_view doing) {
  if (PQstatus(conn) == CONNECTION_BAD) {
    return Error(ErrorCode::kUnavailable, fmt::format("postgres {}: connection lost: {}", doing,
                                                      Oneline(PQerrorMessage(conn))));
  }
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = fmt::format("postgres {}: {}", doing,
                                Oneline(res ? PQresultErrorMessage(res) : PQerrorMessage(conn)));
  std::string_view code = state ? state : "";
  if (code == "23505") return Error(ErrorCode::kAlreadyExists, msg);
  if (code == "23503") return Error(ErrorCode::kFailedPrecondition, msg);
  if (code == "23502" || code == "23514" || code == "22P02" || code == "22001") {
    return Error(ErrorCode::kInvalidArgument, msg);
  }
  if (code == "40001" || code == "40P01" || code == "55P03") return Error(ErrorCode::kAborted, msg);
  if (code.starts_with("08") || code == "57P01" || code == "57P02" || code == "57P03" ||
      code == "53300") {
    return Error(ErrorCode::kUnavailable, msg);
  }
  return Error(ErrorCode::kInternal, msg);
}

// "? ... ?" → "$1 ... $2". Our SQL has no '?' inside literals.
std::string Numbered(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (char c : sql) {
    if (c == '?') {
      out += fmt::format("${}", ++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

class PgConn final : public Conn {
 public:
  explicit PgConn(PGconn* c) : c_(c) {}
  ~PgConn() override { PQfinish(c_); }

  Dialect dialect() const override { return Dialect::kPostgres; }
  bool broken() const { return PQstatus(c_) != CONNECTION_OK; }

  Result<QueryResult> Exec(std::string_view sql, std::span<const SqlValue> params) override {
    std::string key(sql);
    auto it = prepared_.find(key);
    if (it == prepared_.end()) {
      std::string name = fmt::format("tm{}", prepared_.size() + 1);
      PgResult r(PQprepare(c_, name.c_str(), Numbered(sql).c_str(), static_cast<int>(params.size()),
                           nullptr));
      if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        return std::unexpected(PgError(c_, r.get(), "prepare"));
      }
      it = prepared_.emplace(std::move(key), std::move(name)).first;
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* v = std::get_if<int64_t>(&params[i])) {
        texts[i] = std::to_string(*v);
        values[i] = texts[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        values[i] = s->c_str();
      }
    }
    PgResult r(PQexecPrepared(c_, it->second.c_str(), static_cast<int>(params.size()),
                              values.data(), nullptr, nullptr, 0));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return std::unexpected(PgError(c_, r.get(), "exec"));
    }
    QueryResult out;
    int rows = PQntuples(r.get()), cols = PQnfields(r.get());
    out.rows.reserve(static_cast<size_t>(rows));
    // Integer columns (int2, int4, int8: type oids 21, 23, 20) become int64 cells once here.
    std::vector<bool> integer(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      Oid type = PQftype(r.get(), c);
      integer[static_cast<size_t>(c)] = type == 20 || type == 21 || type == 23;
    }
    for (int i = 0; i < rows; ++i) {
      std::vector<SqlValue> cells(static_cast<size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(r.get(), i, c)) continue;
        const char* value = PQgetvalue(r.get(), i, c);
        const size_t length = static_cast<size_t>(PQgetlength(r.get(), i, c));
        int64_t number = 0;
        if (integer[static_cast<size_t>(c)] &&
            std::from_chars(value, value + length, number).ec == std::errc{}) {
          cells[static_cast<size_t>(c)] = number;
        } else {
          cells[static_cast<size_t>(c)] = std::string(value, length);
        }
      }
      out.rows.emplace_back(std::move(cells));
    }
    const char* tuples = PQcmdTuples(r.get());
    out.affected = (tuples && *tuples) ? std::atoll(tuples) : 0;
    return out;
  }

  Status ExecScript(std::string_view sql) override {
    PgResult r(PQexec(c_, std::string(sql).c_str()));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return std::unexpected(PgError(c_, r.get(), "exec"));
    }
    return Ok();
  }

 private:
  PGconn* c_;
  std::unordered_map<std::string, std::string> prepared_;  // sql → statement name
};

class PgDriver final : public Driver {
 public:
  PgDriver(std::string url, PostgresOptions options) : url_(std::move(url)), options_(options) {}

  Result<std::unique_ptr<PgConn>> Connect() {
    PGconn* c = PQconnectdb(url_.c_str());
    if (!c || PQstatus(c) != CONNECTION_OK) {
      // The message names host and port, never the password (libpq does not print it).
      Error e(ErrorCode::kUnavailable,
              fmt::format("cannot connect to PostgreSQL: {}", Oneline(c ? PQerrorMessage(c) : "")));
      if (c) PQfinish(c);
      return std::unexpected(e);
    }
    auto conn = std::make_unique<PgConn>(c);
    // Quiet NOTICEs (e.g. "relation already exists, skipping") instead of stderr.
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    // Read-only unless a transaction says otherwise: reads run as single statements (RunRead)
    // and still cannot write; write transactions begin READ WRITE.
    if (auto s = conn->ExecScript("SET default_transaction_read_only = on"); !s) {
      return std::unexpected(s.error());
    }
    return conn;
  }

  Dialect dialect() const override { return Dialect::kPostgres; }

  Status RunTx(TxMode mode, const std::function<Status(Conn&)>& fn) override {
    if (mode != TxMode::kWrite) return RunRead(fn);
    auto conn = Acquire();
    if (!conn) return std::unexpected(conn.error());
    const char* begin = "BEGIN READ WRITE";
    // A pooled connection may have died while idle (server restart, terminated backend); that
    // shows at BEGIN, before anything ran, so trying a fresh connection is safe.
    Status began = (*conn)->ExecScript(begin);
    for (int tries = 0; !began && (*conn)->broken() && tries <= options_.pool_size; ++tries) {
      Release(std::move(*conn));  // drops it
      conn = Acquire();
      if (!conn) return std::unexpected(conn.error());
      began = (*conn)->ExecScript(begin);
    }
    Status result = [&]() -> Status {
      if (!began) return began;
      Status s = fn(**conn);
      if (s) s = (*conn)->ExecScript("COMMIT");
      if (!s) (void)(*conn)->ExecScript("ROLLBACK");
      return s;
    }();
    Release(std::move(*conn));
    return result;
  }

  // A read runs its statements on their own, without BEGIN and COMMIT: two round trips fewer
  // for every read (a GET, an API key's check before a POST, the reconciler's snapshot). Under
  // READ COMMITTED (PostgreSQL's default, which telemeet's transactions are written for) each
  // statement of a transaction takes its own snapshot anyway, so reads see what they saw
  // before; the session default (Connect) keeps them read-only.
  Status RunRead(const std::function<Status(Conn&)>& fn) {
    auto conn = Acquire();
    if (!conn) return std::unexpected(conn.error());
    Status s = fn(**conn);
    // A pooled connection that died while idle shows at the first statement; a read has no
    // effects, so it runs again on a fresh connection.
    for (int tries = 0; !s && (*conn)->broken() && tries <= options_.pool_size; ++tries) {
      Release(std::move(*conn));  // drops it
      conn = Acquire();
      if (!conn) return std::unexpected(conn.error());
      s = fn(**conn);
    }
    Release(std::move(*conn));
    return s;
  }

  Status RunRaw(const std::function<Status(Conn&)>& fn) override {
    auto conn = Acquire();
    if (!conn) return std::unexpected(conn.error());
    Status s = fn(**conn);
    Release(std::move(*conn));
    return s;
  }

 private:
  Result<std::unique_ptr<PgConn>> Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.pool_size; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
    lock.unlock();
    auto c = Connect();
    if (!c) {
      lock.lock();
      --open_;
      cv_.notify_one();
    }
    return c;
  }

  void Release(std::unique_ptr<PgConn> c) {
    std::lock_guard lock(mu_);
    if (c->broken()) {
      --open_;  // dropped; the next Acquire connects afresh
    } else {
      idle_.push_back(std::move(c));
    }
    cv_.notify_one();
  }

  const std::string url_;
  const PostgresOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;  // guarded by mu_
  int open_ = 0;                               // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Driver>> OpenPostgres(const std::string& url, PostgresOptions options) {
  auto driver = std::make_unique<PgDriver>(url, options);
  if (auto s = driver->RunRaw([](Conn&) { return Ok(); }); !s) return std::unexpected(s.error());
  return std::unique_ptr<Driver>(std::move(driver));
}

}  // namespace telemeet::store
