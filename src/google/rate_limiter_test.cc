#include "google/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "google/testing/fake_sleeper.h"

namespace telemeet::google {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

class RateLimiterTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
};

TEST_F(RateLimiterTest, DoctorBucketAllowsBurstThenPaces) {
  RateLimitOptions opts{
      .doctor_per_minute = 60, .project_per_minute = 1e6, .doctor_burst = 3, .project_burst = 1000};
  RateLimiter limiter(opts, clock_, sleeper_);
  Instant start = clock_.Now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("d1").count(), 0) << i;
  for (int i = 0; i < 5; ++i) limiter.Acquire("d1");
  // 3 at once, then one a second.
  EXPECT_EQ(clock_.Now() - start, seconds(5));
}

TEST_F(RateLimiterTest, DoctorsHaveSeparateBuckets) {
  RateLimitOptions opts{
      .doctor_per_minute = 60, .project_per_minute = 1e6, .doctor_burst = 1, .project_burst = 1000};
  RateLimiter limiter(opts, clock_, sleeper_);
  EXPECT_EQ(limiter.Acquire("a").count(), 0);
  EXPECT_EQ(limiter.Acquire("b").count(), 0);
  EXPECT_EQ(limiter.Acquire("a"), seconds(1));
}

TEST_F(RateLimiterTest, ProjectBucketCapsAllDoctorsTogether) {
  RateLimitOptions opts{
      .doctor_per_minute = 1e6, .project_per_minute = 600, .doctor_burst = 100, .project_burst = 1};
  RateLimiter limiter(opts, clock_, sleeper_);
  Instant start = clock_.Now();
  for (int i = 0; i < 10; ++i) limiter.Acquire(i % 2 ? "a" : "b");
  EXPECT_EQ(clock_.Now() - start, milliseconds(900));  // 10/s across doctors
}

TEST_F(RateLimiterTest, BusyDoctorCannotStarveOthers) {
  RateLimitOptions opts{
      .doctor_per_minute = 60, .project_per_minute = 600, .doctor_burst = 1, .project_burst = 1};
  RateLimiter limiter(opts, clock_, sleeper_);
  // 1,000 requests of doctor A queue up at once: they wait on A's own bucket...
  microseconds last{0};
  for (int i = 0; i < 1000; ++i) last = limiter.ReserveDoctorSlot("a");
  EXPECT_EQ(last, seconds(999));
  // ...and hold no project slots while they wait, so doctor B goes through at once.
  EXPECT_EQ(limiter.Acquire("b").count(), 0);
  EXPECT_EQ(limiter.Acquire("c"), milliseconds(100));  // the project pace, not A's backlog
}

TEST_F(RateLimiterTest, AdditiveIncreaseMultiplicativeDecrease) {
  RateLimitOptions opts{.doctor_per_minute = 600, .project_per_minute = 10'000};
  RateLimiter limiter(opts, clock_, sleeper_);
  limiter.OnRateLimited("a", /*user_limit=*/true);
  EXPECT_DOUBLE_EQ(limiter.DoctorRate("a"), 300);
  EXPECT_DOUBLE_EQ(limiter.ProjectRate(), 10'000);
  limiter.OnRateLimited("a", true);
  EXPECT_DOUBLE_EQ(limiter.DoctorRate("a"), 150);
  limiter.OnSuccess("a");
  EXPECT_DOUBLE_EQ(limiter.DoctorRate("a"), 162);  // +2% of 600
  for (int i = 0; i < 100; ++i) limiter.OnSuccess("a");
  EXPECT_DOUBLE_EQ(limiter.DoctorRate("a"), 600);  // never above the configured rate
  limiter.OnRateLimited("a", /*user_limit=*/false);
  EXPECT_DOUBLE_EQ(limiter.ProjectRate(), 5'000);
  EXPECT_DOUBLE_EQ(limiter.DoctorRate("a"), 600);
  for (int i = 0; i < 20; ++i) limiter.OnRateLimited("b", true);
  EXPECT_DOUBLE_EQ(limiter.DoctorRate("b"), 30);  // floor: 5% of the configured rate
}

TEST_F(RateLimiterTest, SlowerRateAfterRateLimitSpacesRequests) {
  RateLimitOptions opts{.doctor_per_minute = 120,
                        .project_per_minute = 1e6,
                        .doctor_burst = 1,
                        .project_burst = 1000};
  RateLimiter limiter(opts, clock_, sleeper_);
  limiter.Acquire("a");
  limiter.OnRateLimited("a", true);  // 60/min
  limiter.Acquire("a");              // pays the old interval (0.5 s) reserved before
  EXPECT_EQ(limiter.Acquire("a"), seconds(1));
}

TEST_F(RateLimiterTest, StatsShowTokensUsedAndTheBackOff) {
  RateLimitOptions opts{
      .doctor_per_minute = 600, .project_per_minute = 60, .doctor_burst = 10, .project_burst = 4};
  RateLimiter limiter(opts, clock_, sleeper_);
  RateLimiterStats s = limiter.Stats();
  EXPECT_EQ(s.project_tokens_available, 4);
  EXPECT_EQ(s.project_burst, 4);
  EXPECT_EQ(s.granted, 0u);
  EXPECT_EQ(s.doctors, 0);

  for (int i = 0; i < 3; ++i) limiter.Acquire("a");
  s = limiter.Stats();
  EXPECT_EQ(s.granted, 3u);
  EXPECT_EQ(s.project_tokens_available, 1);
  EXPECT_EQ(s.doctors, 1);
  clock_.Advance(seconds(2));  // one a second comes back
  EXPECT_EQ(limiter.Stats().project_tokens_available, 3);

  limiter.OnRateLimited("a", /*user_limit=*/true);
  limiter.OnRateLimited("b", /*user_limit=*/false);
  s = limiter.Stats();
  EXPECT_EQ(s.rate_limited_user, 1u);
  EXPECT_EQ(s.rate_limited_project, 1u);
  EXPECT_EQ(s.doctors_backed_off, 1);  // a; b's own bucket was not lowered
  EXPECT_DOUBLE_EQ(s.project_configured_per_minute, 60);
  EXPECT_DOUBLE_EQ(s.project_rate_per_minute, 30);
}

TEST_F(RateLimiterTest, ConcurrentCallersGetDistinctSlots) {
  RateLimitOptions opts{.doctor_per_minute = 60'000,
                        .project_per_minute = 1e7,
                        .doctor_burst = 1,
                        .project_burst = 1};
  RateLimiter limiter(opts, clock_, sleeper_);
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<microseconds> waits;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        microseconds w = limiter.ReserveDoctorSlot("a");
        std::lock_guard lock(mu);
        waits.push_back(w);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(waits.begin(), waits.end());
  ASSERT_EQ(waits.size(), 200u);
  for (size_t i = 0; i < waits.size(); ++i) EXPECT_EQ(waits[i], milliseconds(1) * i);
}

}  // namespace
}  // namespace telemeet::google
