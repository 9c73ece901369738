#include "sync/bulk.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "core/meeting.h"
#include "core/time.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "obs/log.h"
#include "sync/calendar_sync.h"
#include "sync/worker.h"

namespace telemeet::sync {

using core::MeetingState;
using nlohmann::json;

namespace {

constexpr size_t kMaxFailuresKept = 100;

std::string_view MovedName(MovedPolicy p) {
  return p == MovedPolicy::kRestore ? "restore" : "flag";
}

json OptTime(const std::optional<Instant>& t) {
  return t ? json(core::FormatRfc3339(*t)) : json(nullptr);
}

// A meeting we believe has a live event at Google.
bool Settled(MeetingState s) {
  return s == MeetingState::kReady || s == MeetingState::kConferencePending ||
         s == MeetingState::kUpdating;
}

// The appointments of the job's doctor in its time range, by id, after `cursor`.
Result<std::vector<core::Appointment>> AppointmentsOf(store::Tx& tx, const store::BulkJob& job,
                                                      const BulkParams& p) {
  std::vector<core::Appointment> out;
  store::AppointmentFilter filter{.doctor_id = job.doctor_id, .from = p.from, .to = p.to};
  store::PageRequest page{.limit = 1000};
  for (;;) {
    store::Page<core::Appointment> got = TM_TRY(tx.ListAppointments(filter, page));
    for (core::Appointment& a : got.items) {
      if (a.id > job.cursor) out.push_back(std::move(a));
    }
    if (got.next_cursor.empty()) break;
    page.cursor = got.next_cursor;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<std::optional<core::Meeting>> MeetingOf(store::Tx& tx, int64_t appointment_id) {
  auto m = tx.GetMeeting(appointment_id);
  if (m) return std::optional<core::Meeting>(std::move(*m));
  if (m.error().code() == ErrorCode::kNotFound) return std::optional<core::Meeting>();
  return std::unexpected(m.error());
}

google::SendUpdates SendUpdatesSetting(store::Tx& tx) {
  auto v = tx.GetSetting(kSettingSendUpdates);
  if (v && *v == "all") return google::SendUpdates::kAll;
  if (v && *v == "externalOnly") return google::SendUpdates::kExternalOnly;
  return google::SendUpdates::kNone;
}

// The meeting after its event was deleted on disconnect: no conference, waiting for the doctor
// (a reconnect makes the meeting again for an appointment that still wants it). The event id
// stays: it is derived from the appointment.
core::Meeting WithoutEvent(core::Meeting m, Instant now) {
  m.state = MeetingState::kAwaitingDoctor;
  m.conference_id.clear();
  m.join_url.clear();
  m.event_url.clear();
  m.etag.clear();
  m.synced_revision = 0;
  m.synced_start = {};
  m.synced_end = {};
  m.attempts = 0;
  m.last_error = "cancelled when the doctor disconnected Google";
  m.updated_at = now;
  return m;
}

// Leases the appointment's reconcile job for a bulk step, making it (due now) when there is none.
// nullopt when the service's worker holds it (or it is parked): the pass looks again later. A job
// held by the worker is left as it is: marking it to run again (as EnqueueReconcile does to a
// leased job) would make the worker take it straight back after each run, and a pass every 200 ms
// would keep it busy until the bulk step gives up (CI saw "still busy; run again").
Result<std::optional<core::Job>> LeaseReconcileJob(store::Tx& tx, int64_t appointment_id,
                                                   std::string_view owner,
                                                   std::chrono::microseconds lease_for,
                                                   Instant now) {
  const std::string key = store::ReconcileJobKey(appointment_id);
  auto lease = TM_TRY(tx.LeaseJobByKey(key, owner, lease_for, now));
  if (lease) return lease;
  auto existing = tx.GetJob(key);
  if (existing) return std::nullopt;
  if (existing.error().code() != ErrorCode::kNotFound) return std::unexpected(existing.error());
  TM_TRY(tx.EnqueueReconcile(appointment_id));
  return tx.LeaseJobByKey(key, owner, lease_for, now);
}

// Records a meeting whose event was deleted on disconnect: the meeting row (unless it changed
// meanwhile), the audit trail and the integrator's meeting.cancelled event.
Status RecordCancelled(store::Tx& tx, std::string_view actor, const core::Appointment& a,
                       const core::Meeting& meeting, std::string_view outcome, Instant now) {
  const std::string path = "calendars/" + meeting.calendar_id + "/events/" + meeting.event_id;
  TM_TRY(tx.AppendAudit(
      core::AuditEntry{.appointment_id = a.id,
                       .actor = std::string(actor),
                       .action = "google.events.delete",
                       .detail = json{{"method", "DELETE"},
                                      {"path", path},
                                      {"outcome", outcome},
                                      {"reason", "doctor disconnected Google (meetings=cancel)"}}
                                     .dump()}));
  auto current = tx.GetMeeting(a.id);
  if (!current || current->event_id != meeting.event_id) return Ok();
  core::Meeting after = WithoutEvent(*current, now);
  // Through the states the meeting machine allows: cancelling, cancelled, then waiting.
  for (MeetingState step : {MeetingState::kCancelling, MeetingState::kCancelled}) {
    core::Meeting m = *current;
    m.state = step;
    TM_TRY(tx.PutMeeting(m));
  }
  TM_TRY(tx.PutMeeting(after));
  TM_TRY(tx.AppendAudit(core::AuditEntry{.appointment_id = a.id,
                                         .actor = std::string(actor),
                                         .action = "meeting.state",
                                         .detail = json{{"from", core::Name(current->state)},
                                                        {"to", core::Name(after.state)},
                                                        {"action", "cancel_on_disconnect"}}
                                                       .dump()}));
  json payload = {{"appointment_id", a.id},
                  {"appointment_uid", a.uid},
                  {"doctor_id", a.doctor_id},
                  {"state", core::Name(after.state)},
                  {"start", core::FormatRfc3339(a.start)},
                  {"end", core::FormatRfc3339(a.end)},
                  {"time_zone", a.time_zone},
                  {"error", after.last_error}};
  TM_TRY(tx.AppendOutbox(core::OutboxEvent{.topic = std::string(kMeetingCancelled),
                                           .appointment_id = a.id,
                                           .doctor_id = a.doctor_id,
                                           .payload = payload.dump()}));
  return Ok();
}

}  // namespace

std::string FormatBulkParams(std::string_view kind, const BulkParams& p) {
  json j = {{"from", OptTime(p.from)}, {"to", OptTime(p.to)}};
  if (kind == kBulkResync) j["moved"] = MovedName(p.moved);
  return j.dump();
}

Result<BulkParams> ParseBulkParams(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Fail(ErrorCode::kInvalidArgument, "bulk job params are not JSON");
  BulkParams p;
  for (auto [key, field] : {std::pair{"from", &p.from}, std::pair{"to", &p.to}}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    if (!j[key].is_string()) return Fail(ErrorCode::kInvalidArgument, "not a time", key);
    *field = TM_TRY(core::ParseRfc3339(j[key].get<std::string>(), key));
  }
  if (j.contains("moved") && j["moved"] == "restore") p.moved = MovedPolicy::kRestore;
  return p;
}

Result<store::BulkJob> CreateBulkJob(store::Store& store, std::string_view kind, int64_t doctor_id,
                                     const BulkParams& params, std::string_view created_by) {
  if (kind != kBulkBackfill && kind != kBulkResync && kind != kBulkDisconnectCancel) {
    return Fail(ErrorCode::kInvalidArgument, "unknown bulk job kind", "kind");
  }
  return store.Transact([&](store::Tx& tx) -> Result<store::BulkJob> {
    TM_TRY(tx.GetDoctor(doctor_id));
    store::BulkJob job;
    job.kind = std::string(kind);
    job.doctor_id = doctor_id;
    job.params = FormatBulkParams(kind, params);
    job.created_by = std::string(created_by);
    return tx.CreateBulkJob(std::move(job));
  });
}

// One appointment (or, for a stray, one event) a job works on.
struct BulkRunner::Item {
  enum class Prep { kNone, kRecreate, kRestoreMoved, kFlagMoved, kDelete };
  Prep prep = Prep::kNone;
  BulkChange change;
  core::Appointment appointment;
  core::Meeting meeting;
  google::Event event;  // resync: the event found at Google
};

// Renews, every third of the lease, the leases a run holds (its own job's, and the reconcile
// jobs' of the appointments it works on), so a chunk whose calls wait out Google's back-offs
// keeps them, as the service's worker keeps its jobs'. A lease lost meanwhile is left lost.
class BulkRunner::LeaseKeeper {
 public:
  LeaseKeeper(store::Store& store, const Clock& clock, std::chrono::microseconds lease_for)
      : store_(store), clock_(clock), lease_for_(lease_for), thread_([this] { Loop(); }) {}
  ~LeaseKeeper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Hold(const core::Job& job) {
    std::lock_guard lock(mu_);
    held_[job.id] = job;
  }
  void Drop(const core::Job& job) {
    std::lock_guard lock(mu_);
    held_.erase(job.id);
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, lease_for_ / 3, [this] { return stop_; })) {
      std::vector<core::Job> jobs;
      for (const auto& [id, job] : held_) jobs.push_back(job);
      lock.unlock();
      const Instant until = clock_.Now() + lease_for_;
      (void)store_.Transact([&](store::Tx& tx) -> Status {
        for (const core::Job& j : jobs) (void)tx.ExtendLease(j, until);
        return Ok();
      });
      lock.lock();
    }
  }

  store::Store& store_;
  const Clock& clock_;
  const std::chrono::microseconds lease_for_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                  // guarded by mu_
  std::map<int64_t, core::Job> held_;  // guarded by mu_
  std::thread thread_;                 // last: starts once the rest is built
};

struct BulkRunner::Outcome {
  int64_t done = 0;
  int64_t failed = 0;
  json failures = json::array();
  void Fail(int64_t appointment_id, std::string_view error) {
    ++failed;
    if (failures.size() < kMaxFailuresKept) {
      failures.push_back({{"appointment_id", appointment_id}, {"error", error}});
    }
  }
};

BulkRunner::BulkRunner(store::Store& store, google::CalendarClient& calendar,
                       google::BatchingTransport& batching, Reconciler& reconciler,
                       const Clock& clock, BulkOptions options)
    : store_(store),
      calendar_(calendar),
      batching_(batching),
      reconciler_(reconciler),
      clock_(clock),
      options_(std::move(options)) {}

std::string BulkRunner::LeaseOwner(const store::BulkJob& job) const {
  static const std::string process = DefaultWorkerOwner();
  return fmt::format("bulk:{}:{}", job.id, options_.owner.empty() ? process : options_.owner);
}

Result<std::vector<BulkRunner::Item>> BulkRunner::Targets(const store::BulkJob& job) {
  const BulkParams params = TM_TRY(ParseBulkParams(job.params));
  const std::string doctor_key = std::to_string(job.doctor_id);
  std::vector<Item> items;

  if (job.kind == kBulkBackfill || job.kind == kBulkDisconnectCancel) {
    const Instant now = clock_.Now();
    TM_TRY(store_.Read([&](store::Tx& tx) -> Status {
      BulkParams range = params;
      // Disconnect cancels what is still to come; its targets are read afresh on every run
      // (nothing is recorded before the end, so a resumed run finds them all again).
      store::BulkJob from_start = job;
      if (job.kind == kBulkDisconnectCancel) {
        range.from = now;
        from_start.cursor = 0;
      }
      std::map<int64_t, bool> telemedicine;
      for (core::Appointment& a : TM_TRY(AppointmentsOf(tx, from_start, range))) {
        auto meeting = TM_TRY(MeetingOf(tx, a.id));
        Item item;
        if (job.kind == kBulkDisconnectCancel) {
          if (a.status == core::AppointmentStatus::kCancelled ||
              a.status == core::AppointmentStatus::kCompleted || !meeting ||
              !core::MayHaveEvent(meeting->state) || meeting->event_id.empty()) {
            continue;
          }
          item.prep = Item::Prep::kDelete;
          item.change = {"cancel_meeting", a.id, meeting->event_id, ""};
        } else {
          if (a.status != core::AppointmentStatus::kConfirmed) continue;
          if (!telemedicine.contains(a.service_id)) {
            telemedicine[a.service_id] = TM_TRY(tx.GetService(a.service_id)).telemedicine;
          }
          if (!telemedicine[a.service_id]) continue;
          if (meeting && (Settled(meeting->state) || meeting->state == MeetingState::kFailed)) {
            continue;  // has its meeting, or waits for an admin's retry
          }
          item.change = {"create", a.id, core::EventIdFor(a.uid), ""};
        }
        item.appointment = std::move(a);
        if (meeting) item.meeting = std::move(*meeting);
        items.push_back(std::move(item));
      }
      return Ok();
    }));
    return items;
  }

  // Resync: what Google has against what we hold.
  google::ListQuery query;
  query.max_results = 250;
  if (params.from) query.time_min = core::FormatRfc3339(*params.from);
  if (params.to) query.time_max = core::FormatRfc3339(*params.to);
  std::string calendar_id = "primary";
  std::vector<core::Appointment> appointments;
  std::map<int64_t, core::Meeting> meetings;
  std::map<std::string, const core::Appointment*> by_uid;
  TM_TRY(store_.Read([&](store::Tx& tx) -> Status {
    calendar_id = TM_TRY(tx.GetDoctor(job.doctor_id)).calendar_id;
    store::BulkJob all = job;
    all.cursor = 0;  // strays of any appointment, the cursor applies below
    appointments = TM_TRY(AppointmentsOf(tx, all, params));
    for (const core::Appointment& a : appointments) {
      if (auto m = TM_TRY(MeetingOf(tx, a.id))) meetings[a.id] = std::move(*m);
    }
    return Ok();
  }));
  for (const core::Appointment& a : appointments) by_uid[a.uid] = &a;
  auto listed = calendar_.ListAllEvents(doctor_key, calendar_id, query);
  if (!listed) return Fail(ErrorCode::kUnavailable, "events.list: " + listed.error().ToString());

  std::map<int64_t, const google::Event*> live;  // appointment id -> its event, as listed
  for (const google::Event& e : listed->items) {
    auto uid = e.private_properties.find(std::string(kAppointmentUidProperty));
    if (uid == e.private_properties.end() || e.cancelled()) continue;
    // A series' recurring event is the series' business (its instances are listed apart).
    if (e.private_properties.contains(std::string(kSeriesIdProperty))) continue;
    auto found = by_uid.find(uid->second);
    if (found == by_uid.end()) {
      // Not an appointment of this doctor in range that we know: another installation's, or
      // outside the range. Never touched.
      continue;
    }
    const core::Appointment& a = *found->second;
    auto m = meetings.find(a.id);
    const bool ours_now =
        m != meetings.end() && m->second.event_id == e.id && core::MayHaveEvent(m->second.state);
    const bool wanted = a.status == core::AppointmentStatus::kBooked ||
                        a.status == core::AppointmentStatus::kConfirmed ||
                        a.status == core::AppointmentStatus::kCompleted;
    Item item;
    item.appointment = a;
    item.event = e;
    if (m != meetings.end()) item.meeting = m->second;
    if (!ours_now || !wanted) {
      if (ours_now && !wanted) continue;  // the reconciler's delete is due; it makes it
      item.prep = Item::Prep::kDelete;
      item.change = {"delete_stray", a.id, e.id,
                     fmt::format("appointment {} is {}, its meeting {}", a.id, core::Name(a.status),
                                 m == meetings.end() ? "absent" : core::Name(m->second.state))};
      items.push_back(std::move(item));
      continue;
    }
    live[a.id] = &e;
    auto drift = DriftOf(m->second, a, e);
    if (drift && *drift == kDriftMoved) {
      const bool restore = params.moved == MovedPolicy::kRestore;
      item.prep = restore ? Item::Prep::kRestoreMoved : Item::Prep::kFlagMoved;
      item.change = {
          restore ? "restore_moved" : "flag_moved", a.id, e.id,
          fmt::format("event {}..{}, appointment {}..{}", e.start.date_time, e.end.date_time,
                      core::FormatRfc3339(a.start), core::FormatRfc3339(a.end))};
      items.push_back(std::move(item));
    }
  }
  for (const core::Appointment& a : appointments) {
    auto m = meetings.find(a.id);
    if (m == meetings.end() || !Settled(m->second.state) || live.contains(a.id)) continue;
    if (a.status != core::AppointmentStatus::kBooked &&
        a.status != core::AppointmentStatus::kConfirmed) {
      continue;
    }
    Item item;
    item.prep = Item::Prep::kRecreate;
    item.appointment = a;
    item.meeting = m->second;
    item.change = {"recreate_missing", a.id, m->second.event_id,
                   "the meeting is " + std::string(core::Name(m->second.state)) +
                       ", Google has no live event"};
    items.push_back(std::move(item));
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& x, const Item& y) {
    return x.appointment.id < y.appointment.id;
  });
  std::erase_if(items, [&](const Item& i) { return i.appointment.id <= job.cursor; });
  return items;
}

Result<std::vector<BulkChange>> BulkRunner::Plan(const store::BulkJob& job) {
  std::vector<BulkChange> out;
  for (Item& item : TM_TRY(Targets(job))) out.push_back(std::move(item.change));
  return out;
}

std::vector<BulkRunner::Item> BulkRunner::ReconcileChunk(const store::BulkJob& job,
                                                         std::vector<Item> items, Outcome& outcome,
                                                         LeaseKeeper& keeper) {
  const std::string owner = LeaseOwner(job);
  const Instant now = clock_.Now();
  std::vector<std::pair<Item, core::Job>> leased;
  std::vector<Item> later;
  // Lease each appointment's reconcile job (made due now if it is not there) and prepare the
  // meeting in the same transaction, so no worker runs it in between.
  Status s = store_.Transact([&](store::Tx& tx) -> Status {
    leased.clear();
    later.clear();
    // Backfill: the reconciler's intent record ("creating", written before an insert so an
    // event made by a run that dies is known to exist) is written here for the whole chunk, in
    // this one transaction, instead of one transaction per appointment. Only when the insert is
    // certain: a confirmed telemedicine appointment (Targets) of a doctor whose grant is live.
    bool intents = false;
    std::string calendar_id;
    if (job.kind == kBulkBackfill) {
      auto grant = tx.GetGrant(job.doctor_id);
      intents = grant && grant->status == core::GrantStatus::kActive;
      if (intents) calendar_id = TM_TRY(tx.GetDoctor(job.doctor_id)).calendar_id;
    }
    for (Item& item : items) {
      const int64_t id = item.appointment.id;
      auto lease = TM_TRY(LeaseReconcileJob(tx, id, owner, options_.lease_for, now));
      if (!lease) {
        later.push_back(item);  // a live worker has it: look again in the next pass
        continue;
      }
      auto current = TM_TRY(MeetingOf(tx, id));
      if (item.prep == Item::Prep::kRecreate && current && Settled(current->state) &&
          current->event_id == item.meeting.event_id) {
        // Google has no live event: make it again (a deleted one is adopted and put back).
        core::Meeting m = *current;
        m.state = MeetingState::kCreating;
        TM_TRY(tx.PutMeeting(m));
        if (!m.drift.empty()) TM_TRY(tx.SetMeetingDrift(id, "", ""));
        TM_TRY(tx.AppendAudit(core::AuditEntry{
            .appointment_id = id,
            .actor = options_.actor,
            .action = "meeting.resync_missing",
            .detail = json{{"event_id", m.event_id}, {"was", core::Name(current->state)}}.dump()}));
      } else if (item.prep == Item::Prep::kRestoreMoved && current &&
                 current->state == MeetingState::kReady) {
        // Record what Google holds, so the reconciler patches the times back (and clears the
        // drift it reports).
        auto drift = DriftOf(*current, item.appointment, item.event);
        if (drift && *drift == kDriftMoved) {
          TM_TRY(RecordDrift(tx, item.appointment, *current, item.event, *drift, options_.actor));
        }
        core::Meeting m = *current;
        m.synced_start = core::ParseRfc3339(item.event.start.date_time).value_or(m.synced_start);
        m.synced_end = core::ParseRfc3339(item.event.end.date_time).value_or(m.synced_end);
        TM_TRY(tx.PutMeeting(m));
      }
      if (intents && item.appointment.series_id == 0 &&
          item.appointment.status == core::AppointmentStatus::kConfirmed &&
          (!current || !core::MayHaveEvent(current->state))) {
        core::Meeting m;
        if (current) {
          m = *current;
        } else {
          m.appointment_id = id;
          m.doctor_id = item.appointment.doctor_id;
          m.calendar_id = calendar_id;
          m.event_id = core::EventIdFor(item.appointment.uid);
          m.state = MeetingState::kNotNeeded;
        }
        const MeetingState from = m.state;
        m.state = MeetingState::kCreating;
        TM_TRY(tx.PutMeeting(m));
        TM_TRY(
            tx.AppendAudit(core::AuditEntry{.appointment_id = id,
                                            .actor = options_.actor,
                                            .action = "meeting.state",
                                            .detail = json{{"from", core::Name(from)},
                                                           {"to", core::Name(m.state)},
                                                           {"action", "insert"},
                                                           {"revision", item.appointment.revision}}
                                                          .dump()}));
      }
      leased.emplace_back(item, *lease);
    }
    return Ok();
  });
  if (!s) {
    for (Item& item : items) outcome.Fail(item.appointment.id, s.error().ToString());
    return {};
  }

  std::vector<RunResult> results(leased.size());
  for (const auto& [item, lease] : leased) keeper.Hold(lease);
  {
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<google::BatchingTransport::Participant>> joined;
    for (size_t i = 0; i < leased.size(); ++i) {
      joined.push_back(std::make_unique<google::BatchingTransport::Participant>(batching_));
    }
    for (size_t i = 0; i < leased.size(); ++i) {
      threads.emplace_back([&, i] {
        results[i] = reconciler_.Run(leased[i].second);
        joined[i].reset();
      });
    }
    for (auto& t : threads) t.join();
  }
  for (const auto& [item, lease] : leased) keeper.Drop(lease);
  for (size_t i = 0; i < leased.size(); ++i) {
    const RunResult& r = results[i];
    Item& item = leased[i].first;
    switch (r.disposition) {
      case Disposition::kCompleted:
        if (r.state == MeetingState::kFailed) {
          outcome.Fail(item.appointment.id, r.error);
        } else {
          ++outcome.done;
        }
        break;
      case Disposition::kRepoll:  // a pending conference (or more to patch): again
      case Disposition::kLeaseLost:
        item.prep = Item::Prep::kNone;
        later.push_back(std::move(item));
        break;
      case Disposition::kRetry:
      case Disposition::kParked:
      case Disposition::kStoreError:
        // Left to the service's worker, which retries it with its back-off (or on reconnect).
        outcome.Fail(item.appointment.id,
                     r.error.empty() ? std::string(Name(r.disposition)) : r.error);
        break;
    }
  }
  return later;
}

Status BulkRunner::DeleteStrays(const store::BulkJob& job, const std::vector<Item>& items,
                                Outcome& outcome) {
  if (items.empty()) return Ok();
  const std::string owner = LeaseOwner(job);
  const Instant now = clock_.Now();
  std::vector<core::Job> held;
  std::vector<const Item*> go;
  std::vector<int64_t> busy;  // recorded after the commit: the function may run again
  google::SendUpdates send = google::SendUpdates::kNone;
  TM_TRY(store_.Transact([&](store::Tx& tx) -> Status {
    held.clear();
    go.clear();
    busy.clear();
    send = SendUpdatesSetting(tx);
    for (const Item& item : items) {
      auto lease =
          TM_TRY(LeaseReconcileJob(tx, item.appointment.id, owner, options_.lease_for, now));
      if (!lease) {
        busy.push_back(item.appointment.id);
        continue;
      }
      held.push_back(*lease);
      go.push_back(&item);
    }
    return Ok();
  }));
  for (int64_t id : busy) outcome.Fail(id, "its reconcile job is running; resync again");
  std::vector<google::BatchOperation> ops;
  for (const Item* item : go) {
    google::BatchOperation op;
    op.kind = google::BatchOperation::Kind::kDelete;
    op.calendar_id = item->meeting.calendar_id.empty() ? "primary" : item->meeting.calendar_id;
    op.event_id = item->event.id;
    op.send_updates = send;
    ops.push_back(std::move(op));
  }
  auto results = calendar_.ExecuteBatch(std::to_string(job.doctor_id), ops);
  TM_TRY(store_.Transact([&](store::Tx& tx) -> Status {
    for (size_t i = 0; i < go.size(); ++i) {
      const Item& item = *go[i];
      const bool ok = results[i].has_value();
      TM_TRY(tx.AppendAudit(core::AuditEntry{
          .appointment_id = item.appointment.id,
          .actor = options_.actor,
          .action = "google.events.delete",
          .detail = json{{"event_id", item.event.id},
                         {"reason", "resync: stray event"},
                         {"outcome", ok ? "deleted" : results[i].error().ToString()}}
                        .dump()}));
      // The job was leased only to fence the delete; with a change meanwhile it runs again.
      TM_TRY(tx.CompleteJob(held[i]));
    }
    return Ok();
  }));
  for (size_t i = 0; i < go.size(); ++i) {
    if (results[i]) {
      ++outcome.done;
    } else {
      outcome.Fail(go[i]->appointment.id, results[i].error().ToString());
    }
  }
  return Ok();
}

Status BulkRunner::CancelChunk(const store::BulkJob& job, const std::vector<Item>& items,
                               std::vector<core::Job>& held, Outcome& outcome,
                               LeaseKeeper& keeper) {
  const std::string owner = LeaseOwner(job);
  const Instant now = clock_.Now();
  std::vector<const Item*> go;
  std::vector<core::Job> leased;
  google::SendUpdates send = google::SendUpdates::kNone;
  // The leases are kept until the end (FinishDisconnect): no worker makes an event again for a
  // meeting whose event is gone but not yet recorded.
  TM_TRY(store_.Transact([&](store::Tx& tx) -> Status {
    go.clear();
    leased.clear();
    send = SendUpdatesSetting(tx);
    for (const core::Job& j : held) TM_TRY(tx.ExtendLease(j, now + options_.lease_for));
    for (const Item& item : items) {
      auto lease =
          TM_TRY(LeaseReconcileJob(tx, item.appointment.id, owner, options_.lease_for, now));
      if (!lease) continue;  // a worker holds it: looked at again in the next pass
      leased.push_back(*lease);
      go.push_back(&item);
    }
    return Ok();
  }));
  std::vector<google::BatchOperation> ops;
  for (const Item* item : go) {
    google::BatchOperation op;
    op.kind = google::BatchOperation::Kind::kDelete;
    op.calendar_id = item->meeting.calendar_id;
    op.event_id = item->meeting.event_id;
    op.send_updates = send;
    ops.push_back(std::move(op));
  }
  auto results = calendar_.ExecuteBatch(std::to_string(job.doctor_id), ops);
  for (size_t i = 0; i < go.size(); ++i) {
    if (results[i]) {
      ++outcome.done;
      held.push_back(leased[i]);
      keeper.Hold(leased[i]);
    } else {
      outcome.Fail(go[i]->appointment.id, results[i].error().ToString());
      TM_TRY(store_.Transact([&](store::Tx& tx) { return tx.ReleaseJob(leased[i]); }));
    }
  }
  return Ok();
}

Status BulkRunner::FinishDisconnect(const store::BulkJob& job, std::vector<core::Job>& held) {
  const std::string doctor = std::to_string(job.doctor_id);
  auto sync = store_.Read([&](store::Tx& tx) { return tx.GetCalendarSync(job.doctor_id); });
  if (!sync && sync.error().code() != ErrorCode::kNotFound) return std::unexpected(sync.error());
  if (sync && !sync->channel_id.empty()) {
    auto stopped = calendar_.StopChannel(doctor, sync->channel_id, sync->channel_resource_id);
    if (!stopped) {
      obs::Log().Warn("stopping the Google push channel on disconnect failed",
                      {{"doctor_id", job.doctor_id}, {"error", stopped.error().ToString()}});
    }
  }
  std::string revoke_error = "not revoked";
  if (options_.revoke) revoke_error = options_.revoke(job.doctor_id);
  const Instant now = clock_.Now();
  return store_.Transact([&](store::Tx& tx) -> Status {
    auto grant = tx.GetGrant(job.doctor_id);
    if (grant) TM_TRY(tx.DeleteGrant(job.doctor_id));
    if (sync) {
      store::CalendarSyncState cleared{.doctor_id = job.doctor_id,
                                       .calendar_id = sync->calendar_id};
      cleared.updated_at = now;
      TM_TRY(tx.PutCalendarSync(cleared));
    }
    for (const core::Job& j : held) {
      const int64_t id = TM_TRY(ParseReconcilePayload(j.payload)).appointment_id;
      auto a = TM_TRY(tx.GetAppointment(id));
      if (auto m = TM_TRY(MeetingOf(tx, id)); m && core::MayHaveEvent(m->state)) {
        TM_TRY(RecordCancelled(tx, job.created_by, a, *m, "deleted", now));
      }
      TM_TRY(tx.CompleteJob(j));
    }
    TM_TRY(tx.AppendAdminAudit(core::AdminAuditEntry{
        .id = 0,
        .at = now,
        .actor = job.created_by,
        .kind = "google_connection",
        .action = "google.disconnected",
        .target = fmt::format("doctor:{}", job.doctor_id),
        .detail = json{{"doctor_id", job.doctor_id},
                       {"meetings", "cancel"},
                       {"bulk_job_id", job.id},
                       {"revoke_error", revoke_error.empty() ? json(nullptr) : json(revoke_error)}}
                      .dump()}));
    return Ok();
  });
}

Result<store::BulkJob> BulkRunner::Execute(store::BulkJob job, const core::Job& lease,
                                           const BulkProgressFn& progress) {
  const auto save = [&](bool report) -> Status {
    TM_TRY(store_.Transact([&](store::Tx& tx) -> Status {
      TM_TRY(tx.ExtendLease(lease, clock_.Now() + options_.lease_for));
      return tx.SaveBulkProgress(job);
    }));
    if (report && progress) progress(job);
    return Ok();
  };
  LeaseKeeper keeper(store_, clock_, options_.lease_for);
  keeper.Hold(lease);
  job.state = "running";
  auto targets = Targets(job);
  if (!targets) {
    job.state = "failed";
    job.finished_at = clock_.Now();
    json f = json::parse(job.failures, nullptr, false);
    if (!f.is_array()) f = json::array();
    f.push_back({{"appointment_id", nullptr}, {"error", targets.error().ToString()}});
    job.failures = f.dump();
    TM_TRY(save(true));
    return job;
  }
  // A resumed job keeps its counts; the total is what was done plus what is left.
  const int64_t before = job.kind == kBulkDisconnectCancel ? 0 : job.done + job.failed;
  if (job.kind == kBulkDisconnectCancel) {
    job.done = 0;
    job.failed = 0;
  }
  job.total = before + static_cast<int64_t>(targets->size());
  TM_TRY(save(true));

  Outcome outcome;
  json failures = json::parse(job.failures, nullptr, false);
  if (failures.is_array() && job.kind != kBulkDisconnectCancel) outcome.failures = failures;
  const int64_t done0 = job.kind == kBulkDisconnectCancel ? 0 : job.done;
  const int64_t failed0 = job.kind == kBulkDisconnectCancel ? 0 : job.failed;
  std::vector<core::Job> held;  // disconnect: the leases kept to the end
  const size_t chunk = std::clamp<size_t>(options_.chunk, 1, 50);
  for (size_t begin = 0; begin < targets->size(); begin += chunk) {
    std::vector<Item> pending(
        targets->begin() + static_cast<std::ptrdiff_t>(begin),
        targets->begin() + static_cast<std::ptrdiff_t>(std::min(targets->size(), begin + chunk)));
    for (int pass = 0; !pending.empty(); ++pass) {
      if (pass > 0) std::this_thread::sleep_for(options_.pass_pause);
      if (pass >= options_.max_passes) {
        for (const Item& i : pending) outcome.Fail(i.appointment.id, "still busy; run again");
        break;
      }
      std::vector<Item> reconcile, strays, flags, cancels;
      for (Item& i : pending) {
        switch (i.prep) {
          case Item::Prep::kDelete:
            (job.kind == kBulkDisconnectCancel ? cancels : strays).push_back(std::move(i));
            break;
          case Item::Prep::kFlagMoved:
            flags.push_back(std::move(i));
            break;
          default:
            reconcile.push_back(std::move(i));
        }
      }
      pending.clear();
      if (!flags.empty()) {
        // Recorded as the calendar sync would: no Google call, no lease needed (the sync does
        // the same beside the worker).
        TM_TRY(store_.Transact([&](store::Tx& tx) -> Status {
          for (const Item& i : flags) {
            auto m = TM_TRY(MeetingOf(tx, i.appointment.id));
            if (!m) continue;
            auto drift = DriftOf(*m, i.appointment, i.event);
            if (drift) TM_TRY(RecordDrift(tx, i.appointment, *m, i.event, *drift, options_.actor));
          }
          return Ok();
        }));
        outcome.done += static_cast<int64_t>(flags.size());
      }
      TM_TRY(DeleteStrays(job, strays, outcome));
      if (!cancels.empty()) TM_TRY(CancelChunk(job, cancels, held, outcome, keeper));
      if (!reconcile.empty()) pending = ReconcileChunk(job, std::move(reconcile), outcome, keeper);
    }
    job.cursor = std::max(job.cursor,
                          (*targets)[std::min(targets->size(), begin + chunk) - 1].appointment.id);
    job.done = done0 + outcome.done;
    job.failed = failed0 + outcome.failed;
    job.failures = outcome.failures.dump();
    TM_TRY(save(true));
  }
  if (job.kind == kBulkDisconnectCancel) {
    TM_TRY(FinishDisconnect(job, held));
    if (options_.after_disconnect) options_.after_disconnect(job.doctor_id);
  }
  job.state = "done";
  job.finished_at = clock_.Now();
  TM_TRY(save(true));
  if (options_.on_changes) options_.on_changes();
  return job;
}

RunResult BulkRunner::Run(const core::Job& lease) {
  RunResult result;
  int64_t id = 0;
  std::from_chars(lease.payload.data(), lease.payload.data() + lease.payload.size(), id);
  auto job = store_.Read([&](store::Tx& tx) { return tx.GetBulkJob(id); });
  if (!job || job->state == "done" || job->state == "failed") {
    Status done = store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(lease); });
    result.disposition = done ? Disposition::kCompleted : Disposition::kLeaseLost;
    return result;
  }
  auto ended = Execute(*job, lease);
  if (!ended) {
    result.error = ended.error().ToString();
    const bool lost = store::IsLeaseLost(ended.error());
    result.disposition = lost ? Disposition::kLeaseLost : Disposition::kRetry;
    if (!lost) {
      Instant at = store::BackoffAfter(lease, clock_.Now());
      (void)store_.Transact([&](store::Tx& tx) { return tx.RetryJob(lease, at, result.error); });
    }
    obs::Log().Warn("bulk job stopped", {{"job", lease.key}, {"error", result.error}});
    return result;
  }
  Status done = store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(lease); });
  result.disposition = done ? Disposition::kCompleted : Disposition::kLeaseLost;
  return result;
}

}  // namespace telemeet::sync
