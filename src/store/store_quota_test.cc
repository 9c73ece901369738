// The store contract for the Google quota shared by instances (issue 17): every test runs
// against SQLite and PostgreSQL.
#include <atomic>
#include <thread>
#include <vector>

#include "store/store_test_util.h"

namespace telemeet::store {
namespace {

using std::chrono::seconds;

class QuotaContract : public StoreFixture {
 protected:
  QuotaTaken Take(std::string_view scope, int64_t window, int32_t want, int32_t cap) {
    auto r = store_->Transact(
        [&](Tx& tx) { return tx.TakeQuota(scope, window, want, cap, clock_.Now()); });
    EXPECT_TRUE(r) << r.error().ToString();
    return r.value_or(QuotaTaken{.granted = -1, .cap = -1});
  }
  void Slow(std::string_view scope, seconds for_, int64_t window) {
    auto r = store_->Transact(
        [&](Tx& tx) { return tx.SlowQuota(scope, clock_.Now(), clock_.Now() + for_, window); });
    EXPECT_TRUE(r) << r.error().ToString();
  }
};

TEST_P(QuotaContract, TakersShareOneCapPerScopeAndWindow) {
  EXPECT_EQ(Take("project", 7, 4, 10).granted, 4);
  EXPECT_EQ(Take("project", 7, 4, 10).granted, 4);
  QuotaTaken last = Take("project", 7, 4, 10);
  EXPECT_EQ(last.granted, 2);  // what was left
  EXPECT_EQ(last.cap, 10);
  EXPECT_EQ(Take("project", 7, 1, 10).granted, 0);
  EXPECT_EQ(Take("project", 8, 4, 10).granted, 4);     // a new window starts afresh
  EXPECT_EQ(Take("doctor:1", 7, 20, 10).granted, 10);  // another scope; never above the cap
  EXPECT_EQ(CodeOf(store_->Transact(
                [&](Tx& tx) { return tx.TakeQuota("project", 7, 0, 10, clock_.Now()); })),
            ErrorCode::kInvalidArgument);
}

TEST_P(QuotaContract, SlowDownHalvesOncePerWindowUntilItEnds) {
  Slow("project", seconds(10), 1);
  Slow("project", seconds(10), 1);  // the same answer heard twice in one window
  EXPECT_EQ(Take("project", 1, 100, 10).cap, 5);
  Slow("project", seconds(10), 2);  // Google still says stop in the next window
  QuotaTaken t = Take("project", 2, 100, 10);
  EXPECT_EQ(t.cap, 3);  // 10 * 1/4, rounded up
  EXPECT_EQ(t.granted, 3);
  EXPECT_EQ(Take("doctor:1", 2, 100, 10).cap, 10);  // other scopes are not slowed
  for (int w = 3; w < 10; ++w) Slow("project", seconds(10), w);
  EXPECT_EQ(Take("project", 10, 100, 100).cap, 5);  // never below 1/20
  EXPECT_EQ(Take("project", 11, 100, 10).cap, 1);   // nor below one permit
  clock_.Advance(seconds(10));
  EXPECT_EQ(Take("project", 12, 100, 10).cap, 10);  // over
  Slow("project", seconds(10), 12);                 // a new slow-down starts from the whole
  EXPECT_EQ(Take("project", 13, 100, 10).cap, 5);
}

TEST_P(QuotaContract, PurgeForgetsPastWindowsAndSlowDowns) {
  Take("project", 1, 1, 10);
  Take("project", 2, 1, 10);
  Take("doctor:1", 3, 1, 10);
  Slow("doctor:1", seconds(10), 3);
  Slow("doctor:2", seconds(1), 3);
  clock_.Advance(seconds(5));
  auto gone = store_->Transact([&](Tx& tx) { return tx.PurgeQuota(3, clock_.Now()); });
  ASSERT_TRUE(gone) << gone.error().ToString();
  EXPECT_EQ(*gone, 3);                                // two windows, doctor 2's slow-down
  EXPECT_EQ(Take("doctor:1", 3, 10, 10).granted, 4);  // the current window and slow-down kept
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM google_quota_slowdowns"), 1);
}

TEST_P(QuotaContract, ConcurrentTakersNeverExceedTheCap) {
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        auto r = store_->Transact(
            [&](Tx& tx) { return tx.TakeQuota("project", 42, 3, 200, clock_.Now()); });
        if (!r || r->granted == 0) return;
        granted += r->granted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, QuotaContract, ::testing::Values("sqlite", "postgres"),
                         BackendName);

}  // namespace
}  // namespace telemeet::store
