#include "sync/janitor.h"

#include <gtest/gtest.h>

#include "store/testing/test_database.h"

namespace telemeet::sync {
namespace {

using std::chrono::days;
using std::chrono::hours;

class JanitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store::testing::TestDatabase::Create("sqlite"));
    store_ = std::move(*store::OpenStore(db_->url(), clock_));
    ASSERT_TRUE(store_->Migrate());
  }

  uint64_t Deleted(const std::string& table) {
    return metrics_
        .GetCounter("telemeet_retention_deleted_total", "Rows deleted by retention, by table",
                    {{"table", table}})
        .Value();
  }

  FakeClock clock_;
  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
  obs::Registry metrics_;
};

TEST_F(JanitorTest, CountsWhatEachRunDeletesIntoTheMetrics) {
  Janitor janitor(*store_, clock_, JanitorOptions{.batch = 2, .metrics = &metrics_});
  EXPECT_NE(metrics_.Render().find(R"(telemeet_retention_deleted_total{table="sessions"} 0)"),
            std::string::npos)
      << metrics_.Render();
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    for (int i = 0; i < 5; ++i) {
      TM_TRY(tx.PutIdempotency(core::IdempotencyRecord{.key = "k" + std::to_string(i),
                                                       .request_hash = "h",
                                                       .response_status = 200,
                                                       .response_body = "{}",
                                                       .expires_at = clock_.Now() + hours(24)}));
    }
    TM_TRY(tx.AppendAdminAudit(
        core::AdminAuditEntry{.actor = "user:1", .kind = "user", .action = "user.created"}));
    return Ok();
  }));
  auto first = janitor.RunOnce();
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(Deleted("idempotency_keys"), 0u);

  clock_.Advance(days(2));
  auto second = janitor.RunOnce();
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(Deleted("idempotency_keys"), 5u) << "three batches of at most 2";
  EXPECT_EQ(Deleted("admin_audit"), 0u);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM idempotency_keys"), 0);

  clock_.Advance(days(3650));
  ASSERT_TRUE(janitor.RunOnce());
  EXPECT_EQ(Deleted("admin_audit"), 1u);
  EXPECT_EQ(Deleted("idempotency_keys"), 5u);
  EXPECT_NE(metrics_.Render().find(R"(telemeet_retention_runs_total{outcome="ok"} 3)"),
            std::string::npos)
      << metrics_.Render();
}

TEST_F(JanitorTest, StartsAndStopsWithoutWaitingForItsInterval) {
  Janitor janitor(*store_, clock_, JanitorOptions{.interval = std::chrono::hours(1)});
  janitor.Start();
  janitor.Stop();  // returns at once: the loop is woken, not left to sleep out the hour
  janitor.Start();
  janitor.Stop();
}

}  // namespace
}  // namespace telemeet::sync
