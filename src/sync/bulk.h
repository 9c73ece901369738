// Bulk work through batch (issue 17, M20/M29): backfill (meetings for existing confirmed
// appointments), resync (repair what differs between telemeet's appointments and the doctor's
// events) and the cancel of a doctor's future meetings on disconnect. The Google calls go out in
// batch requests of up to 50 calls (google::BatchingTransport under the runner's own
// CalendarClient), each call still under the token, quota, rate-limit and retry rules.
//
// Safe beside `telemeet serve`: every change to one appointment's event is made under the lease
// of that appointment's reconcile job (Tx::LeaseJobByKey, owner "bulk:<id>:<random>"), the same
// lease the service's worker takes, so the two never write one event at once; an appointment
// whose job a live worker holds is left to that worker and looked at again in the next pass.
// Creating and patching go through the Reconciler itself (one decision, one way of recording),
// so a bulk run writes the same meeting rows, audit entries and outbox events as the service
// would. Event ids are ours (core::EventIdFor), so a repeat after a crash answers 409 and is
// adopted, never doubled.
//
// Resumable: a bulk job is a row (store::BulkJob) and a queue job "bulk:<id>"; the appointments
// are handled in id order and the last one done is saved after every chunk (the cursor), so a
// run that stops resumes after it. The service's bulk worker runs queued jobs (the API's
// disconnect with meetings=cancel) and takes over one whose holder died; `telemeet resync` and
// `telemeet backfill` run theirs in the foreground, and the same command again resumes one.
//
// Resync, what it repairs (ours = an event whose private property telemeetAppointmentUid names
// one of our appointments; other events, and another installation's, are never touched):
//   missing  the meeting says the event exists, Google has no live one: made again (a deleted
//            one is put back with its link)
//   stray    an event of ours whose appointment wants none (cancelled, not telemedicine...) or
//            that is not the appointment's event: deleted
//   moved    the event's times differ from the appointment's. Policy kFlag (the default, as the
//            calendar sync does): recorded as drift "moved", with the outbox event
//            appointment.changed_in_google, the event left as the doctor made it; kRestore: the
//            event is patched back to the appointment's times.
//
//   BulkRunner bulk(*store, batched_calendar, batching, bulk_reconciler, clock, {});
//   auto plan = bulk.Plan(job);                          // --dry-run
//   auto done = bulk.Execute(job, lease, on_progress);   // foreground
//   Worker bulk_worker(*store, bulk, clock, {.kind = "bulk", .threads = 1});  // serve
//
// Thread-safe: Run/Execute may run for different jobs at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "google/batching_transport.h"
#include "google/calendar_client.h"
#include "store/store.h"
#include "sync/reconciler.h"

namespace telemeet::sync {

inline constexpr std::string_view kBulkBackfill = "backfill";
inline constexpr std::string_view kBulkResync = "resync";
inline constexpr std::string_view kBulkDisconnectCancel = "disconnect_cancel";

enum class MovedPolicy { kFlag, kRestore };

// A job's parameters (store::BulkJob::params as canonical JSON, so the same command finds the
// job it left unfinished).
struct BulkParams {
  std::optional<Instant> from{};           // appointments starting at or after
  std::optional<Instant> to{};             // ... and before
  MovedPolicy moved = MovedPolicy::kFlag;  // resync
};
std::string FormatBulkParams(std::string_view kind, const BulkParams& params);
Result<BulkParams> ParseBulkParams(std::string_view json);

// One change a job makes (or, in a dry run, would make).
struct BulkChange {
  std::string what;            // create, recreate_missing, delete_stray, flag_moved, restore_moved,
                               // cancel_meeting
  int64_t appointment_id = 0;  // 0: an event of ours whose appointment we do not know
  std::string event_id;
  std::string detail;
};

struct BulkOptions {
  size_t chunk = 50;  // appointments per pass over the batch (= threads of one chunk)
  std::chrono::microseconds lease_for{std::chrono::seconds(15)};
  std::string owner;  // prefix of the leases' owner; empty: DefaultWorkerOwner()
  std::string actor = "bulk";
  int max_passes = 30;  // a chunk's leftovers (held by the service, conference pending)
  std::chrono::milliseconds pass_pause{200};
  // Disconnect with meetings=cancel, after the deletes: revoke the grant at Google (returns the
  // error text, "" when revoked). Unset: not revoked (tests, or no OAuth client).
  std::function<std::string(int64_t doctor_id)> revoke{};
  // After the grant is gone (the token provider forgets the doctor).
  std::function<void(int64_t doctor_id)> after_disconnect{};
  // After a job made changes (e.g. the service's worker Nudge, webhooks dispatcher).
  std::function<void()> on_changes{};
};

using BulkProgressFn = std::function<void(const store::BulkJob&)>;

class BulkRunner : public JobRunner {
 public:
  // `calendar` sends through `batching`; `reconciler` uses `calendar`. All outlive the runner.
  BulkRunner(store::Store& store, google::CalendarClient& calendar,
             google::BatchingTransport& batching, Reconciler& reconciler, const Clock& clock,
             BulkOptions options = {});

  // The service's "bulk" worker: runs the leased job "bulk:<id>" to its end.
  RunResult Run(const core::Job& job) override;

  // What the job would change now, changing nothing (reads Google for a resync).
  Result<std::vector<BulkChange>> Plan(const store::BulkJob& job);

  // Runs the job, whose queue job `lease` this caller holds, from its cursor to its end; the
  // progress is saved and reported after every chunk. The job as it ended ("done", or
  // "failed" with the reason in failures). kFailedPrecondition "lease lost" when another runner
  // took it.
  Result<store::BulkJob> Execute(store::BulkJob job, const core::Job& lease,
                                 const BulkProgressFn& progress = {});

 private:
  struct Item;
  struct Outcome;
  class LeaseKeeper;
  Result<std::vector<Item>> Targets(const store::BulkJob& job);
  // Reconciles the items under their jobs' leases, over the batch; the ones to try again.
  std::vector<Item> ReconcileChunk(const store::BulkJob& job, std::vector<Item> items,
                                   Outcome& outcome, LeaseKeeper& keeper);
  Status DeleteStrays(const store::BulkJob& job, const std::vector<Item>& items, Outcome& outcome);
  Status CancelChunk(const store::BulkJob& job, const std::vector<Item>& items,
                     std::vector<core::Job>& held, Outcome& outcome, LeaseKeeper& keeper);
  Status FinishDisconnect(const store::BulkJob& job, std::vector<core::Job>& held);
  std::string LeaseOwner(const store::BulkJob& job) const;

  store::Store& store_;
  google::CalendarClient& calendar_;
  google::BatchingTransport& batching_;
  Reconciler& reconciler_;
  const Clock& clock_;
  const BulkOptions options_;
};

// The bulk side of a process, wired: a batching transport over the process's transport, a
// Calendar client over it (the process's tokens, retry policy, rate limiter and observer
// chain), a Reconciler over that client, and the runner.
struct BulkStack {
  BulkStack(store::Store& store, google::Transport& transport, google::AccessTokenSource& tokens,
            google::RetryPolicy& retry, const Clock& clock, google::RateLimiter* limiter,
            google::CallObserver* observer, google::CalendarOptions calendar_options,
            ReconcilerOptions reconciler_options, BulkOptions options)
      : batching(transport, calendar_options.base_url),
        calls(observer),
        calendar(calendar_options,
                 google::CalendarDeps{batching, tokens, retry, clock,
                                      google::RealSleeper::Instance(), limiter, &calls}),
        reconciler(store, calendar, calls, clock, std::move(reconciler_options)),
        runner(store, calendar, batching, reconciler, clock, std::move(options)) {}

  google::BatchingTransport batching;
  CallCollector calls;
  google::CalendarClient calendar;
  Reconciler reconciler;
  BulkRunner runner;
};

// Starts a bulk job (API and CLI): the row and its queue job, in one transaction.
Result<store::BulkJob> CreateBulkJob(store::Store& store, std::string_view kind, int64_t doctor_id,
                                     const BulkParams& params, std::string_view created_by);

}  // namespace telemeet::sync
