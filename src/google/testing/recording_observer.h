// A CallObserver that keeps every record, for tests.
//
//   RecordingObserver observer;
//   ... calls ...
//   EXPECT_EQ(observer.records()[0].outcome, "ok");
#pragma once

#include <mutex>
#include <vector>

#include "google/observer.h"

namespace telemeet::google::testing {

class RecordingObserver final : public CallObserver {
 public:
  void OnCall(const CallRecord& record) override {
    std::lock_guard lock(mu_);
    records_.push_back(record);
  }
  std::vector<CallRecord> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<CallRecord> records_;
};

}  // namespace telemeet::google::testing
