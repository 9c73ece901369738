// The worker pool (DESIGN.md "The heart", M27): leases due reconcile jobs from the store in
// small batches and runs them on N threads through the Reconciler, so many Google calls are in
// flight at once (the Calendar client blocks its thread; the rate limiter it holds paces them).
// One dispatcher thread owns the queue side: it leases as many jobs as there are idle runners
// and some more (LeaseAhead: so a runner seldom waits for a lease), in a transaction in which the
// runner prepares them (JobRunner::Prepare: the reconciler reads their snapshots and records
// their insert intents there), renews the leases of jobs held longer than a third of their lease,
// and when nothing is due sleeps until the next job falls due (Tx::NextDueAt in a read
// transaction), at most the poll interval, woken early by Nudge() or a runner finishing; an idle
// worker makes no write transactions. Runners hand their results to committer threads
// (JobRunner::Begin) and take their next job while the result waits for its commit; a committer
// commits every result waiting at once (JobRunner::FinishAll).
// On Stop() it gives back the jobs it leased but did not start. Any number of workers, in one
// process or many sharing one PostgreSQL, split the work: a job is leased by one owner at a time
// (SKIP LOCKED).
//
//   Worker worker(*store, reconciler, clock, WorkerOptions{.threads = 16});
//   worker.Start();
//   ... the API changes an appointment ... worker.Nudge();
//   worker.Stop();   // waits for running jobs; unstarted ones are released
//
// Thread-safe: Nudge and the counters may be called from any thread; Start/Stop from one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "core/types.h"
#include "obs/metrics.h"
#include "store/store.h"
#include "sync/reconciler.h"

namespace telemeet::sync {

struct WorkerOptions {
  // The job kind this worker leases and runs.
  std::string kind = std::string(store::kReconcileJobKind);
  int threads = 16;
  // Threads that commit the runs' results (JobRunner::Begin/FinishAll), so a runner starts its
  // next job while its last result waits for its commit, and the runners' Google calls are not
  // held up by the store's commit latency (issue 19). Each takes every result waiting, up to
  // `commit_batch`, and commits them together (the Reconciler in a few multi-row statements).
  // -1: 2 for a runner that commits in Finish (the Reconciler), else 0; 0: each runner commits
  // its own results.
  int commit_threads = -1;
  // The most results one committer takes at once. A runner with a result waits while
  // commit_threads * commit_batch results wait for or make their commit.
  int commit_batch = 64;
  // Jobs leased ahead of the runners, so one that finishes starts its next job at once instead
  // of waiting for a lease transaction (a commit) of its own: at most `prefetch` (0: lease only
  // for idle runners; -1: eight per thread), and no more than the runners get through in
  // `prefetch_for`, as the last runs' durations say (LeaseAhead). A job held ahead waits for
  // the runs before it, and a bulk run gives up on an appointment whose job stays held 6 s:
  // with Google at 0.75 s a call, four a thread waited 3 s. (Jobs leased while Google was fast
  // still wait when it slows down all at once; only the next leases shrink.) When Google
  // answers at once, the time allows the whole count, and the bigger leases and commits took
  // bench/reconcile on SQLite from 0.44 to 0.49 of the raw rate (medians of seven A/B pairs
  // against four a thread; a job's CPU from 2.00 to 1.85 times an insert's).
  int prefetch = -1;
  // 0: the count alone bounds the prefetch.
  std::chrono::milliseconds prefetch_for{250};
  // At most this many jobs per lease call; -1: threads + prefetch, at most 128 (a lease's
  // transaction reads and writes each one's rows). The dispatcher waits for each lease's commit,
  // so with many jobs due the lease size bounds the rate (issue 19: 8 a lease held the
  // reconciler to about 1,800 jobs/s on SQLite's commit latency here).
  int batch = -1;
  // Renewed every third of it while the job is held, so a live worker never loses a job while
  // a dead one's jobs go to the living within about this long (PostgreSQL; with SQLite a
  // restarted serve takes them back at once, serve_lock.h). The reconciler's intent record
  // extends a lease by its own lease_for: keep the two equal.
  std::chrono::microseconds lease_for{std::chrono::seconds(15)};
  // The longest an idle worker sleeps before reading when the next job is due again (a read
  // transaction): the reaction time to work other processes add without a Nudge. Backoffs and
  // expired leases it already knows of wake it when they fall due.
  std::chrono::milliseconds poll_interval{500};
  std::string owner;  // empty: "<host>:<pid>:<random>"
  // Optional: telemeet_reconcile_runs_total{action, disposition} and
  // telemeet_reconcile_busy_workers (give it to the reconcile worker only).
  obs::Registry* metrics = nullptr;
};

// "<host>:<pid>:<8 random hex>", unique per worker instance.
std::string DefaultWorkerOwner();

// How many jobs a worker of `threads` runners holds leased ahead of them: `prefetch`, and when
// `prefetch_for` is positive no more than the runners end in that long by `mean_run` (how long
// a job takes a runner), rounded down: none when a run lasts longer (a lease for an idle runner
// is then cheap beside the run), one per thread while no run has ended (`mean_run` zero).
int LeaseAhead(int prefetch, std::chrono::microseconds prefetch_for, int threads,
               std::chrono::microseconds mean_run);

class Worker {
 public:
  // `runner` runs the leased jobs of options.kind (a Reconciler for "reconcile").
  Worker(store::Store& store, JobRunner& runner, const Clock& clock, WorkerOptions options = {});
  ~Worker();  // Stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Stops leasing, waits for the running jobs to finish, releases leased-but-unstarted jobs.
  void Stop();
  // New work may be due: look now instead of at the next poll.
  void Nudge();

  const std::string& owner() const { return options_.owner; }
  int64_t runs() const { return runs_.load(); }
  // Lease (and next-due) reads that failed (store unreachable); logged once per 100.
  int64_t lease_errors() const { return lease_errors_.load(); }
  // Times the dispatcher went to sleep (for tests: an idle worker keeps polling).
  int64_t idle_waits() const { return idle_waits_.load(); }

 private:
  struct Held {
    core::Job job;
    Instant leased_at;
    bool started = false;
    std::unique_ptr<PreparedJob> prepared;  // the runner's work from the lease transaction
  };
  struct Leased {
    std::vector<core::Job> jobs;
    std::vector<std::unique_ptr<PreparedJob>> prepared;  // empty, or one per job
  };

  // With mu_ held: how many more jobs to hold (runners idle, plus LeaseAhead, less the queue).
  int Room() const;
  void DispatchLoop();
  // How long until the next reconcile job is due (read transaction): nullopt when none is
  // ready; zero or less when one is due now; the poll interval when the store could not say.
  std::optional<std::chrono::microseconds> UntilNextDue();
  void RunnerLoop();
  void CommitLoop();
  // A run has ended (committed or not): the counters, then with mu_ held, the job let go.
  void Count(const RunResult& result);
  void Finished(int64_t id);
  // With mu_ held released: lease up to `n` jobs, and let the runner prepare them in the same
  // transaction (JobRunner::Prepare).
  Leased Lease(int n);
  void RenewLeases();
  void ReleaseUnstarted();

  store::Store& store_;
  JobRunner& runner_;
  const Clock& clock_;
  WorkerOptions options_;

  std::mutex mu_;
  std::condition_variable dispatch_cv_;  // runner finished, nudge, stop
  std::condition_variable runner_cv_;    // queue has work, stop
  bool running_ = false;                 // guarded by mu_
  bool nudged_ = false;                  // guarded by mu_
  std::deque<int64_t> queue_;            // job ids leased, not started; guarded by mu_
  std::map<int64_t, Held> held_;         // every job we hold; guarded by mu_
  int busy_ = 0;                         // runners running a job; guarded by mu_
  // How long a runner is taken by a job, from taking it to being free for the next (its
  // Google call, and the wait for room among the results to commit): a moving mean that follows
  // a longer run at once (half way) and a shorter one slowly (a sixteenth), so a Google that
  // slows down is seen within a few runs; zero until a run has ended. Guarded by mu_.
  double mean_run_us_ = 0;
  struct Commit {
    int64_t id;
    std::unique_ptr<JobRunner::Pending> pending;
  };
  std::condition_variable commit_cv_;  // a result to commit, or committers to stop
  std::condition_variable room_cv_;    // a commit finished (room for another result)
  std::deque<Commit> commits_;         // results waiting for a committer; guarded by mu_
  int committing_ = 0;                 // results being committed; guarded by mu_
  bool committers_running_ = false;    // guarded by mu_
  std::vector<std::thread> committers_;

  std::thread dispatcher_;
  std::vector<std::thread> runners_;
  std::atomic<int64_t> runs_{0};
  std::atomic<int64_t> lease_errors_{0};
  std::atomic<int64_t> idle_waits_{0};
};

}  // namespace telemeet::sync
