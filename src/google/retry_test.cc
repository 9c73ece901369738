#include "google/retry.h"

#include <gtest/gtest.h>

#include "google/testing/fake_sleeper.h"

namespace telemeet::google {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

GoogleError Server() { return GoogleError(ErrorKind::kServer, "Backend Error", 503); }

class RetryTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
};

TEST_F(RetryTest, FullJitterStaysUnderTheExponentialCap) {
  RetryOptions opts;
  opts.initial_backoff = milliseconds(100);
  opts.max_backoff = milliseconds(1'000);
  RetryPolicy policy(opts, clock_, sleeper_, 7);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    microseconds cap =
        std::min<microseconds>(milliseconds(100) * (1 << (attempt - 1)), milliseconds(1'000));
    microseconds max_seen{0};
    for (int i = 0; i < 200; ++i) {
      microseconds w = policy.Backoff(Server(), attempt);
      EXPECT_GE(w.count(), 0);
      EXPECT_LE(w, cap);
      max_seen = std::max(max_seen, w);
    }
    // Full jitter spreads over the whole range, not just near zero.
    EXPECT_GT(max_seen, cap / 2) << "attempt " << attempt;
  }
}

TEST_F(RetryTest, SameSeedSameWaits) {
  RetryPolicy a(RetryOptions{}, clock_, sleeper_, 42);
  RetryPolicy b(RetryOptions{}, clock_, sleeper_, 42);
  for (int i = 1; i < 6; ++i) EXPECT_EQ(a.Backoff(Server(), i), b.Backoff(Server(), i));
}

TEST_F(RetryTest, HonoursRetryAfter) {
  RetryPolicy policy(RetryOptions{}, clock_, sleeper_, 1);
  GoogleError e(ErrorKind::kRateLimited, "Rate Limit Exceeded", 429);
  e.set_retry_after(seconds(20));
  EXPECT_GE(policy.Backoff(e, 1), seconds(20));
}

TEST_F(RetryTest, QuotaExceededBacksOffForLong) {
  RetryOptions opts;
  opts.quota_backoff = milliseconds(60'000);
  RetryPolicy policy(opts, clock_, sleeper_, 1);
  GoogleError e(ErrorKind::kQuotaExceeded, "Calendar usage limits exceeded.", 403);
  EXPECT_GE(policy.Backoff(e, 1), seconds(60));
}

TEST_F(RetryTest, RetriesTransientUntilSuccess) {
  RetryPolicy policy(RetryOptions{}, clock_, sleeper_, 3);
  int calls = 0;
  GoogleResult<int> r = policy.Run(true, [&](int attempt) -> GoogleResult<int> {
    ++calls;
    EXPECT_EQ(attempt, calls);
    if (calls < 3) return std::unexpected(Server());
    return 5;
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(sleeper_.sleeps().size(), 2u);
}

TEST_F(RetryTest, FinalErrorsAreNotRetried) {
  RetryPolicy policy(RetryOptions{}, clock_, sleeper_, 3);
  for (ErrorKind kind : {ErrorKind::kInvalidRequest, ErrorKind::kNotFound, ErrorKind::kDuplicate,
                         ErrorKind::kInvalidGrant, ErrorKind::kForbidden,
                         ErrorKind::kPreconditionFailed, ErrorKind::kConferenceRefused}) {
    int calls = 0;
    auto r = policy.Run(true, [&](int) -> GoogleResult<int> {
      ++calls;
      return GFail(kind, "final", 400);
    });
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(calls, 1) << ErrorKindName(kind);
  }
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(RetryTest, StopsAtMaxAttempts) {
  RetryOptions opts;
  opts.max_attempts = 4;
  RetryPolicy policy(opts, clock_, sleeper_, 3);
  int calls = 0;
  auto r = policy.Run(true, [&](int) -> GoogleResult<int> {
    ++calls;
    return GFail(ErrorKind::kRateLimited, "Rate Limit Exceeded", 403);
  });
  EXPECT_EQ(r.error().kind(), ErrorKind::kRateLimited);
  EXPECT_EQ(calls, 4);
}

TEST_F(RetryTest, StopsBeforeTheDeadline) {
  RetryOptions opts;
  opts.max_attempts = 100;
  opts.deadline = milliseconds(10'000);
  opts.initial_backoff = milliseconds(4'000);
  opts.max_backoff = milliseconds(4'000);
  RetryPolicy policy(opts, clock_, sleeper_, 3);
  Instant start = clock_.Now();
  auto r = policy.Run(true, [&](int) -> GoogleResult<int> { return std::unexpected(Server()); });
  EXPECT_FALSE(r.has_value());
  EXPECT_LE(clock_.Now() - start, milliseconds(10'000));
  EXPECT_GE(sleeper_.sleeps().size(), 2u);  // waits average 2 s, so several fit
}

TEST_F(RetryTest, RetryAfterBeyondTheLimitGivesUp) {
  RetryOptions opts;
  opts.max_retry_after = milliseconds(30'000);
  RetryPolicy policy(opts, clock_, sleeper_, 3);
  int calls = 0;
  auto r = policy.Run(true, [&](int) -> GoogleResult<int> {
    ++calls;
    GoogleError e(ErrorKind::kRateLimited, "slow down", 429);
    e.set_retry_after(seconds(3600));
    return std::unexpected(e);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.error().retry_after(), seconds(3600));
}

TEST_F(RetryTest, NonIdempotentCallsRetryOnlyRateLimits) {
  RetryPolicy policy(RetryOptions{}, clock_, sleeper_, 3);
  EXPECT_FALSE(policy.ShouldRetry(GoogleError(ErrorKind::kTimeout, "t"), 1, false));
  EXPECT_FALSE(policy.ShouldRetry(Server(), 1, false));
  EXPECT_TRUE(policy.ShouldRetry(GoogleError(ErrorKind::kRateLimited, "r", 429), 1, false));
  EXPECT_TRUE(policy.ShouldRetry(GoogleError(ErrorKind::kTimeout, "t"), 1, true));
}

}  // namespace
}  // namespace telemeet::google
