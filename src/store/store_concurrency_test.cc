// Many leasers on one queue (threads on SQLite, processes on PostgreSQL) and a process killed
// mid-transaction.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <thread>

#include "store/store_test_util.h"

namespace telemeet::store {
namespace {

using std::chrono::hours;

constexpr int kJobs = 10'000;
constexpr int kBatch = 50;

void MakeJobs(Store& store, int n) {
  auto s = store.Transact([&](Tx& tx) -> Status {
    for (int i = 0; i < n; ++i) {
      core::Job j;
      j.kind = "bulk";
      j.key = "bulk:" + std::to_string(i);
      if (auto r = tx.UpsertJob(j); !r) return std::unexpected(r.error());
    }
    return Ok();
  });
  ASSERT_TRUE(s) << s.error().ToString();
}

// Every job leased exactly once across all leasers.
void ExpectEachExactlyOnce(const std::vector<std::vector<int64_t>>& per_leaser) {
  size_t total = 0;
  std::set<int64_t> unique;
  for (const auto& ids : per_leaser) {
    total += ids.size();
    unique.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kJobs)) << "some job was leased twice or never";
  EXPECT_EQ(unique.size(), static_cast<size_t>(kJobs));
}

// After every lease has expired, another owner takes all jobs over (lease_seq 2) and the old
// holders can no longer complete them.
void ExpectTakeover(Store& store, Instant later, int64_t some_old_job_id,
                    const std::string& old_owner) {
  std::vector<core::Job> taken;
  for (;;) {
    auto jobs = store.Transact([&](Tx& tx) {
      return tx.LeaseJobs({.owner = "heir", .max = 1000, .lease_for = hours(1), .now = later});
    });
    ASSERT_TRUE(jobs) << jobs.error().ToString();
    if (jobs->empty()) break;
    taken.insert(taken.end(), jobs->begin(), jobs->end());
  }
  ASSERT_EQ(taken.size(), static_cast<size_t>(kJobs));
  for (const auto& j : taken) ASSERT_EQ(j.lease_seq, 2) << j.key;
  core::Job old;
  old.id = some_old_job_id;
  old.lease_owner = old_owner;
  old.lease_seq = 1;
  auto s = store.Transact([&](Tx& tx) { return tx.CompleteJob(old); });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(SqliteConcurrency, EightThreadsLeaseEveryJobExactlyOnce) {
  auto db = testing::TestDatabase::Create("sqlite");
  ASSERT_TRUE(db);
  FakeClock clock(T("2026-03-01T08:00:00Z"));
  auto store = OpenStore((*db)->url(), clock, {.pool_size = 8});
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->Migrate());
  MakeJobs(**store, kJobs);

  std::vector<std::vector<int64_t>> got(8);
  std::vector<std::string> errors(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto jobs = (*store)->Transact([&](Tx& tx) {
          return tx.LeaseJobs({.owner = "thread-" + std::to_string(t),
                               .max = kBatch,
                               .lease_for = hours(1),
                               .now = clock.Now()});
        });
        if (!jobs) {
          errors[t] = jobs.error().ToString();
          return;
        }
        if (jobs->empty()) return;
        for (const auto& j : *jobs) got[t].push_back(j.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) ASSERT_EQ(e, "");
  ExpectEachExactlyOnce(got);
  ASSERT_FALSE(got[0].empty() && got[1].empty());
  int owner = got[0].empty() ? 1 : 0;
  ExpectTakeover(**store, clock.Now() + hours(2), got[owner][0], "thread-" + std::to_string(owner));
}

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // its stdout, when captured
};

Child Spawn(const std::vector<std::string>& args, bool capture_stdout) {
  int fds[2] = {-1, -1};
  if (capture_stdout && pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    if (capture_stdout) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(TELEMEET_STORE_CHILD));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TELEMEET_STORE_CHILD, argv.data());
    _exit(127);
  }
  Child c;
  c.pid = pid;
  if (capture_stdout) {
    close(fds[1]);
    c.out_fd = fds[0];
  }
  return c;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(PostgresConcurrency, ThreeProcessesLeaseEveryJobExactlyOnce) {
  auto db = testing::TestDatabase::Create("postgres");
  ASSERT_TRUE(db) << db.error().ToString();
  FakeClock clock(T("2026-03-01T08:00:00Z"));
  auto store = OpenStore((*db)->url(), clock);
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE((*store)->Migrate());
  MakeJobs(**store, kJobs);

  char dir_tmpl[] = "/tmp/telemeet-lease.XXXXXX";
  ASSERT_NE(mkdtemp(dir_tmpl), nullptr);
  std::string dir = dir_tmpl;
  std::vector<pid_t> pids;
  for (int p = 0; p < 3; ++p) {
    Child c = Spawn({"lease", (*db)->url(), "proc-" + std::to_string(p),
                     std::to_string(clock.Now().time_since_epoch().count()), std::to_string(kBatch),
                     dir + "/" + std::to_string(p)},
                    /*capture_stdout=*/false);
    ASSERT_GT(c.pid, 0);
    pids.push_back(c.pid);
  }
  for (pid_t pid : pids) {
    int status = Wait(pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed: " << status;
  }
  std::vector<std::vector<int64_t>> got(3);
  for (int p = 0; p < 3; ++p) {
    std::ifstream in(dir + "/" + std::to_string(p));
    int64_t id;
    while (in >> id) got[p].push_back(id);
    std::remove((dir + "/" + std::to_string(p)).c_str());
  }
  rmdir(dir.c_str());
  ExpectEachExactlyOnce(got);
  int owner = got[0].empty() ? (got[1].empty() ? 2 : 1) : 0;
  ExpectTakeover(**store, clock.Now() + hours(2), got[owner][0], "proc-" + std::to_string(owner));
}

// Pooled connections whose server backends were terminated (as by a server restart) are
// replaced transparently at the next transaction.
TEST(PostgresReconnect, DeadPooledConnectionsAreReplaced) {
  auto db = testing::TestDatabase::Create("postgres");
  ASSERT_TRUE(db) << db.error().ToString();
  std::string app = "reconnect_" + std::to_string(getpid());
  FakeClock clock;
  auto store = OpenStore((*db)->url() + "&application_name=" + app, clock, {.pool_size = 2});
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE((*store)->Migrate());
  ASSERT_TRUE((*store)->Transact([&](Tx& tx) { return tx.PutSetting("a", "1"); }));
  ASSERT_TRUE(
      (*db)->ExecSql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                     "application_name = '" +
                     app + "'"));
  auto s = (*store)->Transact([&](Tx& tx) { return tx.PutSetting("a", "2"); });
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(*(*store)->Read([&](Tx& tx) { return tx.GetSetting("a"); }), "2");
}

// Reads run without BEGIN/COMMIT on PostgreSQL: a dead pooled connection is replaced for them
// too, and they still cannot write.
TEST(PostgresReconnect, ReadsReplaceDeadConnectionsAndCannotWrite) {
  auto db = testing::TestDatabase::Create("postgres");
  ASSERT_TRUE(db) << db.error().ToString();
  std::string app = "reconnect_read_" + std::to_string(getpid());
  FakeClock clock;
  auto store = OpenStore((*db)->url() + "&application_name=" + app, clock, {.pool_size = 2});
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE((*store)->Migrate());
  ASSERT_TRUE((*store)->Transact([&](Tx& tx) { return tx.PutSetting("a", "1"); }));
  ASSERT_TRUE(
      (*db)->ExecSql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                     "application_name = '" +
                     app + "'"));
  auto got = (*store)->Read([&](Tx& tx) { return tx.GetSetting("a"); });
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(*got, "1");
  auto wrote = (*store)->Read([&](Tx& tx) { return tx.PutSetting("a", "3"); });
  EXPECT_FALSE(wrote) << "a read transaction wrote";
  EXPECT_EQ(*(*store)->Read([&](Tx& tx) { return tx.GetSetting("a"); }), "1");
}

class CrashTest : public StoreFixture {};

TEST_P(CrashTest, KilledMidTransactionLeavesNoPartialState) {
  Child c = Spawn({"crash", db_->url()}, /*capture_stdout=*/true);
  ASSERT_GT(c.pid, 0);
  // Wait until the child is inside its transaction with everything written but not committed.
  std::string line;
  char ch;
  while (read(c.out_fd, &ch, 1) == 1 && ch != '\n') line.push_back(ch);
  close(c.out_fd);
  ASSERT_EQ(line, "inside");
  ASSERT_EQ(kill(c.pid, SIGKILL), 0);
  int status = Wait(c.pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  auto check = store_->Read([&](Tx& tx) -> Result<std::vector<int64_t>> {
    auto d = tx.ListDoctors({});
    auto s = tx.ListServices({});
    auto p = tx.ListPatients({});
    auto a = tx.ListAppointments({}, {});
    auto j = tx.CountJobs(std::nullopt);
    if (!d || !s || !p || !a || !j) return Fail(ErrorCode::kInternal, "read failed");
    return std::vector<int64_t>{
        static_cast<int64_t>(d->items.size()), static_cast<int64_t>(s->items.size()),
        static_cast<int64_t>(p->items.size()), static_cast<int64_t>(a->items.size()), *j};
  });
  ASSERT_TRUE(check) << check.error().ToString();
  EXPECT_EQ(*check, (std::vector<int64_t>{0, 0, 0, 0, 0}));
  // And the database is not left locked: the same writes now succeed.
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  EXPECT_TRUE(a) << a.error().ToString();
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashTest, ::testing::Values("sqlite", "postgres"), BackendName);

}  // namespace
}  // namespace telemeet::store
