#include "sync/janitor.h"

#include <string>

#include "obs/log.h"

namespace telemeet::sync {

Janitor::Janitor(store::Store& store, Clock& clock, JanitorOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      loop_(
          [this] {
            auto counts = RunOnce();
            if (!counts) {
              obs::Log().Warn("retention purge failed; the next run tries again",
                              {{"error", counts.error().ToString()}});
            }
            return false;  // one purge per interval: a backlog is worked off in that pass
          },
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.interval)) {
  if (options_.metrics != nullptr) {
    // Every table's series exists from the start, so a dashboard sees zeros, not gaps.
    for (const auto& [table, name] : store::kRetentionTables) {
      options_.metrics->GetCounter("telemeet_retention_deleted_total",
                                   "Rows deleted by retention, by table",
                                   {{"table", std::string(name)}});
    }
  }
}

Janitor::~Janitor() { Stop(); }

Result<store::PurgeCounts> Janitor::RunOnce() {
  store::PurgeOptions purge;
  purge.batch = options_.batch;
  purge.should_stop = [this] { return stopping_.load(); };
  auto counts = store::Purge(store_, options_.policy, clock_.Now(), purge);
  if (options_.metrics != nullptr) {
    options_.metrics
        ->GetCounter("telemeet_retention_runs_total", "Retention purges by outcome",
                     {{"outcome", counts ? "ok" : "error"}})
        .Inc();
  }
  if (!counts) return counts;
  int64_t total = 0;
  for (const store::PurgeCount& c : *counts) {
    total += c.rows;
    if (options_.metrics != nullptr && c.rows > 0) {
      options_.metrics
          ->GetCounter("telemeet_retention_deleted_total", "Rows deleted by retention, by table",
                       {{"table", std::string(c.table)}})
          .Inc(static_cast<uint64_t>(c.rows));
    }
  }
  if (total > 0) obs::Log().Info("retention purge", {{"deleted", total}});
  return counts;
}

void Janitor::Start() {
  stopping_ = false;
  loop_.Start();
}

void Janitor::Stop() {
  stopping_ = true;
  loop_.Stop();
}

}  // namespace telemeet::sync
