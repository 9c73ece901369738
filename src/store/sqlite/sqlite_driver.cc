#include "store/sqlite/sqlite_driver.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <vector>

namespace telemeet::store {
namespace {

// WAL checkpoints. SQLite's own automatic checkpoint runs inside the COMMIT that takes the WAL
// past 1,000 pages, and a checkpoint syncs the database file: a request's write would wait for
// the disk. A thread of the driver checkpoints instead (PASSIVE: readers and writers go on).
// The WAL restarts from its beginning only once a checkpoint has copied all of it, which a
// writer that never pauses prevents: past kInlineCheckpointPages the committing connection
// checkpoints what is left itself, as SQLite would, so the WAL stays bounded.
constexpr int kCheckpointPages = 1000;
constexpr int kInlineCheckpointPages = 4000;  // 16 MB of 4 KB pages

// At most this many writes share one commit: bounds how long the first of them waits.
constexpr size_t kMaxGroup = 128;

Error SqliteError(sqlite3* db, int rc, std::string_view doing) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  std::string msg =
      fmt::format("sqlite {}: {}", doing, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Error(ErrorCode::kAlreadyExists, msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error(ErrorCode::kFailedPrecondition, msg);
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return Error(ErrorCode::kInvalidArgument, msg);
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorCode::kAborted, msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Error(ErrorCode::kUnavailable, msg);
    default:
      return Error(ErrorCode::kInternal, msg);
  }
}

class SqliteConn final : public Conn {
 public:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  ~SqliteConn() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  sqlite3* db() const { return db_; }

  Result<QueryResult> Exec(std::string_view sql, std::span<const SqlValue> params) override {
    sqlite3_stmt* stmt = nullptr;
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      stmt = it->second;
    } else {
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "prepare"));
      cache_.emplace(std::string(sql), stmt);
    }
    struct Resetter {
      sqlite3_stmt* s;
      ~Resetter() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } resetter{stmt};
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      int rc = std::visit(
          [&](const auto& v) -> int {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::nullptr_t>) {
              return sqlite3_bind_null(stmt, idx);
            } else if constexpr (std::is_same_v<V, int64_t>) {
              return sqlite3_bind_int64(stmt, idx, v);
            } else {
              return sqlite3_bind_text(stmt, idx, v.data(), static_cast<int>(v.size()),
                                       SQLITE_STATIC);
            }
          },
          params[i]);
      if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "bind"));
    }
    QueryResult out;
    int columns = sqlite3_column_count(stmt);
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return std::unexpected(SqliteError(db_, rc, "step"));
      // Typed cells: an INTEGER is read as one, not printed to text and parsed back.
      std::vector<SqlValue> cells(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_NULL:
            break;
          case SQLITE_INTEGER:
            cells[static_cast<size_t>(c)] = static_cast<int64_t>(sqlite3_column_int64(stmt, c));
            break;
          default: {
            const unsigned char* text = sqlite3_column_text(stmt, c);
            cells[static_cast<size_t>(c)] =
                std::string(reinterpret_cast<const char*>(text),
                            static_cast<size_t>(sqlite3_column_bytes(stmt, c)));
          }
        }
      }
      out.rows.emplace_back(std::move(cells));
    }
    out.affected = sqlite3_changes64(db_);
    return out;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "exec"));
    return Ok();
  }

 private:
  sqlite3* db_;
  // Looked up by string_view: no copy of the SQL text per statement. The hash reads the length
  // and both ends only: hashing all of a long statement for each lookup (GET appointment's is
  // 1.5 KB) was a hundredth of the request; statements alike there are told apart by ==.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const {
      constexpr size_t kEnd = 48;
      std::hash<std::string_view> h;
      if (sql.size() <= 2 * kEnd) return h(sql);
      return h(sql.substr(0, kEnd)) ^ (h(sql.substr(sql.size() - kEnd)) * 31 + sql.size());
    }
  };
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> cache_;
};

class SqliteDriver final : public Driver {
 public:
  SqliteDriver(std::string path, SqliteOptions options)
      : path_(std::move(path)), options_(std::move(options)) {}

  Result<std::unique_ptr<SqliteConn>> Connect() {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path_.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      Error e(ErrorCode::kUnavailable, fmt::format("cannot open SQLite database {}: {}", path_,
                                                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
      sqlite3_close_v2(db);
      return std::unexpected(e);
    }
    auto conn = std::make_unique<SqliteConn>(db);
    sqlite3_busy_timeout(db, options_.busy_timeout_ms);
    std::string pragmas =
        fmt::format("PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;",
                    options_.synchronous);
    if (auto s = conn->ExecScript(pragmas); !s) return std::unexpected(s.error());
    sqlite3_wal_hook(db, &SqliteDriver::OnWalCommit, this);  // replaces the automatic checkpoint
    return conn;
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Status RunTx(TxMode mode, const std::function<Status(Conn&)>& fn) override {
    if (mode == TxMode::kWrite) return RunWrite(fn);
    auto conn = Acquire();
    if (!conn) return std::unexpected(conn.error());
    // One statement in autocommit mode is a read transaction of its own.
    Status result = mode == TxMode::kReadStatement ? fn(**conn) : RunAlone(**conn, mode, fn);
    Release(std::move(*conn));
    return result;
  }

  WriteStats write_stats() override {
    std::lock_guard lock(writers_mu_);
    return {commits_, writes_, static_cast<int64_t>(writers_.size())};
  }

  std::optional<CommitMark> CommittedMark() override {
    std::call_once(wal_index_once_, [this] { MapWalIndex(); });
    if (wal_index_ == nullptr) return std::nullopt;
    // SQLite's own reader protocol (walIndexTryHdr): the first copy, then the second. A
    // committing writer writes the second, then the first, so equal copies are one whole
    // header; unequal ones are a commit being published: unknown.
    CommitMark first;
    CommitMark second;
    for (size_t i = 0; i < kHeaderWords; ++i) {
      first.words[i] = __atomic_load_n(&wal_index_[i], __ATOMIC_ACQUIRE);
    }
    for (size_t i = 0; i < kHeaderWords; ++i) {
      second.words[i] = __atomic_load_n(&wal_index_[kHeaderWords + i], __ATOMIC_ACQUIRE);
    }
    if (first != second) return std::nullopt;
    // iVersion: the layout described above; another one (a future SQLite's) is not read.
    // isInit, the header's 13th byte: 0 until a connection has built the index.
    if (first.words[0] != kWalIndexVersion) return std::nullopt;
    if (reinterpret_cast<const unsigned char*>(first.words.data())[12] == 0) return std::nullopt;
    return first;
  }

  Status RunRaw(const std::function<Status(Conn&)>& fn) override {
    auto conn = Acquire();
    if (!conn) return std::unexpected(conn.error());
    Status s = fn(**conn);
    Release(std::move(*conn));
    return s;
  }

 private:
  // The WAL index's first page as SQLite maps it (the -shm file), through a connection kept
  // open for this alone: the mapping lives as long as the connection. Null when the database is
  // not in WAL mode with a shared-memory index (e.g. ":memory:"): no marks then.
  static constexpr size_t kHeaderWords = 12;             // the 48-byte WalIndexHdr
  static constexpr uint32_t kWalIndexVersion = 3007000;  // its iVersion since SQLite 3.7.0
  void MapWalIndex() {
    auto conn = Connect();
    if (!conn) return;
    Conn& c = **conn;
    auto mode = c.Exec("PRAGMA journal_mode");
    if (!mode || mode->rows.empty() || mode->rows.front().Text(0) != "wal") return;
    // A read makes this connection open the WAL index.
    if (!c.Exec("SELECT count(*) FROM sqlite_schema")) return;
    sqlite3_file* file = nullptr;
    if (sqlite3_file_control((*conn)->db(), "main", SQLITE_FCNTL_FILE_POINTER, &file) !=
            SQLITE_OK ||
        file == nullptr || file->pMethods == nullptr || file->pMethods->iVersion < 2 ||
        file->pMethods->xShmMap == nullptr) {
      return;
    }
    void volatile* page = nullptr;
    constexpr int kWalIndexPage = 32 * 1024;
    if (file->pMethods->xShmMap(file, 0, kWalIndexPage, 0, &page) != SQLITE_OK || page == nullptr) {
      return;
    }
    wal_index_ = static_cast<const volatile uint32_t*>(page);
    wal_index_conn_ = std::move(*conn);
  }

  // A write transaction waiting for, or in, a group commit: on its caller's stack, which waits
  // until `done`.
  struct Writer {
    const std::function<Status(Conn&)>* fn;
    Status result = Ok();
    std::exception_ptr thrown;  // fn threw: rethrown on the caller's thread
    bool done = false;          // guarded by writers_mu_
    std::condition_variable cv;
  };

  // Group commit (the leader/follower scheme of LevelDB's DBImpl::Write): writers queue in
  // arrival order; the one at the front leads, runs every writer queued behind it, each in its
  // own savepoint, in one transaction and one commit (one fsync), then hands each its result
  // and the lead to the next in line. Writers that arrive during a commit form the next group,
  // so the busier the store, the more writes share each fsync; a lone writer commits alone, as
  // before. Nobody hears back before the commit that holds its writes is durable.
  Status RunWrite(const std::function<Status(Conn&)>& fn) {
    Writer self{&fn};
    std::unique_lock lock(writers_mu_);
    writers_.push_back(&self);
    self.cv.wait(lock, [&] { return self.done || writers_.front() == &self; });
    if (!self.done) {
      const size_t n = std::min(writers_.size(), kMaxGroup);
      std::vector<Writer*> group(writers_.begin(), writers_.begin() + static_cast<ptrdiff_t>(n));
      lock.unlock();
      const GroupOutcome outcome = CommitGroup(group);
      lock.lock();
      commits_ += outcome.commits;
      writes_ += outcome.writes;
      for (size_t i = 0; i < n; ++i) {
        Writer* w = writers_.front();
        writers_.pop_front();
        w->done = true;
        // Under the lock: the follower cannot see `done` and leave (destroying its cv) before
        // this returns.
        if (w != &self) w->cv.notify_one();
      }
      if (!writers_.empty()) writers_.front()->cv.notify_one();
    }
    lock.unlock();
    if (self.thrown) std::rethrow_exception(self.thrown);
    return self.result;
  }

  struct GroupOutcome {
    int64_t commits = 0;
    int64_t writes = 0;  // writers whose work was committed
  };

  GroupOutcome CommitGroup(const std::vector<Writer*>& group) {
    GroupOutcome outcome;
    auto conn = Acquire();
    if (!conn) {
      for (Writer* w : group) w->result = std::unexpected(conn.error());
      return outcome;
    }
    SqliteConn& c = **conn;
    auto count = [&](Writer* w) {
      if (w->result) {
        ++outcome.commits;
        ++outcome.writes;
      }
    };
    if (group.size() == 1) {
      group[0]->result = RunAlone(c, TxMode::kWrite, *group[0]->fn, &group[0]->thrown);
      count(group[0]);
      Release(std::move(*conn));
      return outcome;
    }
    // Writers whose work is not (or no longer) in the shared transaction: they run again alone.
    std::vector<Writer*> alone;
    if (Status began = Run(c, "BEGIN IMMEDIATE"); !began) {
      for (Writer* w : group) w->result = began;  // busy (another process): kAborted, retried
      Release(std::move(*conn));
      return outcome;
    }
    std::vector<Writer*> in_tx;
    size_t next = 0;
    for (; next < group.size(); ++next) {
      Writer* w = group[next];
      if (Status s = Run(c, "SAVEPOINT tm_group"); !s) break;
      w->result = Invoke(c, *w->fn, &w->thrown);
      if (sqlite3_get_autocommit(c.db())) {
        // Its statement ended the whole transaction (SQLITE_FULL, IOERR...): what ran before is
        // gone. A failure is this writer's own answer; everyone else runs again alone.
        if (w->result) alone.push_back(w);
        ++next;
        break;
      }
      // A failed writer's work is undone alone; the others' stays.
      Status closed = w->result ? Ok() : Run(c, "ROLLBACK TO tm_group");
      if (closed) closed = Run(c, "RELEASE tm_group");
      if (!closed) {
        alone.push_back(w);
        ++next;
        break;
      }
      if (w->result) in_tx.push_back(w);
    }
    const bool broken = next < group.size() || !alone.empty();
    alone.insert(alone.end(), group.begin() + static_cast<ptrdiff_t>(next), group.end());
    Status committed =
        broken ? Fail(ErrorCode::kAborted, "group transaction broken") : Run(c, "COMMIT");
    if (committed) {
      if (!in_tx.empty()) ++outcome.commits;
      outcome.writes += static_cast<int64_t>(in_tx.size());
    } else {
      if (!sqlite3_get_autocommit(c.db())) (void)Run(c, "ROLLBACK");
      // The commit failed, or the transaction broke: one writer's deferred failure must not be
      // everyone's, so each runs again in a transaction of its own (fn is re-runnable: Store::Run
      // retries it too).
      alone.insert(alone.begin(), in_tx.begin(), in_tx.end());
    }
    for (Writer* w : alone) {
      w->thrown = nullptr;
      w->result = RunAlone(c, TxMode::kWrite, *w->fn, &w->thrown);
      count(w);
    }
    Release(std::move(*conn));
    return outcome;
  }

  // BEGIN, COMMIT and ROLLBACK go through the connection's statement cache: sqlite3_exec would
  // prepare them anew for every transaction (a twentieth of a cached API read).
  static Status Run(SqliteConn& c, std::string_view sql) {
    auto r = c.Exec(sql, {});
    if (!r) return std::unexpected(r.error());
    return Ok();
  }

  // fn's status; an exception is caught into `thrown` (for its caller's thread) and fails it.
  static Status Invoke(SqliteConn& c, const std::function<Status(Conn&)>& fn,
                       std::exception_ptr* thrown) {
    if (thrown == nullptr) return fn(c);
    try {
      return fn(c);
    } catch (...) {
      *thrown = std::current_exception();
      return Fail(ErrorCode::kInternal, "the transaction function threw");
    }
  }

  // One transaction of its own.
  static Status RunAlone(SqliteConn& c, TxMode mode, const std::function<Status(Conn&)>& fn,
                         std::exception_ptr* thrown = nullptr) {
    if (auto s = Run(c, mode == TxMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"); !s) return s;
    Status s = Invoke(c, fn, thrown);
    if (s) s = Run(c, "COMMIT");
    if (!s && !sqlite3_get_autocommit(c.db())) (void)Run(c, "ROLLBACK");
    return s;
  }

  Result<std::unique_ptr<SqliteConn>> Acquire() {
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

  void Release(std::unique_ptr<SqliteConn> c) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
    cv_.notify_one();
  }

  // After each commit in WAL mode, with the WAL's size in pages.
  static int OnWalCommit(void* self, sqlite3* db, const char* schema, int pages) {
    auto* driver = static_cast<SqliteDriver*>(self);
    if (pages >= kInlineCheckpointPages) {
      // After the thread's checkpoint, if one runs: a second at once would be refused (busy).
      std::lock_guard running(driver->checkpoint_run_mu_);
      sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kCheckpointPages) {
      driver->RequestCheckpoint();
    }
    return SQLITE_OK;
  }

  void RequestCheckpoint() {
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_due_ = true;
      if (!checkpointer_.joinable()) {
        checkpointer_ = std::jthread([this](std::stop_token stop) { Checkpoints(stop); });
      }
    }
    checkpoint_cv_.notify_one();
  }

  // The checkpoint thread: one connection of its own, a PASSIVE checkpoint per request.
  void Checkpoints(std::stop_token stop) {
    std::unique_ptr<SqliteConn> conn;
    while (true) {
      {
        std::unique_lock lock(checkpoint_mu_);
        if (!checkpoint_cv_.wait(lock, stop, [&] { return checkpoint_due_; })) return;
        checkpoint_due_ = false;
      }
      if (!conn) {
        auto c = Connect();
        if (!c) continue;  // the next commit asks again; past the inline limit commits do it
        conn = std::move(*c);
      }
      std::lock_guard running(checkpoint_run_mu_);
      sqlite3_wal_checkpoint_v2(conn->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
  }

  const std::string path_;
  const SqliteOptions options_;
  // Writers waiting for or in a group commit, in arrival order; the front one leads. One
  // group at a time in this process; BEGIN IMMEDIATE for other processes.
  std::mutex writers_mu_;
  std::deque<Writer*> writers_;  // guarded by writers_mu_
  int64_t commits_ = 0;          // guarded by writers_mu_
  int64_t writes_ = 0;           // guarded by writers_mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SqliteConn>> idle_;  // guarded by mu_
  int open_ = 0;                                   // guarded by mu_
  std::mutex checkpoint_mu_;
  std::condition_variable_any checkpoint_cv_;
  bool checkpoint_due_ = false;   // guarded by checkpoint_mu_
  std::mutex checkpoint_run_mu_;  // held through a checkpoint
  std::once_flag wal_index_once_;
  std::unique_ptr<SqliteConn> wal_index_conn_;
  const volatile uint32_t* wal_index_ = nullptr;  // set once, under wal_index_once_
  std::jthread checkpointer_;  // started by the first request; last member: stopped first
};

}  // namespace

Result<std::unique_ptr<Driver>> OpenSqlite(const std::string& path, SqliteOptions options) {
  // SQLite's memory statistics take a process-wide mutex on every allocation, which each
  // connection's thread would then share; telemeet never reads them. (Refused, harmlessly, once
  // SQLite is initialized.)
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  if (options.synchronous != "FULL" && options.synchronous != "NORMAL") {
    return Fail(ErrorCode::kInvalidArgument, "sqlite synchronous must be FULL or NORMAL",
                "storage.url");
  }
  auto driver = std::make_unique<SqliteDriver>(path, std::move(options));
  // Open one connection now so a bad path fails here, not at the first query.
  if (auto s = driver->RunRaw([](Conn&) { return Ok(); }); !s) return std::unexpected(s.error());
  return std::unique_ptr<Driver>(std::move(driver));
}

}  // namespace telemeet::store
