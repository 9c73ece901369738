#include "sync/worker.h"

#include <gtest/gtest.h>

namespace telemeet::sync {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LeaseAheadTest, WithoutATimeBoundTheCountAlone) {
  EXPECT_EQ(LeaseAhead(128, milliseconds(0), 16, milliseconds(750)), 128);
  EXPECT_EQ(LeaseAhead(0, milliseconds(250), 16, milliseconds(1)), 0);
  EXPECT_EQ(LeaseAhead(-3, milliseconds(250), 16, milliseconds(1)), 0);
}

TEST(LeaseAheadTest, OnePerThreadUntilARunHasEnded) {
  EXPECT_EQ(LeaseAhead(128, milliseconds(250), 16, microseconds(0)), 16);
  EXPECT_EQ(LeaseAhead(6, milliseconds(250), 16, microseconds(0)), 6);
}

TEST(LeaseAheadTest, WhatTheRunnersEndInTheTimeAtMostTheCount) {
  // Google answering at once: 16 runners of 2 ms end 2,000 jobs in 250 ms; the count bounds.
  EXPECT_EQ(LeaseAhead(128, milliseconds(250), 16, milliseconds(2)), 128);
  // At 0.75 s a call: 16 runners end 5.3 jobs in 250 ms.
  EXPECT_EQ(LeaseAhead(128, milliseconds(250), 16, milliseconds(750)), 5);
  // One runner at 200 ms a job: two in 500 ms, one in 250 ms.
  EXPECT_EQ(LeaseAhead(6, milliseconds(500), 1, milliseconds(200)), 2);
  EXPECT_EQ(LeaseAhead(6, milliseconds(250), 1, milliseconds(200)), 1);
  // Runs longer than the time: none ahead, a lease for each idle runner.
  EXPECT_EQ(LeaseAhead(6, milliseconds(250), 1, seconds(2)), 0);
  EXPECT_EQ(LeaseAhead(128, milliseconds(250), 16, seconds(30)), 0);
}

}  // namespace
}  // namespace telemeet::sync
