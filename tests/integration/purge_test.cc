// `telemeet purge [--dry-run]`, the real binary on a real data dir: rows made long ago (the
// store opened with a clock set in the past) are counted by a dry run, deleted by a purge, and
// rows still within their retention stay.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "base/clock.h"
#include "store/store.h"
#include "tests/support/process.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;

class PurgeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tm-purge-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  struct Run {
    int code = -1;
    std::string out;
    std::string err;
  };
  Run Telemeet(std::vector<std::string> args) {
    args.insert(args.begin(), TELEMEET_BINARY);
    args.push_back("--data-dir");
    args.push_back(dir_);
    auto p = testing::ChildProcess::Start(args);
    EXPECT_TRUE(p) << p.error().ToString();
    if (!p) return {};
    (*p)->WaitForLine("\x01never", std::chrono::milliseconds(0));
    Run r;
    r.code = (*p)->Wait(seconds(30)).value_or(-1);
    (*p)->WaitForLine("\x01never", std::chrono::milliseconds(100));  // drains what is left
    r.out = (*p)->output();
    r.err = (*p)->errors();
    return r;
  }

  // The count printed for `table`, or -1.
  static int64_t Count(const std::string& out, const std::string& table) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("\\n  " + table + " +([0-9]+)\\n"))) return -1;
    return std::stoll(m[1]);
  }

  std::unique_ptr<store::Store> Open(Clock& clock) {
    auto s = store::OpenStore("sqlite:" + dir_ + "/telemeet.db", clock);
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? std::move(*s) : nullptr;
  }

  std::string dir_;
};

TEST_F(PurgeCliTest, ADryRunCountsAPurgeDeletesAndWhatIsStillKeptStays) {
  Run migrated = Telemeet({"migrate"});
  ASSERT_EQ(migrated.code, 0) << migrated.err;

  // Long ago: a session and an idempotency record (expired since), an admin change older
  // than the audit retention, an outbox event whose delivery job finished.
  FakeClock past(SystemClock::Instance().Now() - days(4000));
  FakeClock now(SystemClock::Instance().Now());
  {
    auto old = Open(past);
    ASSERT_TRUE(old);
    ASSERT_TRUE(old->Transact([&](store::Tx& tx) -> Status {
      auto user = TM_TRY(tx.CreateUser(core::User{.email = "admin@clinic.example",
                                                  .name = "Admin",
                                                  .role = core::Role::kAdmin,
                                                  .password_hash = "x"}));
      TM_TRY(tx.CreateSession(core::Session{
          .token_hash = "old", .user_id = user.id, .expires_at = past.Now() + hours(12)}));
      TM_TRY(tx.PutIdempotency(core::IdempotencyRecord{.key = "old",
                                                       .request_hash = "h",
                                                       .response_status = 201,
                                                       .response_body = "{}",
                                                       .expires_at = past.Now() + hours(24)}));
      TM_TRY(tx.AppendAdminAudit(core::AdminAuditEntry{
          .actor = "user:1", .kind = "user", .action = "user.created", .target = "user:1"}));
      TM_TRY(tx.AppendOutbox(core::OutboxEvent{.topic = "meeting.ready", .payload = "{}"}));
      store::LeaseRequest lease;
      lease.owner = "test";
      lease.now = past.Now();
      for (const core::Job& j : TM_TRY(tx.LeaseJobs(lease))) TM_TRY(tx.CompleteJob(j));
      return Ok();
    }));
    // Now: a live session and a recent admin change, which stay.
    auto fresh = Open(now);
    ASSERT_TRUE(fresh->Transact([&](store::Tx& tx) -> Status {
      TM_TRY(tx.CreateSession(
          core::Session{.token_hash = "new", .user_id = 1, .expires_at = now.Now() + hours(12)}));
      TM_TRY(tx.AppendAdminAudit(
          core::AdminAuditEntry{.actor = "user:1", .kind = "user", .action = "user.updated"}));
      return Ok();
    }));
  }

  Run dry = Telemeet({"purge", "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("dry run, nothing deleted: retention.days = 30, "
                         "retention.audit_days = 3650"),
            std::string::npos)
      << dry.out;
  EXPECT_EQ(Count(dry.out, "sessions"), 1) << dry.out;
  EXPECT_EQ(Count(dry.out, "idempotency_keys"), 1) << dry.out;
  EXPECT_EQ(Count(dry.out, "outbox_events"), 1) << dry.out;
  EXPECT_EQ(Count(dry.out, "admin_audit"), 1) << dry.out;
  EXPECT_EQ(Count(dry.out, "access_links"), 0) << dry.out;
  EXPECT_NE(dry.out.find("would delete 4 rows"), std::string::npos) << dry.out;

  Run again = Telemeet({"purge", "--dry-run"});
  EXPECT_NE(again.out.find("would delete 4 rows"), std::string::npos)
      << "a dry run deletes nothing";

  Run purged = Telemeet({"purge"});
  ASSERT_EQ(purged.code, 0) << purged.err;
  EXPECT_EQ(Count(purged.out, "sessions"), 1) << purged.out;
  EXPECT_EQ(Count(purged.out, "admin_audit"), 1) << purged.out;
  EXPECT_NE(purged.out.find("deleted 4 rows"), std::string::npos) << purged.out;

  auto after = Open(now);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->Read([&](store::Tx& tx) { return tx.GetSession("new", now.Now()); }));
  auto audit = after->Read(
      [&](store::Tx& tx) { return tx.ListAdminAudit({}, store::PageRequest{.limit = 10}); });
  ASSERT_TRUE(audit);
  ASSERT_EQ(audit->items.size(), 1u);
  EXPECT_EQ(audit->items[0].action, "user.updated");
  EXPECT_EQ(
      after->Read([&](store::Tx& tx) { return tx.ListOutbox(store::PageRequest{.limit = 10}); })
          ->items.size(),
      0u);

  EXPECT_NE(Telemeet({"purge"}).out.find("deleted 0 rows"), std::string::npos);
}

TEST_F(PurgeCliTest, ARetentionBelowOneDayIsRefusedNamingTheKey) {
  Run r = Telemeet({"purge", "--set", "retention.days=0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("retention.days: must be between 1 and 36500"), std::string::npos) << r.err;
  Run week = Telemeet({"purge", "--dry-run", "--set", "retention.audit_days=7"});
  EXPECT_EQ(week.code, 0) << week.err;
  EXPECT_NE(week.out.find("retention.audit_days = 7"), std::string::npos) << week.out;
}

// The server's janitor runs a purge at start and counts into /metrics.
TEST(JanitorInServerTest, ItsCountsAreInMetrics) {
  testing::SandboxServer server;
  ASSERT_TRUE(server.Start({"--set", "log.level=warn"}));
  std::string text;
  for (int i = 0; i < 100; ++i) {
    auto r = server.Send(net::ClientRequest{.url = server.base_url() + "/metrics"});
    ASSERT_TRUE(r) << r.error().ToString();
    text = r->body;
    if (text.find(R"(telemeet_retention_runs_total{outcome="ok"} 1)") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(text.find(R"(telemeet_retention_runs_total{outcome="ok"} 1)"), std::string::npos)
      << text;
  for (const char* table :
       {"sessions", "oauth_states", "idempotency_keys", "access_links", "webhook_deliveries",
        "outbox_events", "audit_entries", "admin_audit"}) {
    EXPECT_NE(text.find(std::string("telemeet_retention_deleted_total{table=\"") + table + "\"} 0"),
              std::string::npos)
        << table;
  }
}

}  // namespace
}  // namespace telemeet
