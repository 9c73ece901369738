#include "sync/queue_metrics.h"

#include <gtest/gtest.h>

#include "store/testing/test_database.h"

namespace telemeet::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

class QueueMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store::testing::TestDatabase::Create("sqlite"));
    store_ = std::move(*store::OpenStore(db_->url(), clock_));
    ASSERT_TRUE(store_->Migrate());
  }

  void AddJob(const std::string& kind, const std::string& key, Instant run_at = {}) {
    core::Job job;
    job.kind = kind;
    job.key = key;
    job.run_at = run_at;
    ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.UpsertJob(job); }));
  }

  bool Has(const std::string& line) {
    text_ = metrics_.Render();
    return text_.find(line + "\n") != std::string::npos;
  }

  FakeClock clock_;
  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
  obs::Registry metrics_;
  std::string text_;
};

TEST_F(QueueMetricsTest, ShowsEachKindAndStateAndTheOldestDueAge) {
  QueueMetrics queue(*store_, clock_, metrics_, {.min_interval = milliseconds(0)});
  // Before any job: the known kinds at 0, so a dashboard has its series.
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="ready"} 0)")) << text_;
  EXPECT_TRUE(Has(R"(telemeet_jobs_oldest_due_seconds{kind="reconcile"} 0)")) << text_;
  EXPECT_TRUE(Has("telemeet_webhook_backlog 0")) << text_;

  AddJob("reconcile", "reconcile:1", clock_.Now() - seconds(90));
  AddJob("reconcile", "reconcile:2");
  AddJob("reconcile", "reconcile:3", clock_.Now() + minutes(5));
  AddJob("deliver", "deliver:1");
  AddJob("email", "email:1");
  AddJob("bulk", "bulk:1");  // a kind the options do not list shows too
  auto leased = store_->Transact([&](store::Tx& tx) {
    return tx.LeaseJobs({.owner = "w", .max = 1, .now = clock_.Now(), .kind = "deliver"});
  });
  ASSERT_TRUE(leased && leased->size() == 1u);

  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="ready"} 2)")) << text_;
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="scheduled"} 1)")) << text_;
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="parked"} 0)")) << text_;
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="deliver",state="leased"} 1)")) << text_;
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="bulk",state="ready"} 1)")) << text_;
  EXPECT_TRUE(Has(R"(telemeet_jobs_oldest_due_seconds{kind="reconcile"} 90)")) << text_;
  EXPECT_TRUE(Has("telemeet_webhook_backlog 1")) << text_;
  EXPECT_TRUE(Has("telemeet_email_backlog 1")) << text_;

  // Done jobs leave the gauges at 0, not at their last value.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return tx.CompleteJob((*leased)[0]); }));
  clock_.Advance(seconds(10));
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="deliver",state="leased"} 0)")) << text_;
  EXPECT_TRUE(Has("telemeet_webhook_backlog 0")) << text_;
  EXPECT_TRUE(Has(R"(telemeet_jobs_oldest_due_seconds{kind="reconcile"} 100)")) << text_;
}

TEST_F(QueueMetricsTest, ReadsTheStoreAtMostOncePerInterval) {
  QueueMetrics queue(*store_, clock_, metrics_, {.min_interval = seconds(5)});
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="ready"} 0)")) << text_;
  AddJob("reconcile", "reconcile:1");
  clock_.Advance(seconds(4));
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="ready"} 0)")) << text_;
  clock_.Advance(seconds(1));
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="ready"} 1)")) << text_;
}

TEST_F(QueueMetricsTest, AFailedReadIsCountedAndKeepsTheLastValues) {
  QueueMetrics queue(*store_, clock_, metrics_, {.min_interval = milliseconds(0)});
  AddJob("reconcile", "reconcile:1");
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="ready"} 1)")) << text_;
  ASSERT_TRUE(db_->ExecSql("DROP TABLE jobs"));
  EXPECT_TRUE(Has(R"(telemeet_metrics_collect_failures_total{source="jobs"} 1)")) << text_;
  EXPECT_TRUE(Has(R"(telemeet_jobs{kind="reconcile",state="ready"} 1)")) << text_;
}

}  // namespace
}  // namespace telemeet::sync
