// The job queue on /metrics: how many jobs of each kind wait, run, wait out a backoff or are
// parked, and how long the oldest due one has waited; read from the store when /metrics is
// scraped, in one read transaction with one aggregate query (Tx::JobQueueCounts), never a
// write, and at most once per `min_interval` however often Prometheus asks.
//
//   QueueMetrics queue(store, clock, metrics);   // registers its collector
//
//   telemeet_jobs{kind="reconcile",state="ready"} 3
//   telemeet_jobs_oldest_due_seconds{kind="reconcile"} 1.2
//   telemeet_webhook_backlog 0      (deliver jobs not done and not parked)
//   telemeet_email_backlog 1        (email jobs likewise)
//
// Thread-safe: concurrent scrapes take turns, the later one reusing the earlier's reading.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace telemeet::sync {

struct QueueMetricsOptions {
  std::chrono::milliseconds min_interval{2'000};
  // Kinds shown from the start (at 0) so dashboards have a series before the first job.
  std::vector<std::string> kinds = {"reconcile", "deliver", "email", "gsync"};
};

class QueueMetrics {
 public:
  QueueMetrics(store::Store& store, const Clock& clock, obs::Registry& metrics,
               QueueMetricsOptions options = {});
  QueueMetrics(const QueueMetrics&) = delete;
  QueueMetrics& operator=(const QueueMetrics&) = delete;

  // Reads the store unless it did less than min_interval ago. A failed read counts in
  // telemeet_metrics_collect_failures_total{source="jobs"} and leaves the gauges as they were.
  void Collect();

 private:
  void Publish(const std::vector<store::JobQueueCount>& counts, Instant now);

  store::Store& store_;
  const Clock& clock_;
  obs::Registry& metrics_;
  const QueueMetricsOptions options_;
  std::mutex mu_;
  std::optional<Instant> read_at_;  // guarded by mu_
  std::set<std::string> kinds_;     // guarded by mu_: every kind shown so far
};

}  // namespace telemeet::sync
