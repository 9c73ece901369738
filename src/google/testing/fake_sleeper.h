// A Sleeper for tests: "sleeping" moves a FakeClock forward at once and records the wait.
//
//   FakeClock clock;
//   FakeSleeper sleeper(clock);
//   policy.Run(...);                       // no real time passes
//   EXPECT_EQ(sleeper.sleeps().size(), 2);
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "base/clock.h"
#include "google/retry.h"

namespace telemeet::google::testing {

class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(FakeClock& clock) : clock_(clock) {}
  void SleepFor(std::chrono::microseconds d) override {
    std::lock_guard lock(mu_);
    sleeps_.push_back(d);
    clock_.Advance(d);
  }
  std::vector<std::chrono::microseconds> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }
  std::chrono::microseconds total() const {
    std::lock_guard lock(mu_);
    std::chrono::microseconds sum{0};
    for (auto d : sleeps_) sum += d;
    return sum;
  }

 private:
  FakeClock& clock_;
  mutable std::mutex mu_;
  std::vector<std::chrono::microseconds> sleeps_;
};

}  // namespace telemeet::google::testing
