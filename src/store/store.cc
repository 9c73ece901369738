#include "store/store.h"

#include <fmt/format.h>

#include <charconv>
#include <thread>

#include "base/strings.h"
#include "core/time.h"
#include "store/migrations.h"
#include "store/postgres/pg_driver.h"
#include "store/sqlite/sqlite_driver.h"

namespace telemeet::store {

SqlValue TimeValue(Instant t) { return core::FormatFixedUtc(t); }

SqlValue OptTimeValue(const std::optional<Instant>& t) {
  if (!t) return nullptr;
  return core::FormatFixedUtc(*t);
}

Row::Row(std::vector<std::optional<std::string>> cells) {
  cells_.reserve(cells.size());
  for (auto& c : cells) {
    if (c) {
      cells_.emplace_back(std::move(*c));
    } else {
      cells_.emplace_back(nullptr);
    }
  }
}

int64_t Row::Int(size_t i) const {
  const SqlValue& c = cells_.at(i);
  if (const int64_t* v = std::get_if<int64_t>(&c)) return *v;
  const std::string* text = std::get_if<std::string>(&c);
  if (text == nullptr) return 0;
  int64_t v = 0;
  std::from_chars(text->data(), text->data() + text->size(), v);
  return v;
}

const std::string& Row::Text(size_t i) const {
  static const std::string kEmpty;
  SqlValue& c = cells_.at(i);
  if (const int64_t* v = std::get_if<int64_t>(&c)) c = std::to_string(*v);
  if (const std::string* text = std::get_if<std::string>(&c)) return *text;
  return kEmpty;
}

Instant Row::Time(size_t i) const { return OptTime(i).value_or(Instant{}); }

std::optional<Instant> Row::OptTime(size_t i) const {
  const std::string* text = std::get_if<std::string>(&cells_.at(i));
  if (text == nullptr) return std::nullopt;
  auto t = core::ParseRfc3339(*text);
  if (!t) return std::nullopt;
  return *t;
}

Instant BackoffAfter(const core::Job& job, Instant now, std::chrono::microseconds base,
                     std::chrono::microseconds max) {
  int shift = std::min(job.attempts, 30);
  auto delay = base * (int64_t{1} << shift);
  if (delay > max || delay.count() <= 0) delay = max;
  // Deterministic jitter up to 1/8 of the delay, spread by job id.
  uint64_t h = static_cast<uint64_t>(job.id) * 0x9E3779B97F4A7C15ull;
  auto jitter = std::chrono::microseconds(
      static_cast<int64_t>((h >> 11) % static_cast<uint64_t>(delay.count() / 8 + 1)));
  return now + delay + jitter;
}

std::string ReconcileJobKey(int64_t appointment_id) {
  return fmt::format("reconcile:{}", appointment_id);
}

namespace {

// Passes one statement to `inner` and refuses any after it: the reads of
// TxMode::kReadStatement run without a transaction, so a second statement would read another
// snapshot than the first.
class OneStatementConn final : public Conn {
 public:
  explicit OneStatementConn(Conn& inner) : inner_(inner) {}
  Dialect dialect() const override { return inner_.dialect(); }
  using Conn::Exec;
  Result<QueryResult> Exec(std::string_view sql, std::span<const SqlValue> params) override {
    if (used_) return Fail(ErrorCode::kInternal, "a one-statement read ran a second statement");
    used_ = true;
    return inner_.Exec(sql, params);
  }
  Status ExecScript(std::string_view) override {
    return Fail(ErrorCode::kInternal, "a one-statement read ran a script");
  }

 private:
  Conn& inner_;
  bool used_ = false;
};

class SqlStore final : public Store {
 public:
  SqlStore(std::unique_ptr<Driver> driver, Clock& clock, StoreOptions options)
      : driver_(std::move(driver)), clock_(clock), options_(options) {}

  // Store
  std::string_view backend() const override {
    return driver_->dialect() == Dialect::kPostgres ? "postgres" : "sqlite";
  }

  Result<int> SchemaVersion() override {
    int version = 0;
    Status s = driver_->RunTx(TxMode::kRead, [&](Conn& c) -> Status {
      auto v = ReadVersion(c);
      if (!v) return std::unexpected(v.error());
      version = *v;
      return Ok();
    });
    if (!s) return std::unexpected(s.error());
    return version;
  }

  Result<int> Migrate() override {
    int version = 0;
    Status s = driver_->RunTx(TxMode::kWrite, [&](Conn& c) -> Status {
      const bool pg = c.dialect() == Dialect::kPostgres;
      // Two instances starting together: the second waits, then finds nothing to do.
      if (pg) {
        if (auto r = c.Exec("SELECT pg_advisory_xact_lock(7438201)"); !r) {
          return std::unexpected(r.error());
        }
      }
      if (auto st =
              c.ExecScript("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, "
                           "name TEXT NOT NULL, applied_at TEXT NOT NULL)");
          !st) {
        return st;
      }
      auto current = ReadVersion(c);
      if (!current) return std::unexpected(current.error());
      const int latest = LatestSchemaVersion();
      if (*current > latest) {
        return Fail(ErrorCode::kFailedPrecondition,
                    fmt::format("the database schema is version {}, newer than this telemeet "
                                "knows (up to {}); run a newer telemeet or restore a backup",
                                *current, latest));
      }
      for (const Migration& m : Migrations()) {
        if (m.version <= *current) continue;
        if (auto st = c.ExecScript(MigrationSql(m, c.dialect())); !st) {
          return Fail(st.error().code(), fmt::format("migration {} ({}) failed: {}", m.version,
                                                     m.name, st.error().message()));
        }
        SqlValue params[] = {int64_t{m.version}, std::string(m.name),
                             core::FormatFixedUtc(clock_.Now())};
        if (auto r = c.Exec("INSERT INTO schema_version (version, name, applied_at) "
                            "VALUES (?, ?, ?)",
                            params);
            !r) {
          return std::unexpected(r.error());
        }
      }
      version = latest;
      return Ok();
    });
    if (!s) return std::unexpected(s.error());
    return version;
  }

  WriteStats write_stats() override { return driver_->write_stats(); }
  std::optional<CommitMark> CommittedMark() override { return driver_->CommittedMark(); }

  Status Run(TxMode mode, const std::function<Status(Tx&)>& fn) override {
    const int attempts = std::max(1, options_.max_tx_attempts);
    for (int attempt = 1;; ++attempt) {
      Status s = driver_->RunTx(mode, [&](Conn& c) -> Status {
        if (mode == TxMode::kReadStatement) {
          OneStatementConn one(c);
          Tx tx(one, clock_, options_);
          return fn(tx);
        }
        Tx tx(c, clock_, options_);
        return fn(tx);
      });
      if (s || s.error().code() != ErrorCode::kAborted || attempt >= attempts) return s;
      // A conflict with another transaction: back off a little so the other one finishes.
      std::this_thread::sleep_for(std::chrono::microseconds(100 << std::min(attempt, 8)));
    }
  }

 private:
  static Result<int> ReadVersion(Conn& c) {
    auto exists = c.Exec(c.dialect() == Dialect::kPostgres
                             ? "SELECT count(*) FROM information_schema.tables WHERE "
                               "table_name = 'schema_version' AND table_schema = current_schema()"
                             : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                               "name = 'schema_version'");
    if (!exists) return std::unexpected(exists.error());
    if (exists->rows.empty() || exists->rows[0].Int(0) == 0) return 0;
    auto v = c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!v) return std::unexpected(v.error());
    return static_cast<int>(v->rows.at(0).Int(0));
  }

  std::unique_ptr<Driver> driver_;
  Clock& clock_;
  const StoreOptions options_;
};

}  // namespace

int Store::LatestSchemaVersion() { return Migrations().back().version; }

Result<std::unique_ptr<Store>> OpenStore(std::string_view url, Clock& clock, StoreOptions options) {
  if (options.pool_size < 1) {
    return Fail(ErrorCode::kInvalidArgument, "pool size must be at least 1", "storage.pool_size");
  }
  std::unique_ptr<Driver> driver;
  if (url.starts_with("sqlite:")) {
    std::string_view rest = url.substr(7);
    if (rest.starts_with("//")) rest.remove_prefix(2);  // sqlite:///abs/path → /abs/path
    SqliteOptions so;
    so.pool_size = options.pool_size;
    if (size_t q = rest.find('?'); q != std::string_view::npos) {
      auto query = ParseQuery(rest.substr(q + 1));
      rest = rest.substr(0, q);
      if (!query)
        return Fail(ErrorCode::kInvalidArgument, "bad query in storage URL", "storage.url");
      for (const auto& [k, v] : *query) {
        if (k == "synchronous") {
          so.synchronous = ToLower(v) == "normal" ? "NORMAL" : ToLower(v) == "full" ? "FULL" : v;
        } else if (k == "busy_timeout_ms") {
          so.busy_timeout_ms = std::atoi(v.c_str());
        } else {
          return Fail(ErrorCode::kInvalidArgument,
                      fmt::format("unknown SQLite URL option \"{}\"", k), "storage.url");
        }
      }
    }
    if (rest.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "the sqlite: URL names no file", "storage.url");
    }
    auto d = OpenSqlite(std::string(rest), so);
    if (!d) return std::unexpected(d.error());
    driver = std::move(*d);
  } else if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    PostgresOptions po;
    po.pool_size = options.pool_size;
    auto d = OpenPostgres(std::string(url), po);
    if (!d) return std::unexpected(d.error());
    driver = std::move(*d);
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                "storage URL must start with sqlite:, postgres:// or postgresql://", "storage.url");
  }
  return std::unique_ptr<Store>(new SqlStore(std::move(driver), clock, options));
}

}  // namespace telemeet::store
