#include "sync/worker.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "obs/log.h"

namespace telemeet::sync {

std::string DefaultWorkerOwner() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return fmt::format("{}:{}:{}", host[0] ? host : "host", getpid(),
                     crypto::HexEncode(crypto::RandomBytes(4)));
}

Worker::Worker(store::Store& store, JobRunner& runner, const Clock& clock, WorkerOptions options)
    : store_(store), runner_(runner), clock_(clock), options_(std::move(options)) {
  if (options_.owner.empty()) options_.owner = DefaultWorkerOwner();
  options_.threads = std::max(1, options_.threads);
  if (options_.prefetch < 0) options_.prefetch = 8 * options_.threads;
  if (options_.batch < 0) options_.batch = std::min(options_.threads + options_.prefetch, 128);
  options_.batch = std::max(1, options_.batch);
  if (options_.commit_threads < 0) options_.commit_threads = runner_.CommitsInFinish() ? 2 : 0;
  options_.commit_batch = std::max(1, options_.commit_batch);
}

int LeaseAhead(int prefetch, std::chrono::microseconds prefetch_for, int threads,
               std::chrono::microseconds mean_run) {
  prefetch = std::max(0, prefetch);
  if (prefetch == 0 || prefetch_for <= std::chrono::microseconds::zero()) return prefetch;
  if (mean_run <= std::chrono::microseconds::zero()) return std::min(prefetch, threads);
  // The runners end about threads / mean run jobs a second between them.
  const double fit = static_cast<double>(prefetch_for.count()) * std::max(1, threads) /
                     static_cast<double>(mean_run.count());
  return fit >= prefetch ? prefetch : static_cast<int>(fit);
}

int Worker::Room() const {
  const auto mean_run = std::chrono::microseconds(
      mean_run_us_ > 0 ? std::max<int64_t>(1, static_cast<int64_t>(mean_run_us_)) : 0);
  const int ahead =
      LeaseAhead(options_.prefetch, options_.prefetch_for, options_.threads, mean_run);
  return options_.threads + ahead - busy_ - static_cast<int>(queue_.size());
}

Worker::~Worker() { Stop(); }

void Worker::Start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  nudged_ = true;
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  runners_.reserve(static_cast<size_t>(options_.threads));
  for (int i = 0; i < options_.threads; ++i) runners_.emplace_back([this] { RunnerLoop(); });
  committers_running_ = true;
  for (int i = 0; i < options_.commit_threads; ++i) {
    committers_.emplace_back([this] { CommitLoop(); });
  }
}

void Worker::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  dispatch_cv_.notify_all();
  runner_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  for (std::thread& t : runners_) t.join();
  runners_.clear();
  // The runners are done: commit what they left, then stop the committers.
  {
    std::lock_guard lock(mu_);
    committers_running_ = false;
  }
  commit_cv_.notify_all();
  for (std::thread& t : committers_) t.join();
  committers_.clear();
  ReleaseUnstarted();
}

void Worker::Nudge() {
  {
    std::lock_guard lock(mu_);
    nudged_ = true;
  }
  dispatch_cv_.notify_one();
}

Worker::Leased Worker::Lease(int n) {
  store::LeaseRequest request;
  request.owner = options_.owner;
  request.max = n;
  request.lease_for = options_.lease_for;
  request.now = clock_.Now();
  request.kind = options_.kind;
  Leased out;
  bool prepare = true;
  bool prepare_failed = false;
  auto lease = [&](store::Tx& tx) -> Status {
    // The function may run again (a shared commit that failed): start afresh each time.
    out = Leased{};
    out.jobs = TM_TRY(tx.LeaseJobs(request));
    if (!prepare || out.jobs.empty()) return Ok();
    auto prepared = runner_.Prepare(tx, out.jobs);
    if (!prepared) {
      prepare_failed = true;
      return std::unexpected(prepared.error());
    }
    if (prepared->size() == out.jobs.size()) out.prepared = std::move(*prepared);
    return Ok();
  };
  Status s = store_.Transact(lease);
  if (!s && prepare_failed) {
    // The lease is fine; the runner's preparation is not (a row it cannot write, say): lease
    // again without it, and let each job's run meet its own error.
    obs::Log().Warn("preparing leased jobs failed",
                    {{"kind", options_.kind}, {"error", s.error().ToString()}});
    prepare = false;
    s = store_.Transact(lease);
  }
  if (!s) {
    // The store is down or locked: say so once per streak, then every 100th time.
    int64_t streak = lease_errors_.fetch_add(1);
    if (streak % 100 == 0) {
      obs::Log().Warn(
          "leasing jobs failed",
          {{"kind", options_.kind}, {"error", s.error().ToString()}, {"failures", streak + 1}});
    }
    return {};
  }
  return out;
}

void Worker::RenewLeases() {
  const Instant now = clock_.Now();
  std::vector<core::Job> due;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, held] : held_) {
      if (held.leased_at + options_.lease_for / 3 <= now) due.push_back(held.job);
    }
  }
  for (const core::Job& job : due) {
    Instant until = now + options_.lease_for;
    Status s = store_.Transact([&](store::Tx& tx) { return tx.ExtendLease(job, until); });
    std::lock_guard lock(mu_);
    auto it = held_.find(job.id);
    if (it == held_.end()) continue;  // finished meanwhile
    if (s) {
      it->second.leased_at = now;
    } else if (!it->second.started) {
      // Lost before it started (another worker took it over): forget it.
      queue_.erase(std::remove(queue_.begin(), queue_.end(), job.id), queue_.end());
      held_.erase(it);
    }
  }
}

std::optional<std::chrono::microseconds> Worker::UntilNextDue() {
  auto next = store_.Read([&](store::Tx& tx) { return tx.NextDueAt(options_.kind); });
  if (!next) {
    int64_t streak = lease_errors_.fetch_add(1);
    if (streak % 100 == 0) {
      obs::Log().Warn(
          "reading the next due job failed",
          {{"kind", options_.kind}, {"error", next.error().ToString()}, {"failures", streak + 1}});
    }
    return std::chrono::microseconds(options_.poll_interval);  // unknown: lease after a poll
  }
  if (!next->has_value()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::microseconds>(**next - clock_.Now());
}

void Worker::DispatchLoop() {
  std::unique_lock lock(mu_);
  // Leasing is a write transaction; it runs only when a job is known to be due (a nudge, a
  // runner finishing, or NextDueAt in a read transaction says so). An idle worker reads.
  bool lease_now = true;
  while (running_) {
    const bool nudged = nudged_;
    nudged_ = false;
    const int free = Room();
    bool leased = false;
    bool maybe_more = false;
    if (free > 0 && (lease_now || nudged)) {
      const int want = std::min(free, options_.batch);
      lock.unlock();
      Leased leased_now = Lease(want);
      std::vector<core::Job>& jobs = leased_now.jobs;
      const Instant now = clock_.Now();
      lock.lock();
      for (size_t i = 0; i < jobs.size(); ++i) {
        int64_t id = jobs[i].id;
        std::unique_ptr<PreparedJob> prepared;
        if (i < leased_now.prepared.size()) prepared = std::move(leased_now.prepared[i]);
        held_[id] = Held{std::move(jobs[i]), now, false, std::move(prepared)};
        queue_.push_back(id);
      }
      if (!jobs.empty()) runner_cv_.notify_all();
      leased = true;
      maybe_more = static_cast<int>(jobs.size()) == want;
    }
    lease_now = false;
    lock.unlock();
    RenewLeases();
    lock.lock();
    if (!running_) break;
    const bool room = Room() > 0;
    if (maybe_more && room) {
      lease_now = true;
      continue;
    }
    // Sleep until the next job falls due (bounded by the poll interval, so work added by other
    // processes is seen), a nudge, or a runner freeing up; renew leases at least every quarter
    // lease.
    auto wait = std::min<std::chrono::microseconds>(options_.poll_interval, options_.lease_for / 4);
    if (room && !nudged_) {
      lock.unlock();
      std::optional<std::chrono::microseconds> until = UntilNextDue();
      lock.lock();
      if (!running_) break;
      if (until && *until <= std::chrono::microseconds::zero()) {
        if (!leased) {
          lease_now = true;
          continue;
        }
        // Due, yet the lease we just made did not get it (another instance is taking it right
        // now): look again shortly rather than spin.
        wait = std::min<std::chrono::microseconds>(wait, std::chrono::milliseconds(20));
        lease_now = true;
      } else if (until) {
        wait = std::min(wait, *until);
        lease_now = *until <= wait;
      }
    }
    idle_waits_.fetch_add(1);
    dispatch_cv_.wait_for(lock, wait, [&] { return !running_ || nudged_; });
  }
}

void Worker::RunnerLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    runner_cv_.wait(lock, [&] { return !running_ || !queue_.empty(); });
    if (!running_) return;  // unstarted jobs are released by Stop
    int64_t id = queue_.front();
    queue_.pop_front();
    auto it = held_.find(id);
    if (it == held_.end()) continue;
    it->second.started = true;
    core::Job job = it->second.job;
    std::unique_ptr<PreparedJob> prepared = std::move(it->second.prepared);
    const int busy_now = ++busy_;
    const auto taken_at = std::chrono::steady_clock::now();
    // With mu_ held: the runner is free again; the run's length joins the mean.
    auto ran = [&] {
      const double us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - taken_at)
              .count();
      if (mean_run_us_ <= 0) {
        mean_run_us_ = us;
      } else {
        mean_run_us_ += (us - mean_run_us_) / (us > mean_run_us_ ? 2 : 16);
      }
    };
    lock.unlock();
    if (options_.metrics != nullptr) {
      options_.metrics
          ->GetGauge("telemeet_reconcile_busy_workers", "Worker threads running a reconcile job.")
          .Set(busy_now);
    }
    if (options_.commit_threads == 0) {
      RunResult result =
          prepared ? runner_.RunPrepared(job, std::move(prepared)) : runner_.Run(job);
      Count(result);
      lock.lock();
      --busy_;
      ran();
      Finished(id);
      continue;
    }
    std::unique_ptr<JobRunner::Pending> pending = runner_.Begin(job, std::move(prepared));
    lock.lock();
    --busy_;
    // Free for the next job once the result is handed over (a runner that is free may make
    // the dispatcher lease); wait while every committer has work.
    nudged_ = true;
    dispatch_cv_.notify_one();
    room_cv_.wait(lock, [&] {
      return static_cast<int>(commits_.size()) + committing_ <
             options_.commit_threads * options_.commit_batch;
    });
    commits_.push_back(Commit{id, std::move(pending)});
    commit_cv_.notify_one();
    ran();
  }
}

void Worker::CommitLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    commit_cv_.wait(lock, [&] { return !committers_running_ || !commits_.empty(); });
    if (commits_.empty()) return;  // stopping, and nothing is left to commit
    std::vector<int64_t> ids;
    std::vector<std::unique_ptr<JobRunner::Pending>> pending;
    while (!commits_.empty() && static_cast<int>(ids.size()) < options_.commit_batch) {
      ids.push_back(commits_.front().id);
      pending.push_back(std::move(commits_.front().pending));
      commits_.pop_front();
    }
    const int taken = static_cast<int>(ids.size());
    committing_ += taken;
    lock.unlock();
    for (const RunResult& result : runner_.FinishAll(pending)) Count(result);
    pending.clear();
    lock.lock();
    committing_ -= taken;
    room_cv_.notify_all();
    for (int64_t id : ids) Finished(id);
  }
}

void Worker::Count(const RunResult& result) {
  runs_.fetch_add(1);
  if (options_.metrics != nullptr) {
    options_.metrics
        ->GetCounter("telemeet_reconcile_runs_total", "Reconcile jobs run, by outcome.",
                     {{"action", std::string(core::Name(result.action))},
                      {"disposition", std::string(Name(result.disposition))}})
        .Inc();
  }
}

void Worker::Finished(int64_t id) {
  held_.erase(id);
  nudged_ = true;  // the job may be due again at once (rerun); and a runner is free
  dispatch_cv_.notify_one();
}

void Worker::ReleaseUnstarted() {
  std::vector<core::Job> unstarted;
  {
    std::lock_guard lock(mu_);
    for (int64_t id : queue_) {
      auto it = held_.find(id);
      if (it != held_.end()) unstarted.push_back(it->second.job);
    }
    queue_.clear();
    held_.clear();
  }
  for (const core::Job& job : unstarted) {
    Status s = store_.Transact([&](store::Tx& tx) { return tx.ReleaseJob(job); });
    if (!s) {
      obs::Log().Warn("releasing a job failed",
                      {{"job", job.key}, {"error", s.error().ToString()}});
    }
  }
}

}  // namespace telemeet::sync
