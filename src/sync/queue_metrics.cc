#include "sync/queue_metrics.h"

#include <array>
#include <map>

#include "obs/log.h"

namespace telemeet::sync {

namespace {

constexpr std::array<std::string_view, 4> kStates = {"ready", "scheduled", "leased", "parked"};
constexpr std::string_view kFailures = "telemeet_metrics_collect_failures_total";
constexpr std::string_view kFailuresHelp = "Reads for /metrics that failed, by source.";

}  // namespace

QueueMetrics::QueueMetrics(store::Store& store, const Clock& clock, obs::Registry& metrics,
                           QueueMetricsOptions options)
    : store_(store), clock_(clock), metrics_(metrics), options_(std::move(options)) {
  kinds_.insert(options_.kinds.begin(), options_.kinds.end());
  metrics_.DeclareCounter(kFailures, kFailuresHelp);
  metrics_.AddCollector([this] { Collect(); });
}

void QueueMetrics::Collect() {
  std::lock_guard lock(mu_);
  const Instant now = clock_.Now();
  if (read_at_ && now - *read_at_ < options_.min_interval) return;
  read_at_ = now;
  auto counts = store_.Read([&](store::Tx& tx) { return tx.JobQueueCounts(now); });
  if (!counts) {
    obs::Log().Warn("reading the job queue for /metrics failed",
                    {{"error", counts.error().ToString()}});
    metrics_.GetCounter(kFailures, kFailuresHelp, {{"source", "jobs"}}).Inc();
    return;
  }
  Publish(*counts, now);
}

void QueueMetrics::Publish(const std::vector<store::JobQueueCount>& counts, Instant now) {
  std::map<std::pair<std::string, std::string>, int64_t> jobs;
  std::map<std::string, std::chrono::microseconds> oldest_due;
  for (const store::JobQueueCount& c : counts) {
    kinds_.insert(c.kind);
    jobs[{c.kind, c.state}] = c.jobs;
    if (c.state == "ready" && c.oldest_run_at) {
      oldest_due[c.kind] =
          std::max(std::chrono::microseconds(0),
                   std::chrono::duration_cast<std::chrono::microseconds>(now - *c.oldest_run_at));
    }
  }
  // Every kind ever seen, every state: a series whose jobs are gone reads 0, not its last value.
  for (const std::string& kind : kinds_) {
    for (std::string_view state : kStates) {
      auto it = jobs.find({kind, std::string(state)});
      metrics_
          .GetGauge("telemeet_jobs",
                    "Jobs in the queue by kind and state: ready (due, waiting for a worker), "
                    "scheduled (waiting out a backoff), leased (running), parked.",
                    {{"kind", kind}, {"state", std::string(state)}})
          .Set(it == jobs.end() ? 0 : it->second);
    }
    auto due = oldest_due.find(kind);
    // Whole seconds: the Gauge holds integers, and a queue's lag matters in seconds.
    metrics_
        .GetGauge("telemeet_jobs_oldest_due_seconds",
                  "How long the oldest ready job of the kind has been due, in seconds (0: none).",
                  {{"kind", kind}})
        .Set(due == oldest_due.end()
                 ? 0
                 : std::chrono::duration_cast<std::chrono::seconds>(due->second).count());
  }
  auto backlog = [&](const std::string& kind) {
    return jobs[{kind, "ready"}] + jobs[{kind, "scheduled"}] + jobs[{kind, "leased"}];
  };
  metrics_
      .GetGauge("telemeet_webhook_backlog",
                "Outbox events with a webhook delivery not yet done (deliver jobs, not parked).")
      .Set(backlog(std::string(store::kDeliverJobKind)));
  metrics_.GetGauge("telemeet_email_backlog", "Emails not yet sent (email jobs, not parked).")
      .Set(backlog("email"));
}

}  // namespace telemeet::sync
