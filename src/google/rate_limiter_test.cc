#include "google/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "google/testing/fake_quota_budget.h"
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

// ---- With a budget shared by several instances (issue 17) ----

class SharedRateLimiterTest : public RateLimiterTest {
 protected:
  // 10 project permits per 1 s window; doctors are not the limit unless a test says so.
  static RateLimitOptions Options(double doctor = 60'000, double project = 600) {
    RateLimitOptions o;
    o.doctor_per_minute = doctor;
    o.project_per_minute = project;
    return o;
  }
  testing::FakeQuotaBudget budget_;
};

TEST_F(SharedRateLimiterTest, ThreeInstancesTogetherStayInsideTheSlidingMinute) {
  RateLimiter a(Options(), clock_, sleeper_, &budget_);
  RateLimiter b(Options(), clock_, sleeper_, &budget_);
  RateLimiter c(Options(), clock_, sleeper_, &budget_);
  RateLimiter* instances[] = {&a, &b, &c};
  const Instant start = clock_.Now();
  std::vector<Instant> sent;
  for (int i = 0; i < 1500; ++i) {
    instances[i % 3]->Acquire("d" + std::to_string(i % 20));
    sent.push_back(clock_.Now());
  }
  // Alone, each instance's own buckets would allow 600 a minute: three would send 1,800.
  size_t worst = 0;
  for (size_t i = 0, j = 0; i < sent.size(); ++i) {
    while (sent[i] - sent[j] >= seconds(60)) ++j;
    worst = std::max(worst, i - j + 1);
  }
  EXPECT_LE(worst, 610u);  // 600 * (1 + window / minute)
  EXPECT_GE(worst, 600u);  // and the budget is used, not wasted
  // 1,500 permits at 10 per 1 s window: 150 windows, the first one at once.
  EXPECT_EQ(clock_.Now() - start, seconds(149));
  for (int64_t w = a.WindowOf(start); w <= a.WindowOf(clock_.Now()); ++w) {
    EXPECT_LE(budget_.Used("project", w), 10) << w;
  }
}

TEST_F(SharedRateLimiterTest, PermitsComeInSlicesNotOneRoundTripEach) {
  RateLimiter limiter(Options(60'000, 6'000), clock_, sleeper_, &budget_);  // 100 per window
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Acquire("d").count(), 0) << i;
  // Slices of 1/20 of the cap: 5 for the project (20 round trips), 50 for the doctor (2).
  EXPECT_EQ(budget_.takes(), 22);
  EXPECT_EQ(budget_.Used("project", limiter.WindowOf(clock_.Now())), 100);
  // The window is spent: the next permit waits for the next window.
  EXPECT_EQ(limiter.Acquire("d"), seconds(1));
}

TEST_F(SharedRateLimiterTest, FractionalRatesLoseNothing) {
  RateLimiter limiter(Options(60'000, 570), clock_, sleeper_, &budget_);  // 9.5 per window
  const int64_t first = limiter.WindowOf(clock_.Now());
  for (int i = 0; i < 200; ++i) limiter.Acquire("d");
  int total = 0;
  for (int64_t w = first; w < first + 10; ++w) {
    const int used = budget_.Used("project", w);
    EXPECT_TRUE(used == 9 || used == 10) << used;
    total += used;
  }
  EXPECT_EQ(total, 95);  // not 90, as a cap of 9 a window would give
}

TEST_F(SharedRateLimiterTest, PermitsDoNotOutliveTheirWindow) {
  RateLimiter a(Options(60'000, 6'000), clock_, sleeper_, &budget_);
  a.Acquire("d");  // takes a slice of 5, spends 1
  const int64_t first = a.WindowOf(clock_.Now());
  clock_.Advance(seconds(1));
  a.Acquire("d");  // the 4 left belonged to the window before: a new slice
  EXPECT_EQ(budget_.Used("project", first), 5);
  EXPECT_EQ(budget_.Used("project", first + 1), 5);
  EXPECT_EQ(budget_.takes(), 4);
}

TEST_F(SharedRateLimiterTest, OneInstancesRateLimitAnswerSlowsTheOthers) {
  RateLimitOptions o = Options();
  o.slow_for = seconds(10);
  RateLimiter a(o, clock_, sleeper_, &budget_);
  RateLimiter b(o, clock_, sleeper_, &budget_);
  auto permits_in_one_window = [&](RateLimiter& l) {
    // To the start of a fresh window.
    clock_.Advance(seconds(1) - clock_.Now().time_since_epoch() % seconds(1));
    const int64_t w = l.WindowOf(clock_.Now());
    int n = 0;
    while (l.WindowOf(clock_.Now()) == w) {
      l.Acquire("d");
      if (l.WindowOf(clock_.Now()) == w) ++n;
    }
    return n;
  };
  EXPECT_EQ(permits_in_one_window(b), 10);
  a.OnRateLimited("d", /*user_limit=*/false);  // instance a hears 429 rateLimitExceeded
  a.OnRateLimited("d", false);                 // the same answer to a second call in flight
  EXPECT_EQ(permits_in_one_window(b), 5);      // halved once, for b too
  clock_.Advance(seconds(10));
  EXPECT_EQ(permits_in_one_window(b), 10);  // the slow-down is over
  // A user limit slows that doctor only, everywhere.
  RateLimitOptions per_doctor = Options(600, 60'000);  // 10 per window per doctor
  RateLimiter c(per_doctor, clock_, sleeper_, &budget_);
  RateLimiter e(per_doctor, clock_, sleeper_, &budget_);
  c.OnRateLimited("x", /*user_limit=*/true);
  clock_.Advance(seconds(1));
  const int64_t w = e.WindowOf(clock_.Now());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(e.Acquire("y").count(), 0) << i;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(e.Acquire("x").count(), 0) << i;
  EXPECT_EQ(e.Acquire("x"), seconds(1));  // x's halved window is spent
  EXPECT_EQ(budget_.Used("doctor:x", w), 5);
  EXPECT_EQ(budget_.Used("doctor:y", w), 10);
}

TEST_F(SharedRateLimiterTest, BusyDoctorOnOneInstanceDoesNotStarveAnotherDoctor) {
  // Doctor a has a backlog on two instances; doctor b's single call goes through at once, and
  // a's backlog never holds more project permits than a's own cap.
  RateLimiter one(Options(600, 1'200), clock_, sleeper_, &budget_);  // 10/doctor, 20/project
  RateLimiter two(Options(600, 1'200), clock_, sleeper_, &budget_);
  const int64_t w = one.WindowOf(clock_.Now());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(one.Acquire("a").count(), 0) << i;
  EXPECT_EQ(one.Acquire("b").count(), 0);   // b has its own permits and the project's
  EXPECT_EQ(two.Acquire("a"), seconds(1));  // a's window is spent, for every instance
  // However long a's backlog, it holds per window only a's cap of the project's 20 (the
  // slices b's call took round it up by one).
  for (int i = 0; i < 30; ++i) two.Acquire("a");
  for (int64_t v = w; v <= w + 3; ++v) {
    EXPECT_LE(budget_.Used("project", v), v == w ? 12 : 10) << v;
  }
}

TEST_F(SharedRateLimiterTest, BudgetAwayFallsBackToTheLocalBuckets) {
  RateLimitOptions o = Options(60, 1e6);
  o.doctor_burst = 1;
  RateLimiter limiter(o, clock_, sleeper_, &budget_);
  budget_.set_fail(true);
  EXPECT_EQ(limiter.Acquire("d").count(), 0);
  EXPECT_EQ(limiter.Acquire("d"), seconds(1));  // the local pace of 60/min
}

}  // namespace
}  // namespace telemeet::google
