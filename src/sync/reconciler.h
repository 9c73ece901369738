// The reconciler (DESIGN.md "The heart"): runs one "reconcile appointment X" job. It reads the
// desired state (appointment, service, doctor, grant) and what exists (the meeting) in one read,
// asks core::NextAction for the one Google call that closes the gap, makes it, and records the
// result in ONE write transaction that also checks the job's lease: the meeting row, the audit
// trail (every Google call and every state change), outbox events for webhooks and email, and
// the job's fate (done, retry with backoff, re-poll soon, parked until the doctor reconnects).
// A crash anywhere is repaired by running the job again: our event id makes a repeated insert
// answer 409 and the event is adopted, never duplicated. Before the first insert the meeting is
// recorded as "creating" (an intent, written after checking the lease), so an event made by a
// run that died before its commit is still known to exist and is deleted if the appointment is
// cancelled meanwhile.
//
//   CallCollector calls;
//   google::CalendarClient calendar(options, {..., .observer = &calls});
//   Reconciler reconciler(*store, calendar, calls, clock, ReconcilerOptions{});
//   RunResult r = reconciler.Run(leased_job);   // r.state, r.disposition
//
// Thread-safe: Run may be called from many threads at once, for different jobs.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "core/attendance.h"
#include "core/meeting.h"
#include "core/types.h"
#include "google/calendar_client.h"
#include "google/event.h"
#include "store/store.h"
#include "sync/call_collector.h"

namespace telemeet::sync {

// Outbox topics the reconciler writes.
inline constexpr std::string_view kMeetingReady = "meeting.ready";
inline constexpr std::string_view kMeetingUpdated = "meeting.updated";
inline constexpr std::string_view kMeetingFailed = "meeting.failed";
inline constexpr std::string_view kMeetingCancelled = "meeting.cancelled";

// A change made to our event in Google Calendar by hand (see calendar_sync.h).
inline constexpr std::string_view kAppointmentChangedInGoogle = "appointment.changed_in_google";
inline constexpr std::string_view kDriftMoved = "moved";
inline constexpr std::string_view kDriftDeleted = "deleted";

// extendedProperties.private keys on our events.
inline constexpr std::string_view kAppointmentIdProperty = "telemeetAppointmentId";
inline constexpr std::string_view kAppointmentUidProperty = "telemeetAppointmentUid";
// ... and on a single-event series' recurring event (M15).
inline constexpr std::string_view kSeriesIdProperty = "telemeetSeriesId";
inline constexpr std::string_view kSeriesUidProperty = "telemeetSeriesUid";

// How a cancelled appointment's event ends (M12): deleted, or patched to status "cancelled".
enum class CancelMode { kDelete, kMarkCancelled };

// The admin's meeting policy (M1/M8/M12/M14), saved by the API in the settings table. The
// reconciler reads these keys in the same read transaction as the appointment, so a change
// applies to the next run of every job (no cache: one small indexed query per run); an absent
// or unknown value falls back to ReconcilerOptions.
inline constexpr std::string_view kSettingPrefix = "meeting.";
inline constexpr std::string_view kSettingCreateOn = "meeting.create_on";  // booking|confirmation
inline constexpr std::string_view kSettingSendUpdates =
    "meeting.send_updates";  // all|externalOnly|none
inline constexpr std::string_view kSettingCancelMode =
    "meeting.cancel_mode";  // delete|mark_cancelled
inline constexpr std::string_view kSettingInvitePatient = "meeting.invite_patient";  // true|false
inline constexpr std::string_view kSettingEventReminders =
    "meeting.event_reminders";  // default | "popup:10,email:60" (core::ParseEventReminders)

struct MeetingSettings {
  core::MeetingPolicy policy{};
  google::SendUpdates send_updates = google::SendUpdates::kNone;
  CancelMode cancel_mode = CancelMode::kDelete;
};
// `defaults` overridden by the meeting.* settings that are present and valid.
MeetingSettings SettingsFrom(const std::vector<std::pair<std::string, std::string>>& settings,
                             MeetingSettings defaults);

struct ReconcilerOptions {
  // Defaults of the admin settings above: policy.invite_patient adds the patient (when they
  // have an email) as an attendee; policy.reminders are the event's own reminders.
  core::MeetingPolicy policy{};
  // sendUpdates on every call (M14): none by default, so the clinic controls messaging.
  google::SendUpdates send_updates = google::SendUpdates::kNone;
  CancelMode cancel_mode = CancelMode::kDelete;
  // Conference attempts (requestIds) per start, automatic ones included: a failed conference is
  // retried with a new requestId until the attempt number is a multiple of this, then the
  // meeting is failed until an admin retry (which starts the next round).
  int conference_attempts = 2;
  // Re-reading a pending conference: base * 2^n, capped. Not counted as failures. Meet
  // conferences are usually ready within a second, so the first re-read comes soon (issue 19:
  // 250 ms, 0.5 s, 1 s, ... 30 s); each read is one Google call through the same rate limiter
  // and retry policy as any other, and the early ones add two calls in all to a long wait.
  std::chrono::microseconds poll_base{std::chrono::milliseconds(250)};
  std::chrono::microseconds poll_max{std::chrono::seconds(30)};
  // Transient failures: store::BackoffAfter with these bounds; retried forever, visibly.
  std::chrono::microseconds retry_base{std::chrono::seconds(1)};
  std::chrono::microseconds retry_max{std::chrono::minutes(5)};
  // The worker's lease length: a write that checks the lease before a Google call (the
  // insert's intent record) extends it to now + lease_for.
  std::chrono::microseconds lease_for{std::chrono::seconds(15)};  // = WorkerOptions::lease_for
  // Who the audit trail names ("worker:<host>").
  std::string actor = "worker";
  // Called after a run committed outbox events (meeting.ready, ...), so their deliveries go out
  // now rather than at the dispatchers' next poll (e.g. the webhook dispatcher's Nudge). Called
  // from the threads running Run, so it must be thread-safe.
  std::function<void()> on_outbox;
  // A meeting that becomes ready or moves makes its "meet" job due (sync/attendance.h: access
  // type and attendance), for the MeetWork worker serve runs beside this one, while the Meet
  // policy asks for either: these defaults under the settings attendance.* and
  // meeting.access_type, read in that commit (sync::MeetWorkWanted). nullopt: never (no
  // MeetWork runs).
  std::optional<core::MeetPolicy> meet_work;
};

// What became of the job.
enum class Disposition {
  kCompleted,   // in step (or waiting for a person); the job is done
  kRepoll,      // the conference is pending: due again soon, not a failure
  kRetry,       // a transient failure: attempts + 1, due after a backoff
  kParked,      // the doctor's grant is dead: parked until reconnect
  kLeaseLost,   // another worker owns the job now: nothing was written
  kStoreError,  // the store failed; the lease runs out and the job runs again
};
std::string_view Name(Disposition d);

struct RunResult {
  Disposition disposition = Disposition::kCompleted;
  core::Action action = core::Action::kNothing;
  core::MeetingState state = core::MeetingState::kNotNeeded;  // the meeting's state now
  std::string error{};                                        // the failure, when there was one
};

// What a runner worked out for one job inside the transaction that leased it (JobRunner::Prepare),
// handed back to it with the job (JobRunner::RunPrepared).
class PreparedJob {
 public:
  virtual ~PreparedJob() = default;
};

// Runs one leased job of a worker's kind to its end (the worker leases, the runner records the
// job's fate through the store, checking the lease). Thread-safe implementations only.
class JobRunner {
 public:
  virtual ~JobRunner() = default;
  virtual RunResult Run(const core::Job& job) = 0;
  // Optional: store work for jobs being leased, done in the worker's lease transaction so that
  // the jobs of one lease share it (and its commit) instead of each making its own. Returns one
  // entry per job, in order (nullptr: nothing prepared, Run does it all), or nothing at all. An
  // error fails the lease transaction; the worker then leases again without preparing.
  virtual Result<std::vector<std::unique_ptr<PreparedJob>>> Prepare(
      store::Tx& /*tx*/, std::span<const core::Job> /*jobs*/) {
    return std::vector<std::unique_ptr<PreparedJob>>{};
  }
  // Runs a job with what Prepare made for it (never nullptr), in a later transaction.
  virtual RunResult RunPrepared(const core::Job& job, std::unique_ptr<PreparedJob> /*prepared*/) {
    return Run(job);
  }

  // A run whose result is still to be committed (Begin).
  class Pending {
   public:
    virtual ~Pending() = default;
    // Commits the run's result (checking the lease) and says what became of the job.
    virtual RunResult Finish() = 0;
  };
  // A run in two steps, for a worker that commits results apart from its runners (issue 19):
  // Begin does the job's work up to the commit of its result (the Google calls), Finish makes
  // that commit, possibly on another thread, so the runner starts its next job meanwhile.
  // `prepared` may be nullptr. The default does the whole run in Begin.
  virtual std::unique_ptr<Pending> Begin(const core::Job& job,
                                         std::unique_ptr<PreparedJob> prepared);
  // Whether Begin leaves the result's commit to Finish (worth a commit stage in the worker).
  virtual bool CommitsInFinish() const { return false; }
  // Finish for many runs at once, one result per run in order: a runner may commit them
  // together, in fewer statements than one commit each. The default finishes each alone.
  virtual std::vector<RunResult> FinishAll(std::span<const std::unique_ptr<Pending>> pending);
};

class Reconciler : public JobRunner {
 public:
  // All references must outlive the reconciler. `calls` must be the observer `calendar`
  // reports to.
  Reconciler(store::Store& store, google::CalendarClient& calendar, CallCollector& calls,
             const Clock& clock, ReconcilerOptions options = {});

  // Runs one leased reconcile job to its end (see the top of the file).
  RunResult Run(const core::Job& job) override;
  // In the worker's lease transaction (issue 19): reads the snapshots of the leased jobs in one
  // statement, with the settings once, and for every job whose next action is an insert into a
  // meeting that cannot have an event yet, records the insert's intent ("creating") there, with
  // the lease just taken (so the intent is committed, under the lease, before any insert, as
  // RecordIntent does). RunPrepared then skips its own read and intent write; the result's
  // commit still checks the lease and the meeting as before. A series' occurrence, a job
  // without an appointment, or a meeting found changed under the intent is left unprepared.
  Result<std::vector<std::unique_ptr<PreparedJob>>> Prepare(
      store::Tx& tx, std::span<const core::Job> jobs) override;
  RunResult RunPrepared(const core::Job& job, std::unique_ptr<PreparedJob> prepared) override;
  // Run up to the result's commit (its Google call made); Finish commits as Run does.
  std::unique_ptr<Pending> Begin(const core::Job& job,
                                 std::unique_ptr<PreparedJob> prepared) override;
  bool CommitsInFinish() const override { return true; }
  // The results that end as most runs do (the job done, the meeting moved one step over the row
  // the run saw) are committed in one transaction of a few multi-row statements (issue 19): the
  // jobs (each checking its lease), the meetings (each over the row as its run saw it), the
  // audit entries, the outbox events with their deliveries. Each run's outcome is as its own
  // Finish would have it: a lost lease writes nothing, a meeting changed meanwhile gets only its
  // calls' audit. The others, and all of them if the shared transaction fails, Finish alone.
  std::vector<RunResult> FinishAll(std::span<const std::unique_ptr<Pending>> pending) override;

  const ReconcilerOptions& options() const { return options_; }

 private:
  struct Snapshot;
  struct Plan;
  struct PreparedRun;
  class PendingCommit;

  Result<Snapshot> ReadSnapshot(int64_t appointment_id);
  // The snapshot of `view` as read with `settings` (a series' occurrence needs ReadSnapshot's
  // extra reads too).
  Snapshot SnapshotFrom(store::ReconcileView view, const MeetingSettings& settings) const;
  Result<MeetingSettings> SettingsOf(store::Tx& tx) const;
  // Fills snap.doctor_key and snap.desired and decides the next action.
  core::Decision Decide(Snapshot& snap) const;
  // The "creating" intent over snap.meeting, and its audit entry.
  core::Meeting IntentFor(const Snapshot& snap) const;
  core::AuditEntry IntentAudit(const Snapshot& snap, const core::Meeting& intent) const;
  // Run's read: the snapshot, or the run's end when there is nothing to reconcile (the job is
  // finished) or the store failed.
  std::expected<Snapshot, RunResult> Load(const core::Job& job);
  // Run's work from the snapshot on, up to the result's commit.
  std::unique_ptr<Pending> Start(const core::Job& job, Snapshot snap);
  // The commit of a run's result and what follows from it.
  RunResult Finish(const core::Job& job, const Snapshot& snap, Plan& plan,
                   std::vector<google::CallRecord> calls);
  // Before an insert for a meeting that cannot have an event yet: record "creating" (checking
  // the lease), so a crash after Google made the event still leaves a row saying it may exist.
  Status RecordIntent(const core::Job& job, Snapshot& snap);
  // Makes the Google call(s) for the decision and fills the plan.
  void Act(const Snapshot& snap, const core::Decision& decision, Plan& plan);
  void ActInsert(const Snapshot& snap, Plan& plan);
  void ActPoll(const Snapshot& snap, Plan& plan);
  void ActPatch(const Snapshot& snap, Plan& plan);
  void ActPatchGuests(const Snapshot& snap, Plan& plan);
  void ActDelete(const Snapshot& snap, Plan& plan);
  // Records what Google holds; retries a failed conference by policy.
  void ApplyEvent(const Snapshot& snap, google::Event event, Plan& plan);
  void ApplyError(const Snapshot& snap, const google::GoogleError& error, Plan& plan);
  Result<google::EventSpec> SpecFor(const Snapshot& snap, int32_t conference_attempt) const;
  // Single-event series (M15): an occurrence's meeting is its instance of the series' one
  // recurring event. Every occurrence's job may insert that event (our id for the series: a
  // second insert answers 409 and is adopted), reads the series' conference from it, and
  // patches or deletes its own instance, so the link never changes and the reconciler's
  // guarantees hold per occurrence.
  core::Decision SeriesDecision(Snapshot& snap) const;
  Result<google::EventSpec> SeriesSpecFor(const Snapshot& snap, int32_t conference_attempt) const;
  google::Event AsInstance(const Snapshot& snap, google::Event series_event) const;
  // Makes the cancelled occurrences whose instance is not known deleted due, marked as maybe
  // having one (in the Commit of an insert that found the series' event).
  Status RevisitCancelledOccurrences(store::Tx& tx, const Snapshot& snap,
                                     const core::Meeting& ours);
  Status Commit(const core::Job& job, const Snapshot& snap, Plan& plan,
                std::vector<google::CallRecord> calls);
  // What a run's result says once its commit succeeds, as its plan has it.
  static RunResult PlannedResult(const Plan& plan);
  // Whether a run's result may share FinishAll's transaction.
  static bool Batchable(const Snapshot& snap, const Plan& plan);
  // FinishAll's transaction: per run, whether its job was still held (and its result written).
  Result<std::vector<bool>> CommitMany(std::span<PendingCommit* const> runs);
  // The pieces of a result's commit, shared by Commit and CommitMany: the outbox topics, the
  // audit entries (each Google call; the state change), the outbox events, and the Meet work a
  // meeting that became ready makes due.
  static std::vector<std::string_view> TopicsOf(const Snapshot& snap, const Plan& plan);
  core::AuditEntry AuditOf(int64_t appointment_id, std::string action, std::string detail) const;
  std::vector<core::AuditEntry> CallAudit(int64_t appointment_id,
                                          const std::vector<google::CallRecord>& calls) const;
  core::AuditEntry StateAudit(const Snapshot& snap, const Plan& plan) const;
  static void AddEvents(const Snapshot& snap, const core::Meeting& after,
                        std::span<const std::string_view> topics,
                        std::vector<core::OutboxEvent>& events);
  // `wanted`: the transaction's MeetWorkWanted, read by the first run that needs it.
  Status MeetWorkAfter(store::Tx& tx, const Snapshot& snap, const core::Meeting& after,
                       std::span<const std::string_view> topics, Instant now,
                       std::optional<bool>& wanted) const;

  store::Store& store_;
  google::CalendarClient& calendar_;
  CallCollector& calls_;
  const Clock& clock_;
  const ReconcilerOptions options_;
};

// The payload of the meeting.* outbox events (webhooks and emails read it), as JSON text.
std::string MeetingEventPayload(const core::Appointment& appointment, const core::Meeting& meeting);

// "{service} with {doctor}" with {service}, {doctor} and {patient} filled in.
std::string RenderTitle(std::string_view title_template, std::string_view service,
                        std::string_view doctor, std::string_view patient);

// A reconcile job's payload: "<appointment id>" or "<appointment id> poll=<n>".
struct ReconcilePayload {
  int64_t appointment_id = 0;
  int polls = 0;
};
Result<ReconcilePayload> ParseReconcilePayload(std::string_view payload);
std::string FormatReconcilePayload(const ReconcilePayload& payload);

}  // namespace telemeet::sync
