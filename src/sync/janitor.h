// The janitor (issue 15): runs the retention purge (store/retention.h) in the background, every
// `interval` (and once at start), and counts what it deletes into
// telemeet_retention_deleted_total{table="..."}. `telemeet purge` runs the same store::Purge once.
//
//   Janitor janitor(store, clock, JanitorOptions{.policy = policy, .metrics = &metrics});
//   janitor.Start();
//   ...
//   janitor.Stop();  // ends the pass in hand after its current batch
//
// Thread safety: RunOnce may be called from any thread; Start/Stop from one controlling thread.
#pragma once

#include <atomic>
#include <chrono>

#include "base/background_loop.h"
#include "base/clock.h"
#include "base/error.h"
#include "obs/metrics.h"
#include "store/retention.h"
#include "store/store.h"

namespace telemeet::sync {

struct JanitorOptions {
  store::RetentionPolicy policy{};
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  int32_t batch = 500;  // rows per transaction
  // Optional: telemeet_retention_deleted_total{table}, telemeet_retention_runs_total{outcome}.
  obs::Registry* metrics = nullptr;
};

class Janitor {
 public:
  Janitor(store::Store& store, Clock& clock, JanitorOptions options = {});
  ~Janitor();  // Stop()
  Janitor(const Janitor&) = delete;
  Janitor& operator=(const Janitor&) = delete;

  // One purge as of clock.Now(), counted into the metrics. Errors: the store's.
  Result<store::PurgeCounts> RunOnce();

  void Start();
  void Stop();

 private:
  store::Store& store_;
  Clock& clock_;
  const JanitorOptions options_;
  std::atomic<bool> stopping_{false};
  BackgroundLoop loop_;  // after options_ and stopping_
};

}  // namespace telemeet::sync
