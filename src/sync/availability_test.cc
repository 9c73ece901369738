#include "sync/availability.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

#include "core/time.h"

namespace telemeet::sync {
namespace {

using std::chrono::seconds;

Instant T(std::string_view s) { return *core::ParseRfc3339(s); }

class FreeBusyCacheTest : public ::testing::Test {
 protected:
  FreeBusyCache::Answer Get(int64_t doctor, core::Interval range, bool* hit = nullptr) {
    return cache_.Get(doctor, FreeBusyCache::Window(range), fetch_, hit);
  }

  FakeClock clock_{T("2026-03-02T08:00:00Z")};
  FreeBusyCache cache_{{.ttl = seconds(60), .max_entries = 3}, clock_};
  std::atomic<int> calls_{0};
  FreeBusyCache::Fetch fetch_ = [this](core::Interval w) -> FreeBusyCache::Answer {
    ++calls_;
    return std::vector<core::Interval>{
        {w.start + std::chrono::hours(9), w.start + std::chrono::hours(10)}};
  };
  const core::Interval morning_{T("2026-03-02T09:00:00Z"), T("2026-03-02T12:00:00Z")};
};

TEST_F(FreeBusyCacheTest, WindowIsWholeUtcDays) {
  auto w = FreeBusyCache::Window({T("2026-03-02T09:10:00Z"), T("2026-03-04T00:00:00Z")});
  EXPECT_EQ(core::FormatRfc3339(w.start), "2026-03-02T00:00:00Z");
  EXPECT_EQ(core::FormatRfc3339(w.end), "2026-03-04T00:00:00Z");
}

TEST_F(FreeBusyCacheTest, HitsWithinTheTtlAndAsksAgainAfterIt) {
  bool hit = true;
  ASSERT_TRUE(Get(1, morning_, &hit));
  EXPECT_FALSE(hit);
  clock_.Advance(seconds(59));
  auto again = Get(1, {T("2026-03-02T13:00:00Z"), T("2026-03-02T14:00:00Z")}, &hit);
  ASSERT_TRUE(again);
  EXPECT_TRUE(hit);  // the same day's window
  EXPECT_EQ(again->size(), 1u);
  EXPECT_EQ(calls_, 1);
  clock_.Advance(seconds(1));
  Get(1, morning_, &hit);
  EXPECT_FALSE(hit);
  EXPECT_EQ(calls_, 2);
}

TEST_F(FreeBusyCacheTest, InvalidateAndCalendarWritesDropOnlyThatDoctor) {
  Get(1, morning_);
  Get(2, morning_);
  cache_.Invalidate(1);
  bool hit = false;
  Get(1, morning_, &hit);
  EXPECT_FALSE(hit);
  Get(2, morning_, &hit);
  EXPECT_TRUE(hit);
  // Our own write to doctor 2's calendar (reported by the Calendar client) drops theirs.
  cache_.OnCall({.operation = "events.get", .doctor_id = "2"});
  Get(2, morning_, &hit);
  EXPECT_TRUE(hit);
  cache_.OnCall({.operation = "events.patch", .doctor_id = "2"});
  Get(2, morning_, &hit);
  EXPECT_FALSE(hit);
  EXPECT_EQ(calls_, 4);
}

TEST_F(FreeBusyCacheTest, ErrorsAreNotCached) {
  auto failing = [&](core::Interval) -> FreeBusyCache::Answer {
    ++calls_;
    return std::unexpected(google::GoogleError(google::ErrorKind::kServer, "boom", 503));
  };
  EXPECT_FALSE(cache_.Get(1, FreeBusyCache::Window(morning_), failing));
  EXPECT_FALSE(cache_.Get(1, FreeBusyCache::Window(morning_), failing));
  EXPECT_EQ(calls_, 2);
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(FreeBusyCacheTest, AThrowingFetchLeavesNoFlightBehind) {
  auto throwing = [](core::Interval) -> FreeBusyCache::Answer { throw std::bad_alloc(); };
  EXPECT_THROW(cache_.Get(1, FreeBusyCache::Window(morning_), throwing), std::bad_alloc);
  auto again = Get(1, morning_);  // a new flight, not a wait on the dead one
  ASSERT_TRUE(again);
  EXPECT_EQ(calls_, 1);
}

TEST_F(FreeBusyCacheTest, ConcurrentMissesMakeOneCall) {
  std::latch started(1);
  std::latch release(1);
  auto slow = [&](core::Interval w) -> FreeBusyCache::Answer {
    ++calls_;
    started.count_down();
    release.wait();
    return std::vector<core::Interval>{{w.start, w.start + seconds(1)}};
  };
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  threads.emplace_back([&] {
    if (cache_.Get(1, FreeBusyCache::Window(morning_), slow)) ++answered;
  });
  started.wait();
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (cache_.Get(1, FreeBusyCache::Window(morning_), slow)) ++answered;
    });
  }
  // Let the waiters reach the flight before it lands (they would hit the cache otherwise,
  // which is also one call, but would not exercise the wait).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release.count_down();
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered, 9);
  EXPECT_EQ(calls_, 1);
}

TEST_F(FreeBusyCacheTest, AnAnswerOvertakenByAnInvalidationIsNotKept) {
  auto racing = [&](core::Interval w) -> FreeBusyCache::Answer {
    ++calls_;
    cache_.Invalidate(1);  // a push arrives while the request is on its way
    return std::vector<core::Interval>{{w.start, w.start + seconds(1)}};
  };
  ASSERT_TRUE(cache_.Get(1, FreeBusyCache::Window(morning_), racing));
  bool hit = true;
  Get(1, morning_, &hit);
  EXPECT_FALSE(hit);
  EXPECT_EQ(calls_, 2);
}

TEST_F(FreeBusyCacheTest, HoldsAtMostMaxEntries) {
  for (int64_t d = 1; d <= 10; ++d) {
    Get(d, morning_);
    clock_.Advance(seconds(1));
    EXPECT_LE(cache_.size(), 3u);
  }
  bool hit = false;
  Get(10, morning_, &hit);  // the most recent stays
  EXPECT_TRUE(hit);
  Get(1, morning_, &hit);  // the least recently used went
  EXPECT_FALSE(hit);
}

TEST(GoogleBusyPolicyTest, ParsesItsNames) {
  EXPECT_EQ(*ParseGoogleBusyPolicy("refuse", "google_busy"), GoogleBusyPolicy::kRefuse);
  auto bad = ParseGoogleBusyPolicy("block", "google_busy");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "google_busy");
}

}  // namespace
}  // namespace telemeet::sync
