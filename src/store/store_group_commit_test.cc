// Group commit (sqlite/sqlite_driver.cc): concurrent write transactions share one commit, each
// in its own savepoint. A failing one rolls back alone with its own error, answers go out only
// after the commit that holds their writes, and the contract's unique rules hold under many
// threads on both backends.
#include <atomic>
#include <filesystem>
#include <future>
#include <set>
#include <stdexcept>
#include <thread>

#include "store/sqlite/sqlite_driver.h"
#include "store/store_test_util.h"

namespace telemeet::store {
namespace {

using std::chrono::milliseconds;

// A fresh SQLite file (synchronous FULL, the default) with a table of unique keys; a second
// driver on the same file reads through connections of its own, so it sees committed rows only.
class SqliteGroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/telemeet-group-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto d = OpenSqlite(dir_ + "/g.db", {});
    ASSERT_TRUE(d) << d.error().ToString();
    driver_ = std::move(*d);
    auto r = OpenSqlite(dir_ + "/g.db", {});
    ASSERT_TRUE(r) << r.error().ToString();
    reader_ = std::move(*r);
    ASSERT_TRUE(Write([](Conn& c) { return Exec(c, "CREATE TABLE t (k TEXT PRIMARY KEY)"); }));
    base_ = driver_->write_stats();
  }
  void TearDown() override {
    driver_.reset();
    reader_.reset();
    std::filesystem::remove_all(dir_);
  }

  static Status Exec(Conn& c, std::string_view sql) {
    auto r = c.Exec(sql, {});
    if (!r) return std::unexpected(r.error());
    return Ok();
  }
  static Status Insert(Conn& c, const std::string& key) {
    SqlValue params[] = {key};
    auto r = c.Exec("INSERT INTO t (k) VALUES (?)", params);
    if (!r) return std::unexpected(r.error());
    return Ok();
  }
  Status Write(const std::function<Status(Conn&)>& fn) {
    return driver_->RunTx(TxMode::kWrite, fn);
  }
  // The committed keys, read by the other driver.
  std::set<std::string> Committed() {
    std::set<std::string> keys;
    Status s = reader_->RunTx(TxMode::kRead, [&](Conn& c) -> Status {
      auto r = c.Exec("SELECT k FROM t", {});
      if (!r) return std::unexpected(r.error());
      for (const Row& row : r->rows) keys.insert(row.Text(0));
      return Ok();
    });
    EXPECT_TRUE(s) << s.error().ToString();
    return keys;
  }
  bool Visible(const std::string& key) { return Committed().contains(key); }

  // Waits (bounded) until `n` writers are queued or committing.
  void AwaitWaiting(int64_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (driver_->write_stats().waiting < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_EQ(driver_->write_stats().waiting, n);
  }
  int64_t Commits() { return driver_->write_stats().commits - base_.commits; }
  int64_t Writes() { return driver_->write_stats().writes - base_.writes; }

  // A first writer that holds the lead (inside its transaction) until released, so the writers
  // started meanwhile queue up and form the next group together.
  class Blocker {
   public:
    explicit Blocker(SqliteGroupCommitTest& t) {
      done_ = std::async(std::launch::async, [&t, this] {
        return t.Write([this](Conn& c) -> Status {
          TM_TRY(Insert(c, "lead"));
          running_.set_value();
          release_.get_future().wait();
          return Ok();
        });
      });
      running_.get_future().wait();
    }
    Status Release() {
      release_.set_value();
      return done_.get();
    }

   private:
    std::promise<void> running_, release_;
    std::future<Status> done_;
  };

  std::string dir_;
  std::unique_ptr<Driver> driver_, reader_;
  WriteStats base_;
};

TEST_F(SqliteGroupCommitTest, AFailingWriteRollsBackAloneWithItsOwnErrorWhileTheOthersCommit) {
  Blocker lead(*this);
  auto write = [&](std::function<Status(Conn&)> fn) {
    return std::async(std::launch::async, [this, fn = std::move(fn)] { return Write(fn); });
  };
  auto b = write([](Conn& c) { return Insert(c, "b"); });
  AwaitWaiting(2);
  // Fails by its own rule after writing: its write goes, with its error.
  auto refused = write([](Conn& c) -> Status {
    TM_TRY(Insert(c, "refused-own"));
    return Fail(ErrorCode::kFailedPrecondition, "refused by its own rule", "field_r");
  });
  AwaitWaiting(3);
  // Breaks a unique constraint ("lead" is committed) after writing.
  auto duplicate = write([](Conn& c) -> Status {
    TM_TRY(Insert(c, "duplicate-own"));
    return Insert(c, "lead");
  });
  AwaitWaiting(4);
  auto d = write([](Conn& c) { return Insert(c, "d"); });
  AwaitWaiting(5);
  ASSERT_TRUE(lead.Release());

  Status rb = b.get(), rr = refused.get(), rdup = duplicate.get(), rd = d.get();
  EXPECT_TRUE(rb) << rb.error().ToString();
  EXPECT_TRUE(rd) << rd.error().ToString();
  ASSERT_FALSE(rr);
  EXPECT_EQ(rr.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(rr.error().field(), "field_r");
  ASSERT_FALSE(rdup);
  EXPECT_EQ(rdup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Committed(), (std::set<std::string>{"lead", "b", "d"}));
  // The leader alone, then the four queued behind it in one commit.
  EXPECT_EQ(Commits(), 2);
  EXPECT_EQ(Writes(), 3);
}

TEST_F(SqliteGroupCommitTest, AWriterSeesTheWritesBeforeItInItsGroup) {
  Blocker lead(*this);
  auto first = std::async(std::launch::async,
                          [&] { return Write([](Conn& c) { return Insert(c, "first"); }); });
  AwaitWaiting(2);
  // Same key: in the same transaction, after "first", so it is a unique violation.
  auto again = std::async(std::launch::async,
                          [&] { return Write([](Conn& c) { return Insert(c, "first"); }); });
  AwaitWaiting(3);
  ASSERT_TRUE(lead.Release());
  EXPECT_TRUE(first.get());
  EXPECT_EQ(CodeOf(again.get()), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Commits(), 2);
}

TEST_F(SqliteGroupCommitTest, AnAnswerGoesOutOnlyAfterTheCommitOfItsWholeGroup) {
  Blocker lead(*this);
  std::atomic<bool> early_returned{false};
  std::atomic<bool> early_visible_at_return{false};
  auto early = std::async(std::launch::async, [&] {
    Status s = Write([](Conn& c) { return Insert(c, "early"); });
    early_returned = true;
    early_visible_at_return = Visible("early") && Visible("late");
    return s;
  });
  AwaitWaiting(2);
  std::promise<void> late_running, late_release;
  auto late = std::async(std::launch::async, [&] {
    return Write([&](Conn& c) -> Status {
      TM_TRY(Insert(c, "late"));
      late_running.set_value();
      late_release.get_future().wait();
      return Ok();
    });
  });
  AwaitWaiting(3);
  ASSERT_TRUE(lead.Release());
  // "early" ran and released its savepoint; "late" holds the group's commit.
  late_running.get_future().wait();
  std::this_thread::sleep_for(milliseconds(300));  // time to answer, were it allowed to
  EXPECT_FALSE(early_returned.load()) << "answered before its commit";
  EXPECT_FALSE(Visible("early"));
  late_release.set_value();
  EXPECT_TRUE(early.get());
  EXPECT_TRUE(late.get());
  EXPECT_TRUE(early_visible_at_return.load()) << "answered before its writes were committed";
}

TEST_F(SqliteGroupCommitTest, AnExceptionReachesItsOwnCallerAndTheGroupCommits) {
  Blocker lead(*this);
  auto thrower = std::async(std::launch::async, [&] {
    return Write([](Conn& c) -> Status {
      TM_TRY(Insert(c, "thrower-own"));
      throw std::runtime_error("boom");
    });
  });
  AwaitWaiting(2);
  auto other = std::async(std::launch::async,
                          [&] { return Write([](Conn& c) { return Insert(c, "other"); }); });
  AwaitWaiting(3);
  ASSERT_TRUE(lead.Release());
  EXPECT_THROW(thrower.get(), std::runtime_error);
  EXPECT_TRUE(other.get());
  EXPECT_EQ(Committed(), (std::set<std::string>{"lead", "other"}));
}

// A failure that shows only at COMMIT (a deferred foreign key) fails the shared commit: each
// writer then runs again alone, so only the one that broke the rule is refused.
TEST_F(SqliteGroupCommitTest, AFailureAtCommitFailsOnlyItsOwnWriter) {
  ASSERT_TRUE(Write([](Conn& c) {
    return Exec(c, "CREATE TABLE child (parent TEXT NOT NULL REFERENCES t (k))");
  }));
  base_ = driver_->write_stats();
  Blocker lead(*this);
  auto before = std::async(std::launch::async,
                           [&] { return Write([](Conn& c) { return Insert(c, "before"); }); });
  AwaitWaiting(2);
  auto orphan = std::async(std::launch::async, [&] {
    return Write([](Conn& c) -> Status {
      TM_TRY(Exec(c, "PRAGMA defer_foreign_keys = ON"));
      return Exec(c, "INSERT INTO child (parent) VALUES ('nobody')");
    });
  });
  AwaitWaiting(3);
  auto after = std::async(std::launch::async,
                          [&] { return Write([](Conn& c) { return Insert(c, "after"); }); });
  AwaitWaiting(4);
  ASSERT_TRUE(lead.Release());
  Status rb = before.get(), ro = orphan.get(), ra = after.get();
  EXPECT_TRUE(rb) << rb.error().ToString();
  EXPECT_TRUE(ra) << ra.error().ToString();
  EXPECT_EQ(CodeOf(ro), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Committed(), (std::set<std::string>{"lead", "before", "after"}));
  // The leader alone; the group's commit failed; "before" and "after" committed alone.
  EXPECT_EQ(Commits(), 3);
  EXPECT_EQ(Writes(), 3);
}

// Many threads, some writes refused after writing: exactly the accepted ones are committed,
// and under contention writes share commits.
TEST_F(SqliteGroupCommitTest, ManyThreadsCommitExactlyTheAcceptedWrites) {
  constexpr int kThreads = 16, kPerThread = 150;
  std::vector<std::thread> threads;
  std::atomic<int> wrong_answers{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = std::to_string(t) + "-" + std::to_string(i);
        const bool refuse = i % 7 == 3;
        Status s = Write([&](Conn& c) -> Status {
          TM_TRY(Insert(c, key));
          if (refuse) return Fail(ErrorCode::kInvalidArgument, "refused " + key);
          return Ok();
        });
        if (static_cast<bool>(s) == refuse || (!s && s.error().message() != "refused " + key))
          ++wrong_answers;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong_answers.load(), 0);
  std::set<std::string> want;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      if (i % 7 != 3) want.insert(std::to_string(t) + "-" + std::to_string(i));
    }
  }
  EXPECT_EQ(Committed(), want);
  EXPECT_EQ(Writes(), static_cast<int64_t>(want.size()));
  EXPECT_LT(Commits(), Writes()) << "no two writes ever shared a commit";
  EXPECT_EQ(driver_->write_stats().waiting, 0);
}

// The contract under many threads, on both backends: a unique rule admits one of many
// concurrent creates, the others get kAlreadyExists; every distinct create commits.
class GroupCommitContract : public StoreFixture {};

TEST_P(GroupCommitContract, UniqueRulesHoldUnderConcurrentWriters) {
  constexpr int kThreads = 12;
  std::vector<std::future<Result<core::Doctor>>> same, distinct;
  for (int t = 0; t < kThreads; ++t) {
    auto create = [this](std::string email) {
      return store_->Transact([&](Tx& tx) {
        core::Doctor d;
        d.name = "Dr " + email;
        d.email = email;
        return tx.CreateDoctor(d);
      });
    };
    same.push_back(std::async(std::launch::async, create, std::string("same@clinic.example")));
    distinct.push_back(
        std::async(std::launch::async, create, "d" + std::to_string(t) + "@clinic.example"));
  }
  int created = 0, refused = 0;
  for (auto& f : same) {
    auto r = f.get();
    if (r) {
      ++created;
    } else if (r.error().code() == ErrorCode::kAlreadyExists) {
      ++refused;
    } else {
      ADD_FAILURE() << r.error().ToString();
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(refused, kThreads - 1);
  std::set<int64_t> ids;
  for (auto& f : distinct) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error().ToString();
    ids.insert(r->id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads));
  auto listed = store_->Read([](Tx& tx) { return tx.ListDoctors({.limit = 100}); });
  ASSERT_TRUE(listed) << listed.error().ToString();
  EXPECT_EQ(listed->items.size(), static_cast<size_t>(kThreads + 1));
}

INSTANTIATE_TEST_SUITE_P(Backends, GroupCommitContract, ::testing::Values("sqlite", "postgres"),
                         BackendName);

}  // namespace
}  // namespace telemeet::store
