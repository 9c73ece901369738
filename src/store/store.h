// The store: every persistent thing telemeet knows, behind one interface with transactions.
// Two backends share one implementation of the operations: SQLite (default; one file, WAL) and
// PostgreSQL (libpq, a connection pool; several telemeet instances may share it). The URL picks
// the backend: "sqlite:///abs/path.db", "sqlite:relative/path.db" (options:
// "?synchronous=normal" trades the last commits on power loss for speed; default full,
// "&busy_timeout_ms=5000"), "postgres://..." or "postgresql://..." (any libpq URI).
//
//   Result<std::unique_ptr<Store>> store = OpenStore("sqlite:///var/lib/telemeet/db", clock);
//   if (auto v = (*store)->Migrate(); !v) ...;
//   Result<core::Appointment> a = (*store)->Transact([&](Tx& tx) {
//     return tx.CreateAppointment(appointment);   // + revision 1 + its reconcile job, atomically
//   });
//   LeaseRequest lease;                  // (g++ 12 warns on designated initializers that
//   lease.owner = "host-1";              //  leave members out, so fields are set one by one)
//   lease.max = 32;
//   lease.now = clock.Now();
//   Result<std::vector<core::Job>> jobs =
//       (*store)->Transact([&](Tx& tx) { return tx.LeaseJobs(lease); });
//
// A Store is safe for concurrent use from many threads; a Tx belongs to the one thread running
// the transaction function and must not escape it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "core/attendance.h"
#include "core/types.h"
#include "store/sql.h"

namespace telemeet::store {

struct StoreOptions {
  int pool_size = 8;        // connections per store
  int max_tx_attempts = 8;  // Transact retries kAborted (serialization failure, busy, deadlock)
  // Refuse a second confirmed appointment of one doctor overlapping another.
  bool forbid_overlapping_confirmed = true;
};

// Lists are paged by an opaque cursor: pass next_cursor back to get the following page.
struct PageRequest {
  int32_t limit = 50;  // 1..1000
  std::string cursor;  // empty: first page
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // empty: no more
};

// The kinds of record that carry a booking system's id (external_ref).
enum class RefKind { kDoctor, kService, kPatient, kAppointment };

struct AppointmentFilter {
  int64_t doctor_id = 0;        // 0 = any
  int64_t patient_id = 0;       // 0 = any
  std::optional<Instant> from;  // start >= from
  std::optional<Instant> to;    // start < to
  std::optional<core::AppointmentStatus> status;
  std::optional<std::string> external_ref;  // exact match
};

struct LeaseRequest {
  std::string owner;  // unique per worker instance, e.g. "host-1:pid:thread"
  int32_t max = 16;   // at most this many jobs
  std::chrono::microseconds lease_for{std::chrono::seconds(60)};
  Instant now{};
  std::string kind;  // empty = any kind
};

// Retry timing for a failed job: 1s, 2s, 4s, ... capped at `max`, with up to 1/8 of
// deterministic jitter derived from the job id so a burst of failures spreads out.
Instant BackoffAfter(const core::Job& job, Instant now,
                     std::chrono::microseconds base = std::chrono::seconds(1),
                     std::chrono::microseconds max = std::chrono::minutes(5));

// What the calls that take a leased job answer when another lease replaced it
// (kFailedPrecondition, "lease lost: ..."); CompleteJobs' false.
Error LeaseLostError(const core::Job& job);
// Whether `e` is that answer (the job went to another lease), not a failure of the store.
bool IsLeaseLost(const Error& e);

// The job key of an appointment's reconcile job ("reconcile:<id>").
std::string ReconcileJobKey(int64_t appointment_id);
inline constexpr std::string_view kReconcileJobKind = "reconcile";
inline constexpr std::string_view kDeliverJobKind = "deliver";

// One line of the job queue's summary (Tx::JobQueueCounts), for /metrics.
struct JobQueueCount {
  std::string kind;   // "reconcile", "deliver", ...
  std::string state;  // "ready" (due, waiting for a worker), "scheduled" (due later: a backoff),
                      // "leased" (a live lease), "parked"
  int64_t jobs = 0;
  std::optional<Instant> oldest_run_at;  // the earliest run_at among them
};

// Everything the reconciler reads for one appointment, in one call.
struct ReconcileView {
  core::Appointment appointment;
  core::Service service;
  core::Doctor doctor;
  core::Patient patient;
  std::optional<core::GoogleGrant> grant;  // nullopt: the doctor never connected Google
  std::optional<core::Meeting> meeting;    // nullopt: no meeting recorded yet
};

// One write of Tx::PutMeetingsIf: `meeting`, over the stored meeting of the same appointment if
// it is still as `expected` (same state and conference attempt).
struct MeetingWrite {
  core::Meeting expected;
  core::Meeting meeting;
};

// An appointment as the API shows it (GET /appointments/{id}), read in one query
// (Tx::GetAppointmentView).
struct AppointmentView {
  core::Appointment appointment;
  std::optional<core::Meeting> meeting;  // nullopt: no meeting recorded yet
  std::optional<core::Job> job;          // its reconcile job; nullopt: none queued
  // The newest link not revoked (expired or not), without its token_hash; nullopt: none.
  std::optional<core::AccessLink> access_link;
  std::optional<core::AttendanceRecord>
      attendance;                             // Meet's records read (issue 18); nullopt: none
  std::optional<core::MeetingAccess> access;  // its Meet space's access type; nullopt: none
};

// A doctor calendar's incremental sync with Google (M16): the events.list sync token and the
// push channel (events.watch) that says when to use it.
struct CalendarSyncState {
  int64_t doctor_id = 0;
  std::string calendar_id = "primary";
  std::string sync_token;  // empty: the next sync is a full one
  std::string channel_id;  // empty: no push channel
  std::string channel_resource_id;
  std::string channel_token;    // the secret Google echoes in X-Goog-Channel-Token
  std::string channel_address;  // where the channel delivers
  std::optional<Instant> channel_expires_at;
  std::optional<Instant> synced_at;  // the last successful sync
  Instant updated_at{};
};

// Retention (issue 15): the tables Tx::PurgeExpired empties, and the instants that decide.
// store/retention.h runs them all in batches (the janitor and `telemeet purge`).
enum class RetentionTable {
  kSessions,           // expired
  kOAuthStates,        // expired
  kIdempotencyKeys,    // expired
  kAccessLinks,        // expired or revoked before data_before
  kWebhookDeliveries,  // last updated before data_before
  kOutboxEvents,       // created before data_before, with no job left and no newer delivery
  kAuditEntries,       // at before audit_before
  kAdminAudit,         // at before audit_before
  kBulkJobs,           // finished (done or failed) before data_before
};
// An appointment a patient reminder may be due for (Tx::ListUnclaimedReminders).
struct ReminderCandidate {
  core::Appointment appointment;
  std::string patient_email;
};

struct RetentionCutoffs {
  Instant now{};
  Instant data_before{};   // now - retention.days
  Instant audit_before{};  // now - retention.audit_days
};

// GET /api/v1/audit's filters; empty matches any.
struct AdminAuditFilter {
  std::string actor;
  std::string kind;
};

// What TakeQuota took: permits granted, and the window's cap after the scope's slow-down.
struct QuotaTaken {
  int32_t granted = 0;
  int32_t cap = 0;
};

// A bulk job (issue 17: resync, backfill, cancel on disconnect): what it is for and how far it
// got. It runs as the job queue's job "bulk:<id>" (kind "bulk"), whose lease fences it.
struct BulkJob {
  int64_t id = 0;
  std::string kind;  // "backfill", "resync", "disconnect_cancel"
  int64_t doctor_id = 0;
  std::string params = "{}";     // JSON, the kind's options
  std::string state = "queued";  // queued, running, done, failed
  int64_t total = 0;
  int64_t done = 0;
  int64_t failed = 0;
  int64_t cursor = 0;           // the last appointment id handled
  std::string failures = "[]";  // JSON array of the first failures
  std::string created_by;       // the actor ("user:3", "cli:root")
  Instant created_at{};
  Instant updated_at{};
  std::optional<Instant> finished_at;
};
inline constexpr std::string_view kBulkJobKind = "bulk";
std::string BulkJobKey(int64_t bulk_job_id);  // "bulk:<id>"

class Tx;

class Store {
 public:
  virtual ~Store() = default;

  virtual std::string_view backend() const = 0;  // "sqlite" or "postgres"

  // Brings the schema to the newest version this build knows; safe to run twice and from two
  // processes at once. Returns the version. kFailedPrecondition when the database has a newer
  // schema than this build knows (never touches it then).
  virtual Result<int> Migrate() = 0;
  // 0 for an empty database.
  virtual Result<int> SchemaVersion() = 0;
  static int LatestSchemaVersion();

  // Runs `fn` in one transaction: commit when it returns a value, roll back when it returns an
  // error. A conflict (kAborted) restarts `fn` up to StoreOptions::max_tx_attempts times, so
  // fn must have no effects outside the transaction. Read mode takes no write lock (and must not
  // write). fn must not start another transaction: it would not be part of this one, and it
  // could wait forever for a pooled connection. On SQLite, concurrent write transactions share
  // commits (group commit, sql.h Driver::RunTx): fn may run on another caller's thread while
  // this one waits, in a savepoint of its own; Run returns once its commit is durable.
  virtual Status Run(TxMode mode, const std::function<Status(Tx&)>& fn) = 0;

  // Write transactions committed and the commits that held them, since the store opened.
  virtual WriteStats write_stats() { return {}; }
  // A mark of what is committed, taken without a transaction (sql.h CommitMark): equal marks
  // mean nothing was committed in between, by any process, so an answer read after the first
  // is still what a read would answer now. nullopt: unknown (PostgreSQL; or a commit is being
  // published this instant), read instead. SQLite: a few dozen nanoseconds, no lock.
  virtual std::optional<CommitMark> CommittedMark() { return std::nullopt; }

  // Transact(fn) with fn returning Result<T> (or Status): the value of the committed run.
  template <typename F>
  auto Transact(F&& fn, TxMode mode = TxMode::kWrite) -> std::invoke_result_t<F, Tx&> {
    using R = std::invoke_result_t<F, Tx&>;
    if constexpr (std::is_same_v<R, Status>) {
      return Run(mode, std::forward<F>(fn));
    } else {
      std::optional<typename R::value_type> out;
      Status s = Run(mode, [&](Tx& tx) -> Status {
        R r = fn(tx);
        if (!r) return std::unexpected(r.error());
        out = std::move(*r);
        return Ok();
      });
      if (!s) return std::unexpected(s.error());
      return std::move(*out);
    }
  }
  template <typename F>
  auto Read(F&& fn) -> std::invoke_result_t<F, Tx&> {
    return Transact(std::forward<F>(fn), TxMode::kRead);
  }
  // Read(fn) for an fn that runs one statement (one Tx read such as GetAppointmentView): the
  // statement is its own snapshot, so SQLite spares the BEGIN and COMMIT around it (an eighth
  // of the store's CPU in bench/api's GET). A second statement fails with kInternal instead of
  // reading another snapshot: a read of several statements must use Read.
  template <typename F>
  auto ReadStatement(F&& fn) -> std::invoke_result_t<F, Tx&> {
    return Transact(std::forward<F>(fn), TxMode::kReadStatement);
  }
};

// Opens (does not migrate) the store the URL names. kInvalidArgument for a URL of no known
// scheme; kUnavailable when the database cannot be reached or opened.
Result<std::unique_ptr<Store>> OpenStore(std::string_view url, Clock& clock,
                                         StoreOptions options = {});

// The operations, inside one transaction. Errors common to all: kNotFound (the named row does
// not exist), kAlreadyExists (a unique constraint: duplicate email, key, event id...),
// kInvalidArgument (validation, naming the field), kFailedPrecondition (a rule of the domain:
// illegal status transition, lost lease, overlapping confirmed appointment, a referenced row
// missing), kAborted (conflict; Transact retries), kUnavailable (database unreachable).
class Tx {
 public:
  Tx(Conn& conn, Clock& clock, const StoreOptions& options)
      : conn_(conn), clock_(clock), options_(options) {}
  Instant Now() const { return clock_.Now(); }

  // --- Doctors, services, patients (validated by core/validation.h) ---
  Result<core::Doctor> CreateDoctor(core::Doctor doctor);
  Result<core::Doctor> GetDoctor(int64_t id);
  Result<core::Doctor> UpdateDoctor(const core::Doctor& doctor);
  Result<Page<core::Doctor>> ListDoctors(const PageRequest& page);

  Result<core::Service> CreateService(core::Service service);
  Result<core::Service> GetService(int64_t id);
  Result<core::Service> UpdateService(const core::Service& service);
  Result<Page<core::Service>> ListServices(const PageRequest& page);

  Result<core::Patient> CreatePatient(core::Patient patient);
  Result<core::Patient> GetPatient(int64_t id);
  // A change of the email or name upserts the reconcile job of each of the patient's
  // appointments whose event may exist (the patient may be its attendee, M14).
  Result<core::Patient> UpdatePatient(const core::Patient& patient);
  Result<Page<core::Patient>> ListPatients(const PageRequest& page);
  // The patients who have an appointment (of any status) with the doctor: those the doctor may
  // read (api AuthorizePatientRead).
  Result<Page<core::Patient>> ListPatientsOfDoctor(int64_t doctor_id, const PageRequest& page);

  // --- Appointments: every change bumps the revision and upserts the appointment's one
  // reconcile job (run_at = now) in this same transaction. ---
  // Assigns id, uid, revision 1. Validates; refuses an overlapping confirmed appointment when
  // the options say so (kFailedPrecondition, field "start").
  Result<core::Appointment> CreateAppointment(core::Appointment appointment);
  Result<core::Appointment> GetAppointment(int64_t id);
  Result<core::Appointment> GetAppointmentByUid(std::string_view uid);
  // Replaces start, end, zone, status, notes, service, patient of appointment `a.id`. Checks the
  // status transition and, when `expected_revision` is set and differs, fails with
  // kFailedPrecondition (someone changed it meanwhile). Doctor cannot change.
  Result<core::Appointment> UpdateAppointment(const core::Appointment& a,
                                              std::optional<int64_t> expected_revision = {});
  Result<core::Appointment> Reschedule(int64_t id, Instant start, Instant end);
  Result<core::Appointment> SetStatus(int64_t id, core::AppointmentStatus status);
  // Ordered by (start, id).
  Result<Page<core::Appointment>> ListAppointments(const AppointmentFilter& filter,
                                                   const PageRequest& page);
  // Sets (or, with "", removes) the booking system's id of appointment `id`: no new revision and
  // no job, since the event does not carry it. kAlreadyExists (field "external_ref") when another
  // appointment has it.
  Result<core::Appointment> SetAppointmentExternalRef(int64_t id, std::string ref);

  // The id of the record whose external_ref is `ref` (exact match); kNotFound when none.
  // Creates and updates of all four kinds refuse a taken external_ref with kAlreadyExists
  // naming the field "external_ref".
  Result<int64_t> IdByExternalRef(RefKind kind, std::string_view ref);

  // --- Recurring series (tx_series.cc): the rule; occurrences are appointments whose
  // series_id names it (CreateAppointment writes it) ---
  // Assigns id, uid; validates the zone and times. kNotFound naming the missing party's field.
  Result<core::AppointmentSeries> CreateSeries(core::AppointmentSeries series);
  Result<core::AppointmentSeries> GetSeries(int64_t id);  // kNotFound
  // Writes rrule, first_start, first_end, status and notes (updated_at = now). kNotFound.
  Result<core::AppointmentSeries> UpdateSeries(const core::AppointmentSeries& series);
  // Ordered by id; doctor_id 0 = any.
  Result<Page<core::AppointmentSeries>> ListSeries(int64_t doctor_id, const PageRequest& page);
  // The series' occurrences, ordered by (start, id): at most core::kMaxOccurrences.
  Result<std::vector<core::Appointment>> ListSeriesAppointments(int64_t series_id);

  // --- Meetings (one per appointment; event id unique per calendar) ---
  Result<core::Meeting> GetMeeting(int64_t appointment_id);  // kNotFound when none yet
  // Inserts or replaces the meeting of m.appointment_id (doctor and calendar come from m).
  Status PutMeeting(const core::Meeting& m);
  // PutMeeting for a writer that read the meeting earlier (the reconciler): writes m only if the
  // stored meeting is still as `expected` says (same state and conference attempt; nullopt:
  // there is none), in one statement instead of a read and a write. Returns false, having
  // written nothing, when it is not (changed or gone meanwhile). The transition is checked from
  // expected->state; errors as PutMeeting.
  Result<bool> PutMeetingIf(const std::optional<core::Meeting>& expected, const core::Meeting& m);
  // PutMeetingIf(nullopt, m) for several new meetings in one statement: each is written unless
  // its appointment has a meeting already (then nothing is written for it). Returns the
  // appointment ids written, in no particular order; errors as PutMeeting (nothing written).
  Result<std::vector<int64_t>> InsertMeetingsIfAbsent(std::span<const core::Meeting> meetings);
  // PutMeetingIf over existing meetings, for many at once (the reconciler's batched commit): one
  // statement reads (and on PostgreSQL locks) the rows, one writes those still as expected.
  // Returns, per write in order, whether it was written. Errors as PutMeetingIf, and
  // kInvalidArgument when an appointment comes twice (nothing written).
  Result<std::vector<bool>> PutMeetingsIf(std::span<const MeetingWrite> writes);
  Result<Page<core::Meeting>> ListMeetings(std::optional<core::MeetingState> state,
                                           int64_t doctor_id, const PageRequest& page);
  // The appointments, not cancelled, starting at `from` or later, whose meeting is ready: of
  // one doctor (0: of every doctor), the earliest first, at most `limit`. (id, doctor id) each.
  // kInvalidArgument when `limit` < 1.
  Result<std::vector<std::pair<int64_t, int64_t>>> ListReadyMeetingAppointments(int64_t doctor_id,
                                                                                Instant from,
                                                                                int limit);
  // Admin retry of a failed meeting: state creating, conference_attempt + 1, attempts 0, and
  // the reconcile job due now. kFailedPrecondition unless the meeting is failed.
  Result<core::Meeting> RetryFailedMeeting(int64_t appointment_id);

  // The appointment with its service, doctor, patient, grant and meeting. kNotFound when the
  // appointment does not exist.
  Result<ReconcileView> LoadForReconcile(int64_t appointment_id);
  // The same for several appointments in one statement, in no particular order; an id with no
  // appointment is left out.
  Result<std::vector<ReconcileView>> LoadForReconcile(std::span<const int64_t> appointment_ids);
  // The appointment with its meeting, reconcile job and newest live access link, in one
  // statement (the API's hot read). kNotFound when the appointment does not exist.
  Result<AppointmentView> GetAppointmentView(int64_t appointment_id);

  // --- Google calendar sync (M16) ---
  // The meeting whose event has this id on the doctor's calendar. kNotFound.
  Result<core::Meeting> GetMeetingByEvent(int64_t doctor_id, std::string_view calendar_id,
                                          std::string_view event_id);
  // Sets the meeting's drift and drift_etag (nothing else; PutMeeting leaves them alone).
  // kNotFound when the appointment has no meeting.
  Status SetMeetingDrift(int64_t appointment_id, std::string_view drift,
                         std::string_view drift_etag);
  Result<CalendarSyncState> GetCalendarSync(int64_t doctor_id);                     // kNotFound
  Result<CalendarSyncState> GetCalendarSyncByChannel(std::string_view channel_id);  // kNotFound
  // Insert or replace by doctor.
  Status PutCalendarSync(const CalendarSyncState& state);
  // Doctors whose Google grant is active, by id.
  Result<std::vector<int64_t>> ListConnectedDoctors();

  // --- Google grants (one per doctor) ---
  Result<core::GoogleGrant> GetGrant(int64_t doctor_id);  // kNotFound when never connected
  // Takes the grant row's lock until the transaction ends (PostgreSQL SELECT ... FOR UPDATE;
  // SQLite: the write transaction already excludes other writers), then reads it: the
  // cross-instance single flight for token refresh. kNotFound when no grant.
  Result<core::GoogleGrant> LockGrant(int64_t doctor_id);
  // Insert or replace; the stored version becomes the previous one + 1 (1 for a new grant).
  // Does not wake jobs: call WakeDoctor in the same transaction on connect.
  Status PutGrant(const core::GoogleGrant& grant);
  Status DeleteGrant(int64_t doctor_id);

  // --- Jobs ---
  // Insert by key, or update the existing row: payload/kind replaced; a job not leased becomes
  // due at min(run_at, job.run_at) (a parked job stays parked); a leased job gets rerun = true
  // so it runs again once its holder completes it (no second worker meanwhile).
  Result<core::Job> UpsertJob(const core::Job& job);
  // UpsertJob for many jobs in one statement (each key at most once; kInvalidArgument if not).
  Status UpsertJobs(std::span<const core::Job> jobs);
  // The appointment's reconcile job, due now.
  Result<core::Job> EnqueueReconcile(int64_t appointment_id);
  Result<core::Job> GetJob(std::string_view key);
  // Leases up to `max` due jobs (state ready, run_at <= now, no live lease): sets owner,
  // lease_seq + 1 and the lease expiry (stored as run_at, so an expired lease is due again and
  // is taken over by the next LeaseJobs). PostgreSQL: FOR UPDATE SKIP LOCKED, so instances never
  // wait for each other; SQLite: inside the write transaction. Oldest due first.
  Result<std::vector<core::Job>> LeaseJobs(const LeaseRequest& request);
  // Every leased job is released and due now, its lease fenced off (lease_seq moves on, so a
  // holder still at work would lose it). Only for a start that knows no other process holds
  // a lease: with SQLite, `telemeet serve` owns the database file (app/serve_lock.h), so what
  // the jobs table says is leased was held by a process that is gone. Returns how many.
  Result<int64_t> ReclaimLeases();
  // The following take the job as leased (id, lease_owner, lease_seq) and fail with
  // kFailedPrecondition ("lease lost") when another lease replaced it.
  //
  // The rerun rule: a change made while the job is leased (UpsertJob setting `rerun`) is never
  // lost, whatever the holder does and however the two transactions interleave (PostgreSQL READ
  // COMMITTED included): CompleteJob, RetryJob and ParkJob each decide on the row version they
  // lock, and a set flag makes the job ready and due now instead. That is what the same change
  // would have done a moment later, to an unleased job (UpsertJob makes it due at once), so a
  // change never waits out a backoff or a park: a reconnect (WakeDoctor) or an edit during the
  // lease runs the job again from the latest state. No caller needs to lock the row first.
  Status ExtendLease(const core::Job& job, Instant until);
  // Done: deleted; or, with rerun set, released and due now (attempts and last_error reset).
  Status CompleteJob(const core::Job& job);
  // CompleteJob for many jobs in two statements (one when no rerun was set). Returns, per job in
  // order, whether it was completed; false: its lease was lost, and nothing was written for it.
  Result<std::vector<bool>> CompleteJobs(std::span<const core::Job> jobs);
  // Failed: attempts + 1, last_error, lease released, due at `run_at` (see BackoffAfter); with
  // rerun set, due now (attempts and last_error still recorded).
  Status RetryJob(const core::Job& job, Instant run_at, std::string_view error);
  // Given back unfinished (shutdown): lease released, due now, attempts unchanged.
  Status ReleaseJob(const core::Job& job);
  // Parks this job (grant gone): state parked, lease released; with rerun set, ready and due
  // now instead (the change may be the reconnect; if not, the next run parks it again).
  Status ParkJob(const core::Job& job, std::string_view reason);
  // Parks every ready, unleased job of the doctor; returns how many.
  Result<int64_t> ParkDoctorJobs(int64_t doctor_id, std::string_view reason);
  // Reconnect: parked jobs of the doctor ready and due now, plus a reconcile job for every
  // meeting of the doctor in awaiting_doctor or needs_reconnect. Returns jobs made due.
  Result<int64_t> WakeDoctor(int64_t doctor_id);
  // Ordered by id; kind empty = any.
  Result<Page<core::Job>> ListJobs(std::string_view kind, std::optional<core::JobState> state,
                                   const PageRequest& page);
  Result<int64_t> CountJobs(std::optional<core::JobState> state);
  // The queue by kind and state (JobQueueCount) as of `now`, in one aggregate query; an expired
  // lease counts as ready.
  Result<std::vector<JobQueueCount>> JobQueueCounts(Instant now);
  // When the next ready job falls due (a live lease counts as due at its expiry), so an idle
  // worker can sleep until then; nullopt when no job is ready. kind empty = any.
  Result<std::optional<Instant>> NextDueAt(std::string_view kind);

  // --- Bulk jobs (tx_bulk.cc) ---
  // Inserts the bulk job (id, times and state "queued" assigned) and its queue job "bulk:<id>",
  // due now.
  Result<BulkJob> CreateBulkJob(BulkJob job);
  Result<BulkJob> GetBulkJob(int64_t id);  // kNotFound
  // The newest queued or running bulk job of this kind, doctor and params; nullopt when none.
  Result<std::optional<BulkJob>> FindOpenBulkJob(std::string_view kind, int64_t doctor_id,
                                                 std::string_view params);
  // Writes state, counts, cursor, failures and finished_at (updated_at = now). kNotFound.
  Status SaveBulkProgress(const BulkJob& job);
  // Leases the job with this key for `owner` when it is ready and not held by a live lease
  // (an unleased job is taken whenever it is due, even in a back-off): lease_seq + 1, as
  // LeaseJobs does. nullopt when there is no such job, it is parked, or another owner's lease is
  // live. PostgreSQL: SKIP LOCKED, so a worker leasing it at the same moment wins or loses
  // cleanly.
  Result<std::optional<core::Job>> LeaseJobByKey(std::string_view key, std::string_view owner,
                                                 std::chrono::microseconds lease_for, Instant now);

  // --- Outbox: facts for webhooks and email, written with the change that causes them; each
  // event also gets a "deliver" job (key "outbox:<id>"). ---
  Result<core::OutboxEvent> AppendOutbox(core::OutboxEvent event);
  // The same for many events: their rows in one statement, their deliver jobs in another.
  // Returns them with ids, in order.
  Result<std::vector<core::OutboxEvent>> AppendOutboxes(std::vector<core::OutboxEvent> events);
  Result<core::OutboxEvent> GetOutboxEvent(int64_t id);
  Result<Page<core::OutboxEvent>> ListOutbox(const PageRequest& page);

  Result<core::WebhookEndpoint> CreateWebhookEndpoint(core::WebhookEndpoint endpoint);
  // Writes url, sealed_secret, topics and active; the rotation fields are left as they are.
  Result<core::WebhookEndpoint> UpdateWebhookEndpoint(const core::WebhookEndpoint& endpoint);
  Result<core::WebhookEndpoint> GetWebhookEndpoint(int64_t id);  // kNotFound
  // Makes `sealed_secret` the endpoint's secret; the one it replaces becomes the previous secret
  // until `previous_expires_at` (a previous one still in its grace period is dropped);
  // secret_rotated_at = now. kNotFound.
  // The endpoint, locked for the rest of the transaction on PostgreSQL (SELECT ... FOR UPDATE;
  // SQLite's write transaction holds the database): a read-modify-write of an endpoint takes
  // it first, so a concurrent rotation or edit is not written over. kNotFound.
  Result<core::WebhookEndpoint> LockWebhookEndpoint(int64_t id);
  // Replaces the sealed current and previous secrets only (telemeet rekey).
  Status ResealWebhookSecrets(int64_t id, std::string_view sealed_secret,
                              std::string_view previous_sealed_secret);
  Result<core::WebhookEndpoint> RotateWebhookSecret(int64_t id, std::string_view sealed_secret,
                                                    Instant previous_expires_at);
  Status DeleteWebhookEndpoint(int64_t id);
  Result<Page<core::WebhookEndpoint>> ListWebhookEndpoints(const PageRequest& page);
  // Insert or update by (endpoint_id, event_id).
  Result<core::WebhookDelivery> PutDelivery(core::WebhookDelivery delivery);
  Result<Page<core::WebhookDelivery>> ListDeliveries(int64_t event_id, const PageRequest& page);

  // --- Audit trail per appointment (append only) ---
  Result<core::AuditEntry> AppendAudit(core::AuditEntry entry);  // at defaults to now
  // The entries in one statement, in order (ids ascend as with one AppendAudit each); nothing
  // for an empty list. Errors as AppendAudit.
  Status AppendAudits(std::vector<core::AuditEntry> entries);
  Result<Page<core::AuditEntry>> ListAudit(int64_t appointment_id, const PageRequest& page);

  // --- Admin audit (M25): administrators' changes, append only ---
  Result<core::AdminAuditEntry> AppendAdminAudit(core::AdminAuditEntry entry);  // at: now if 0
  // Newest first (the cursor pages towards older entries).
  Result<Page<core::AdminAuditEntry>> ListAdminAudit(const AdminAuditFilter& filter,
                                                     const PageRequest& page);

  // --- Retention (tx_retention.cc) ---
  // Deletes at most `limit` rows of `table` that retention lets go (see RetentionTable);
  // returns how many. CountExpired: how many there are, deleting nothing.
  Result<int64_t> PurgeExpired(RetentionTable table, const RetentionCutoffs& cutoffs,
                               int32_t limit);
  Result<int64_t> CountExpired(RetentionTable table, const RetentionCutoffs& cutoffs);

  // --- Idempotency keys ---
  // kAlreadyExists when the key is stored and not expired.
  Status PutIdempotency(const core::IdempotencyRecord& record);
  // kNotFound when absent or expired.
  Result<core::IdempotencyRecord> GetIdempotency(std::string_view key);
  Result<int64_t> DeleteExpiredIdempotency(Instant now);

  // --- API keys (hashed; looked up by their public prefix) ---
  Result<core::ApiKey> CreateApiKey(core::ApiKey key);
  Result<core::ApiKey> GetApiKeyByPrefix(std::string_view prefix);  // revoked ones too
  Result<Page<core::ApiKey>> ListApiKeys(const PageRequest& page);
  Status RevokeApiKey(int64_t id);
  Status TouchApiKey(int64_t id, Instant used_at);

  // --- Users and web sessions ---
  Result<core::User> CreateUser(core::User user);  // email unique (case-insensitive)
  Result<core::User> GetUser(int64_t id);
  Result<core::User> GetUserByEmail(std::string_view email);
  Result<core::User> UpdateUser(const core::User& user);
  Result<Page<core::User>> ListUsers(const PageRequest& page);
  Result<core::Session> CreateSession(core::Session session);
  // kNotFound when absent or expired at `now`.
  Result<core::Session> GetSession(std::string_view token_hash, Instant now);
  // Moves a session's expiry later (an idle timeout sliding with use); an unknown, expired
  // or already later session is left as it is.
  Status ExtendSession(std::string_view token_hash, Instant expires_at);
  Status DeleteSession(std::string_view token_hash);
  Result<int64_t> DeleteUserSessions(int64_t user_id);
  Result<int64_t> DeleteExpiredSessions(Instant now);

  // --- Patient access links (token stored hashed) ---
  Result<core::AccessLink> CreateAccessLink(core::AccessLink link);
  // kNotFound when absent, revoked or expired at `now`.
  Result<core::AccessLink> GetAccessLink(std::string_view token_hash, Instant now);
  Result<std::vector<core::AccessLink>> ListAccessLinks(int64_t appointment_id);
  Status RevokeAccessLink(int64_t id);

  // --- OAuth connect flow states: single use, expiring ---
  Status PutOAuthState(const core::OAuthState& state);
  // Deletes and returns it; kNotFound when absent, already used, or expired at `now`.
  Result<core::OAuthState> ConsumeOAuthState(std::string_view state_hash, Instant now);

  // --- Patient reminders (M23; tx_reminders.cc) ---
  // Booked or confirmed appointments starting in (now, now + lead] whose reminder `lead` before
  // their current start was never claimed, ordered by start; at most `limit`.
  Result<std::vector<ReminderCandidate>> ListUnclaimedReminders(Instant now,
                                                                std::chrono::seconds lead,
                                                                int32_t limit);
  // Claims the reminder `lead` before `start` for the appointment, recording `outcome`; false
  // when it was claimed before (by this or another instance: on PostgreSQL a second claim waits
  // for the first one's commit and then finds the row). kNotFound: no such appointment.
  Result<bool> ClaimReminder(int64_t appointment_id, Instant start, std::chrono::seconds lead,
                             std::string_view outcome);

  // --- Google quota shared by instances (issue 17; tx_quota.cc) ---
  // Takes up to `want` permits of `scope` in window `window`, of which all takers together get
  // at most `cap` scaled by the scope's slow-down at `now` (at least 1); one statement, so on
  // PostgreSQL concurrent takers queue on the row and each sees the others' count.
  Result<QuotaTaken> TakeQuota(std::string_view scope, int64_t window, int32_t want, int32_t cap,
                               Instant now);
  // Halves the scope's share of its cap (down to 1/20) until `until`; a second call in the same
  // window while slowed changes nothing.
  Status SlowQuota(std::string_view scope, Instant now, Instant until, int64_t window);
  // Forgets the windows before `window` and the slow-downs over before `now`; returns how many
  // rows went.
  Result<int64_t> PurgeQuota(int64_t window, Instant now);

  // --- Attendance and access type from Meet (issue 18; tx_meet.cc) ---
  Result<core::AttendanceRecord> GetAttendance(int64_t appointment_id);  // kNotFound
  // Insert or replace by appointment (updated_at = now). kNotFound: no such appointment.
  Status PutAttendance(const core::AttendanceRecord& record);
  Result<core::MeetingAccess> GetMeetingAccess(int64_t appointment_id);  // kNotFound
  // Insert or replace by appointment (updated_at = now). kNotFound: no such appointment.
  Status PutMeetingAccess(const core::MeetingAccess& access);

  // --- Settings (key/value) ---
  Result<std::string> GetSetting(std::string_view key);  // kNotFound
  Status PutSetting(std::string_view key, std::string_view value);
  // Ordered by key; a non-empty prefix ("meeting.") keeps only the keys that start with it.
  Result<std::vector<std::pair<std::string, std::string>>> ListSettings(
      std::string_view prefix = {});
  // Removes the key; true when it existed (deleting an absent key is not an error).
  Result<bool> DeleteSetting(std::string_view key);

  // A lock named by `key` until the transaction ends, shared with other shared holders or
  // exclusive: on PostgreSQL an advisory lock (pg_advisory_xact_lock[_shared]); on SQLite
  // nothing, as its write transactions run one at a time already.
  Status LockForTransaction(int64_t key, bool shared);

 private:
  Result<QueryResult> Exec(std::string_view sql, std::initializer_list<SqlValue> params);
  Result<Row> ExecOne(std::string_view sql, std::initializer_list<SqlValue> params,
                      std::string_view what);
  Status CheckOverlap(const core::Appointment& a);
  Result<core::Job> UpsertReconcileJob(int64_t appointment_id, int64_t doctor_id);
  Result<core::Appointment> WriteAppointment(core::Appointment a, bool create);
  Status LeasedUpdate(const core::Job& job, std::string_view set_clause,
                      std::initializer_list<SqlValue> params);
  bool postgres() const { return conn_.dialect() == Dialect::kPostgres; }

  Conn& conn_;
  Clock& clock_;
  const StoreOptions& options_;
};

}  // namespace telemeet::store
