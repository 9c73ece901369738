#include "sync/reconciler.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "core/recurrence.h"
#include "core/time.h"
#include "net/json.h"
#include "obs/log.h"
#include "sync/attendance.h"

namespace telemeet::sync {

using core::Action;
using core::MeetingState;
using google::ErrorKind;

std::string_view Name(Disposition d) {
  switch (d) {
    case Disposition::kCompleted:
      return "completed";
    case Disposition::kRepoll:
      return "repoll";
    case Disposition::kRetry:
      return "retry";
    case Disposition::kParked:
      return "parked";
    case Disposition::kLeaseLost:
      return "lease_lost";
    case Disposition::kStoreError:
      return "store_error";
  }
  return "unknown";
}

std::string RenderTitle(std::string_view title_template, std::string_view service,
                        std::string_view doctor, std::string_view patient) {
  std::string out;
  out.reserve(title_template.size() + 32);
  size_t i = 0;
  while (i < title_template.size()) {
    if (title_template[i] == '{') {
      size_t close = title_template.find('}', i);
      if (close != std::string_view::npos) {
        std::string_view name = title_template.substr(i + 1, close - i - 1);
        std::optional<std::string_view> value;
        if (name == "service") value = service;
        if (name == "doctor") value = doctor;
        if (name == "patient") value = patient;
        if (value) {
          out += *value;
          i = close + 1;
          continue;
        }
      }
    }
    out += title_template[i++];
  }
  return out;
}

Result<ReconcilePayload> ParseReconcilePayload(std::string_view payload) {
  ReconcilePayload p;
  const char* begin = payload.data();
  const char* end = payload.data() + payload.size();
  auto [after_id, ec] = std::from_chars(begin, end, p.appointment_id);
  if (ec != std::errc() || p.appointment_id <= 0) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("reconcile payload \"{}\" names no appointment", payload), "payload");
  }
  std::string_view rest(after_id, static_cast<size_t>(end - after_id));
  constexpr std::string_view kPoll = " poll=";
  if (rest.starts_with(kPoll)) {
    rest.remove_prefix(kPoll.size());
    auto [after_polls, ec2] = std::from_chars(rest.data(), rest.data() + rest.size(), p.polls);
    if (ec2 != std::errc() || p.polls < 0) p.polls = 0;
    rest =
        std::string_view(after_polls, static_cast<size_t>(rest.data() + rest.size() - after_polls));
  }
  if (!rest.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("reconcile payload \"{}\" is malformed", payload), "payload");
  }
  return p;
}

std::string FormatReconcilePayload(const ReconcilePayload& p) {
  if (p.polls == 0) return std::to_string(p.appointment_id);
  return fmt::format("{} poll={}", p.appointment_id, p.polls);
}

// The audit details and outbox payloads below are written as text, keys in sorted order (the
// bytes nlohmann::json's dump gave): the committer writes several for every job.
std::string MeetingEventPayload(const core::Appointment& a, const core::Meeting& m) {
  std::string text;
  net::JsonWriter w(text);
  core::Rfc3339Buffer start, end;
  w.BeginObject().Key("appointment_id").Int(a.id).Key("appointment_uid").String(a.uid);
  w.Key("doctor_id").Int(a.doctor_id).Key("end").String(core::FormatRfc3339(a.end, end));
  if (!m.last_error.empty()) w.Key("error").String(m.last_error);
  if (!m.event_url.empty()) w.Key("event_url").String(m.event_url);
  if (!m.join_url.empty()) w.Key("join_url").String(m.join_url);
  w.Key("start")
      .String(core::FormatRfc3339(a.start, start))
      .Key("state")
      .String(core::Name(m.state));
  w.Key("time_zone").String(a.time_zone).EndObject();
  return text;
}

namespace {

// {"action":…,["error":…,]"from":…,"revision":…,"to":…}: a meeting's state change.
std::string StateChangeDetail(core::MeetingState from, core::MeetingState to, Action action,
                              int64_t revision, std::string_view error = {}) {
  std::string text;
  net::JsonWriter w(text);
  w.BeginObject().Key("action").String(core::Name(action));
  if (!error.empty()) w.Key("error").String(error);
  w.Key("from").String(core::Name(from)).Key("revision").Int(revision);
  w.Key("to").String(core::Name(to)).EndObject();
  return text;
}

}  // namespace

MeetingSettings SettingsFrom(const std::vector<std::pair<std::string, std::string>>& settings,
                             MeetingSettings out) {
  for (const auto& [key, value] : settings) {
    if (key == kSettingCreateOn) {
      if (value == "booking") out.policy.create_at_booking = true;
      if (value == "confirmation") out.policy.create_at_booking = false;
    } else if (key == kSettingSendUpdates) {
      for (auto v : {google::SendUpdates::kAll, google::SendUpdates::kExternalOnly,
                     google::SendUpdates::kNone}) {
        if (value == google::SendUpdatesName(v)) out.send_updates = v;
      }
    } else if (key == kSettingCancelMode) {
      if (value == "delete") out.cancel_mode = CancelMode::kDelete;
      if (value == "mark_cancelled") out.cancel_mode = CancelMode::kMarkCancelled;
    } else if (key == kSettingInvitePatient) {
      if (value == "true") out.policy.invite_patient = true;
      if (value == "false") out.policy.invite_patient = false;
    } else if (key == kSettingEventReminders) {
      if (auto r = core::ParseEventReminders(value, key)) out.policy.reminders = std::move(*r);
    }
  }
  return out;
}

struct Reconciler::Snapshot {
  MeetingSettings settings;
  core::Appointment appointment;
  core::Service service;
  core::Patient patient;
  core::Doctor doctor;
  std::optional<core::GrantStatus> grant;
  core::Meeting meeting;  // as stored, or a fresh one
  bool meeting_exists = false;
  core::Desired desired;
  std::string doctor_key;  // the doctor as the Google layer names it
  int polls = 0;
  // A single-event series' occurrence (M15): the series whose recurring event the occurrence
  // is an instance of; nullopt for every other appointment (per-occurrence series included).
  std::optional<core::AppointmentSeries> series;
  // Another occurrence of that series has a meeting the series' event exists for.
  bool sibling_has_event = false;
};

struct Reconciler::Plan {
  Action action = Action::kNothing;
  MeetingState decided = MeetingState::kNotNeeded;  // NextAction's state
  core::Meeting meeting;                            // to write
  Disposition disposition = Disposition::kCompleted;
  std::string error;
  std::chrono::microseconds repoll_after{0};
  bool series_event_made = false;  // an insert of a series' event answered with the event
  bool outbox = false;             // the commit writes outbox events
};

Reconciler::Reconciler(store::Store& store, google::CalendarClient& calendar, CallCollector& calls,
                       const Clock& clock, ReconcilerOptions options)
    : store_(store),
      calendar_(calendar),
      calls_(calls),
      clock_(clock),
      options_(std::move(options)) {}

struct Reconciler::PreparedRun final : PreparedJob {
  Snapshot snap;
};

Result<MeetingSettings> Reconciler::SettingsOf(store::Tx& tx) const {
  auto settings = TM_TRY(tx.ListSettings(kSettingPrefix));
  return SettingsFrom(settings, {.policy = options_.policy,
                                 .send_updates = options_.send_updates,
                                 .cancel_mode = options_.cancel_mode});
}

Reconciler::Snapshot Reconciler::SnapshotFrom(store::ReconcileView view,
                                              const MeetingSettings& settings) const {
  Snapshot s;
  const int64_t appointment_id = view.appointment.id;
  s.appointment = std::move(view.appointment);
  s.service = std::move(view.service);
  s.patient = std::move(view.patient);
  s.doctor = std::move(view.doctor);
  if (view.grant) s.grant = view.grant->status;
  s.settings = settings;
  if (view.meeting) {
    s.meeting = std::move(*view.meeting);
    s.meeting_exists = true;
  } else {
    s.meeting.appointment_id = appointment_id;
    s.meeting.doctor_id = s.appointment.doctor_id;
    s.meeting.calendar_id = s.doctor.calendar_id;
    s.meeting.event_id = core::EventIdFor(s.appointment.uid);
    s.meeting.state = MeetingState::kNotNeeded;
  }
  return s;
}

Result<Reconciler::Snapshot> Reconciler::ReadSnapshot(int64_t appointment_id) {
  return store_.Read([&](store::Tx& tx) -> Result<Snapshot> {
    store::ReconcileView view = TM_TRY(tx.LoadForReconcile(appointment_id));
    Snapshot s = SnapshotFrom(std::move(view), TM_TRY(SettingsOf(tx)));
    if (s.appointment.series_id != 0) {
      auto series = TM_TRY(tx.GetSeries(s.appointment.series_id));
      if (series.mode == core::SeriesMode::kSingleEvent) {
        // The occurrence's meeting is its instance of the series' event.
        s.meeting.event_id =
            core::InstanceEventId(core::SeriesEventIdFor(series.uid), s.appointment.original_start);
        for (const core::Appointment& other : TM_TRY(tx.ListSeriesAppointments(series.id))) {
          if (other.id == s.appointment.id) continue;
          auto m = tx.GetMeeting(other.id);
          if (m && (m->state == MeetingState::kReady || m->state == MeetingState::kUpdating ||
                    m->state == MeetingState::kConferencePending)) {
            s.sibling_has_event = true;
            break;
          }
        }
        s.series = std::move(series);
      }
    }
    return s;
  });
}

core::Decision Reconciler::SeriesDecision(Snapshot& snap) const {
  // The series' event holds every occurrence from the start: each one not cancelled wants its
  // instance (whether confirmed yet or not), a cancelled one wants it gone.
  snap.desired.wanted = snap.service.telemedicine && !snap.desired.cancelled;
  core::Decision d = core::NextAction(snap.desired, snap.meeting);
  // A cancelled occurrence that never had a meeting of its own still has an instance once the
  // series' event exists (another occurrence made it): it is deleted, unless a deletion already
  // happened for this revision.
  if (d.action == Action::kNothing && snap.desired.cancelled && snap.sibling_has_event &&
      !core::MayHaveEvent(snap.meeting.state) &&
      snap.meeting.synced_revision != snap.desired.revision &&
      snap.desired.grant == core::GrantStatus::kActive) {
    return {Action::kDelete, MeetingState::kCancelling};
  }
  return d;
}

core::Meeting Reconciler::IntentFor(const Snapshot& snap) const {
  core::Meeting intent = snap.meeting;
  intent.state = MeetingState::kCreating;
  intent.doctor_id = snap.appointment.doctor_id;
  if (!snap.meeting_exists) intent.calendar_id = snap.doctor.calendar_id;
  return intent;
}

core::AuditEntry Reconciler::IntentAudit(const Snapshot& snap, const core::Meeting& intent) const {
  core::AuditEntry entry;
  entry.appointment_id = snap.appointment.id;
  entry.actor = options_.actor;
  entry.action = "meeting.state";
  entry.detail = StateChangeDetail(snap.meeting.state, intent.state, Action::kInsert,
                                   snap.appointment.revision);
  return entry;
}

Status Reconciler::RecordIntent(const core::Job& job, Snapshot& snap) {
  core::Meeting intent = IntentFor(snap);
  const Instant until = clock_.Now() + options_.lease_for;
  const std::optional<core::Meeting> expected =
      snap.meeting_exists ? std::optional<core::Meeting>(snap.meeting) : std::nullopt;
  Status s = store_.Transact([&](store::Tx& tx) -> Status {
    if (auto lease = tx.ExtendLease(job, until); !lease) return lease;
    // Written only over the meeting the snapshot saw (state, conference attempt), in one
    // statement: an admin retry or another run that changed it first wins.
    if (!TM_TRY(tx.PutMeetingIf(expected, intent))) {
      return Fail(ErrorCode::kFailedPrecondition, "meeting changed while the job ran");
    }
    if (auto a = tx.AppendAudit(IntentAudit(snap, intent)); !a) return std::unexpected(a.error());
    return Ok();
  });
  if (!s) return s;
  snap.meeting = std::move(intent);
  snap.meeting_exists = true;
  return Ok();
}

Result<std::vector<std::unique_ptr<PreparedJob>>> Reconciler::Prepare(
    store::Tx& tx, std::span<const core::Job> jobs) {
  std::vector<std::unique_ptr<PreparedJob>> out(jobs.size());
  std::vector<int64_t> ids;
  std::vector<std::pair<int64_t, size_t>> job_of;  // appointment id -> index in jobs
  std::vector<int> polls(jobs.size(), 0);
  std::vector<bool> intended(jobs.size(), false);  // the job's insert intent is written
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto payload = ParseReconcilePayload(jobs[i].payload);
    if (!payload) continue;  // Run finishes it
    ids.push_back(payload->appointment_id);
    job_of.emplace_back(payload->appointment_id, i);
    polls[i] = payload->polls;
  }
  if (ids.empty()) return out;
  std::vector<store::ReconcileView> views = TM_TRY(tx.LoadForReconcile(ids));
  const MeetingSettings settings = TM_TRY(SettingsOf(tx));
  std::vector<std::unique_ptr<PreparedRun>> runs(jobs.size());
  std::vector<core::Meeting> fresh;  // intents where no meeting row exists yet
  std::vector<size_t> fresh_of;      // their jobs
  for (store::ReconcileView& view : views) {
    // A series' occurrence also reads its siblings (ReadSnapshot): Run does it all.
    if (view.appointment.series_id != 0) continue;
    auto at = std::ranges::find(job_of, view.appointment.id, &std::pair<int64_t, size_t>::first);
    if (at == job_of.end()) continue;
    const size_t i = at->second;
    auto run = std::make_unique<PreparedRun>();
    Snapshot& snap = run->snap;
    snap = SnapshotFrom(std::move(view), settings);
    snap.polls = polls[i];
    const core::Decision decision = Decide(snap);
    runs[i] = std::move(run);
    if (decision.action != Action::kInsert || core::MayHaveEvent(snap.meeting.state)) continue;
    // The intent, as RecordIntent writes it, under the lease this transaction takes.
    if (!snap.meeting_exists) {
      fresh.push_back(IntentFor(snap));
      fresh_of.push_back(i);
    } else if (!TM_TRY(tx.PutMeetingIf(snap.meeting, IntentFor(snap)))) {
      runs[i].reset();  // changed meanwhile: Run reads it again
    } else {
      intended[i] = true;
    }
  }
  // The new meetings' intents in one statement; one that found a row made meanwhile is left
  // to Run.
  for (int64_t id : TM_TRY(tx.InsertMeetingsIfAbsent(fresh))) {
    auto at = std::ranges::find(job_of, id, &std::pair<int64_t, size_t>::first);
    if (at != job_of.end()) intended[at->second] = true;
  }
  for (size_t i : fresh_of) {
    if (!intended[i]) runs[i].reset();
  }
  std::vector<core::AuditEntry> audit;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!runs[i]) continue;
    if (intended[i]) {
      Snapshot& snap = runs[i]->snap;
      core::Meeting intent = IntentFor(snap);
      audit.push_back(IntentAudit(snap, intent));
      snap.meeting = std::move(intent);
      snap.meeting_exists = true;
    }
    out[i] = std::move(runs[i]);
  }
  TM_TRY(tx.AppendAudits(std::move(audit)));
  return out;
}

namespace {

std::vector<google::Attendee> AttendeesFor(const core::Desired& d) {
  std::vector<google::Attendee> out;
  for (const core::Guest& g : d.guests) {
    out.push_back(google::Attendee{.email = g.email, .display_name = g.name});
  }
  return out;
}

google::Reminders RemindersFor(const core::Desired& d) {
  google::Reminders r;
  r.use_default = d.reminders.use_default;
  for (const core::ReminderOverride& o : d.reminders.overrides) {
    r.overrides.push_back({o.method, o.minutes});
  }
  return r;
}

// What an event we adopted (made by an earlier run, or changed since) holds, in the
// fingerprints' terms. The calendar owner's own entry, which Google lists among the attendees,
// is not a guest.
void RecordGuestsOf(const google::Event& e, core::Meeting& m) {
  std::vector<core::Guest> guests;
  for (const google::Attendee& a : e.attendees) {
    if (!a.self) guests.push_back({a.email, a.display_name});
  }
  m.attendees_fingerprint = core::GuestsFingerprint(guests);
  core::EventReminders r;
  if (e.reminders) {
    r.use_default = e.reminders->use_default;
    for (const google::ReminderOverride& o : e.reminders->overrides) {
      r.overrides.push_back({o.method, o.minutes});
    }
  }
  m.reminders_fingerprint = core::RemindersFingerprint(r);
}

void RecordGuestsOf(const core::Desired& d, core::Meeting& m) {
  m.attendees_fingerprint = d.attendees_fingerprint;
  m.reminders_fingerprint = d.reminders_fingerprint;
}

bool GuestsDiffer(const core::Desired& d, const core::Meeting& m) {
  return d.attendees_fingerprint != m.attendees_fingerprint ||
         d.reminders_fingerprint != m.reminders_fingerprint;
}

}  // namespace

Result<google::EventSpec> Reconciler::SpecFor(const Snapshot& snap,
                                              int32_t conference_attempt) const {
  const core::Appointment& a = snap.appointment;
  auto start = core::FormatWithOffset(a.start, a.time_zone);
  if (!start) return std::unexpected(start.error());
  auto end = core::FormatWithOffset(a.end, a.time_zone);
  if (!end) return std::unexpected(end.error());
  google::EventSpec spec;
  spec.id = snap.meeting.event_id;
  spec.summary = RenderTitle(snap.service.event_title_template, snap.service.name, snap.doctor.name,
                             snap.patient.name);
  spec.start.date_time = std::move(*start);
  spec.start.time_zone = a.time_zone;
  spec.end.date_time = std::move(*end);
  spec.end.time_zone = a.time_zone;
  spec.attendees = AttendeesFor(snap.desired);
  spec.visibility = google::Visibility::kPrivate;
  // The calendar's defaults are what an event without `reminders` gets.
  if (!snap.desired.reminders.use_default) spec.reminders = RemindersFor(snap.desired);
  spec.private_properties = {{std::string(kAppointmentIdProperty), std::to_string(a.id)},
                             {std::string(kAppointmentUidProperty), a.uid}};
  spec.conference_request_id = core::RequestIdFor(a.uid, conference_attempt);
  return spec;
}

// The series' recurring event as a whole: its first occurrence's times in the series' zone, the
// rule, and one conference for every instance (requestId from the series, so every occurrence
// asking for it asks for the same one).
Result<google::EventSpec> Reconciler::SeriesSpecFor(const Snapshot& snap,
                                                    int32_t conference_attempt) const {
  const core::AppointmentSeries& series = *snap.series;
  google::EventSpec spec = TM_TRY(SpecFor(snap, conference_attempt));
  spec.id = core::SeriesEventIdFor(series.uid);
  spec.start.date_time = TM_TRY(core::FormatWithOffset(series.first_start, series.time_zone));
  spec.start.time_zone = series.time_zone;
  spec.end.date_time = TM_TRY(core::FormatWithOffset(series.first_end, series.time_zone));
  spec.end.time_zone = series.time_zone;
  spec.recurrence = {series.rrule};
  spec.private_properties = {{std::string(kSeriesIdProperty), std::to_string(series.id)},
                             {std::string(kSeriesUidProperty), series.uid}};
  spec.conference_request_id = core::RequestIdFor("series-" + series.uid, conference_attempt);
  return spec;
}

// The series' event as this occurrence's instance sees it before any change of its own: the
// instance id, the times the rule gave it, the series' conference. Moved occurrences are patched
// from there (NextAction sees other times).
google::Event Reconciler::AsInstance(const Snapshot& snap, google::Event master) const {
  const core::AppointmentSeries& series = *snap.series;
  const Instant start = snap.appointment.original_start;
  master.id = snap.meeting.event_id;
  master.start.date_time = core::FormatWithOffset(start, series.time_zone).value_or("");
  master.end.date_time =
      core::FormatWithOffset(start + (series.first_end - series.first_start), series.time_zone)
          .value_or("");
  return master;
}

namespace {

bool Permanent(const google::GoogleError& e) {
  switch (e.kind()) {
    case ErrorKind::kConferenceRefused:
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kForbidden:
    case ErrorKind::kDuplicate:
    case ErrorKind::kScopeNotGranted:
      return true;
    default:
      return false;
  }
}

std::string Readable(const google::GoogleError& e) {
  switch (e.kind()) {
    case ErrorKind::kConferenceRefused:
      return fmt::format(
          "Google Calendar refused to add a Google Meet to this calendar ({}). Allow Google Meet "
          "conferences for the doctor's calendar, then retry.",
          e.message());
    case ErrorKind::kInvalidRequest:
      return fmt::format("Google rejected the event as invalid (HTTP {} {}): {}", e.http_status(),
                         e.reason(), e.message());
    case ErrorKind::kForbidden:
      return fmt::format("Google refused the change (HTTP {} {}): {}", e.http_status(), e.reason(),
                         e.message());
    case ErrorKind::kDuplicate:
      return fmt::format(
          "An event with this appointment's id exists at Google and is not ours: "
          "{}",
          e.message());
    default:
      return e.ToString();
  }
}

bool SameMeeting(const core::Meeting& a, const core::Meeting& b) {
  return a.state == b.state && a.event_id == b.event_id && a.conference_id == b.conference_id &&
         a.join_url == b.join_url && a.event_url == b.event_url && a.etag == b.etag &&
         a.synced_revision == b.synced_revision && a.synced_start == b.synced_start &&
         a.synced_end == b.synced_end && a.conference_attempt == b.conference_attempt &&
         a.attempts == b.attempts && a.last_error == b.last_error &&
         a.calendar_id == b.calendar_id && a.attendees_fingerprint == b.attendees_fingerprint &&
         a.reminders_fingerprint == b.reminders_fingerprint;
}

}  // namespace

void Reconciler::ApplyError(const Snapshot& snap, const google::GoogleError& e, Plan& plan) {
  core::Meeting& m = plan.meeting;
  plan.error = e.ToString();
  if (e.NeedsReconnect() || e.kind() == ErrorKind::kInvalidGrant) {
    m.state = MeetingState::kNeedsReconnect;
    m.last_error = "The doctor's Google connection is no longer valid (" + e.message() +
                   "); reconnecting resumes the work.";
    plan.disposition = Disposition::kParked;
    return;
  }
  if (e.kind() == ErrorKind::kNotConnected) {
    m.state = core::MayHaveEvent(snap.meeting.state) ? MeetingState::kNeedsReconnect
                                                     : MeetingState::kAwaitingDoctor;
    m.last_error.clear();
    plan.disposition = Disposition::kCompleted;
    return;
  }
  if (Permanent(e)) {
    m.state = MeetingState::kFailed;
    m.last_error = Readable(e);
    m.attempts += 1;
    plan.disposition = Disposition::kCompleted;
    return;
  }
  // Transient (network, 5xx, rate limits, quota, store, our configuration): again later,
  // visibly.
  m.attempts += 1;
  m.last_error = e.ToString();
  plan.disposition = Disposition::kRetry;
}

void Reconciler::ApplyEvent(const Snapshot& snap, google::Event event, Plan& plan) {
  core::Meeting& m = plan.meeting;
  int updates = 0;
  for (;;) {
    if (event.cancelled()) {
      m.state = MeetingState::kFailed;
      m.last_error =
          "The Google event was deleted in Google Calendar; it cannot be brought back with the "
          "same id.";
      plan.error = m.last_error;
      plan.disposition = Disposition::kCompleted;
      return;
    }
    m.event_id = event.id;
    m.etag = event.etag;
    m.event_url = event.html_link;
    m.synced_start = core::ParseRfc3339(event.start.date_time).value_or(Instant{});
    m.synced_end = core::ParseRfc3339(event.end.date_time).value_or(Instant{});
    m.synced_revision = snap.desired.revision;
    m.attempts = 0;
    m.last_error.clear();
    const google::Conference& c = event.conference;
    if (c.status == google::ConferenceStatus::kSuccess && !c.join_url.empty()) {
      m.conference_id = c.conference_id;
      m.join_url = c.join_url;
      m.state = MeetingState::kReady;
      plan.disposition = Disposition::kCompleted;
      if (core::FloorToSecond(m.synced_start) != core::FloorToSecond(snap.desired.start) ||
          core::FloorToSecond(m.synced_end) != core::FloorToSecond(snap.desired.end) ||
          GuestsDiffer(snap.desired, m)) {
        // An adopted event with older times or guests, or a patch of the times when the guests
        // changed too: run again at once to patch the rest.
        plan.disposition = Disposition::kRepoll;
        plan.repoll_after = std::chrono::microseconds(0);
      }
      return;
    }
    if (c.status == google::ConferenceStatus::kPending) {
      m.join_url.clear();  // never publish a link before it exists
      m.state = MeetingState::kConferencePending;
      plan.disposition = Disposition::kRepoll;
      int shift = std::min(snap.polls, 20);
      plan.repoll_after = std::min(options_.poll_max, options_.poll_base * (int64_t{1} << shift));
      return;
    }
    // No conference, a failed one, or success without a link.
    m.join_url.clear();
    if (snap.series) {
      // A series' conference is its recurring event's: asking again from one occurrence would
      // give that instance a link of its own, so the occurrence fails visibly instead.
      m.state = MeetingState::kFailed;
      m.last_error =
          fmt::format("Google has no Google Meet conference for the series' event (status {}).",
                      google::ConferenceStatusName(c.status));
      plan.error = m.last_error;
      plan.disposition = Disposition::kCompleted;
      return;
    }
    const std::string ours = core::RequestIdFor(snap.appointment.uid, m.conference_attempt);
    const bool ours_failed = c.request_id == ours && c.status != google::ConferenceStatus::kNone;
    const int per_round = std::max(1, options_.conference_attempts);
    if (ours_failed) {
      if (m.conference_attempt % per_round == 0) {
        m.state = MeetingState::kFailed;
        m.last_error = fmt::format(
            "Google could not create the Google Meet conference (status {} for requestId {}).",
            google::ConferenceStatusName(c.status), ours);
        plan.error = m.last_error;
        plan.disposition = Disposition::kCompleted;
        return;
      }
      m.conference_attempt += 1;  // a new requestId asks Google for a new conference
    }
    if (++updates > per_round + 1) {
      m.state = MeetingState::kFailed;
      m.last_error = "Google kept answering without a conference for the event.";
      plan.error = m.last_error;
      plan.disposition = Disposition::kCompleted;
      return;
    }
    Snapshot with_attempt = snap;
    with_attempt.meeting.event_id = m.event_id;
    auto spec = SpecFor(with_attempt, m.conference_attempt);
    if (!spec) {
      m.state = MeetingState::kFailed;
      m.last_error = spec.error().message();
      plan.error = m.last_error;
      plan.disposition = Disposition::kCompleted;
      return;
    }
    auto updated = calendar_.UpdateEvent(snap.doctor_key, m.calendar_id, *spec, event,
                                         snap.settings.send_updates);
    if (!updated) {
      ApplyError(snap, updated.error(), plan);
      return;
    }
    RecordGuestsOf(snap.desired, m);  // the whole resource was sent
    event = std::move(*updated);
  }
}

void Reconciler::ActInsert(const Snapshot& snap, Plan& plan) {
  auto spec = snap.series ? SeriesSpecFor(snap, plan.meeting.conference_attempt)
                          : SpecFor(snap, plan.meeting.conference_attempt);
  if (!spec) {
    plan.meeting.state = MeetingState::kFailed;
    plan.meeting.last_error = spec.error().message();
    plan.error = plan.meeting.last_error;
    return;
  }
  auto made = calendar_.InsertEvent(snap.doctor_key, plan.meeting.calendar_id, *spec,
                                    snap.settings.send_updates);
  if (!made) return ApplyError(snap, made.error(), plan);
  if (made->adopted) {
    RecordGuestsOf(made->event, plan.meeting);  // as an earlier run or a person left it
  } else {
    RecordGuestsOf(snap.desired, plan.meeting);
  }
  if (made->event.cancelled()) {
    // The 409 adopted an event with our id that was deleted (the doctor disconnected with
    // meetings=cancel, then reconnected). Google keeps a deleted id, so it is put back.
    auto restored =
        calendar_.RestoreEvent(snap.doctor_key, plan.meeting.calendar_id, made->event.id,
                               spec->start, spec->end, snap.settings.send_updates);
    if (!restored) return ApplyError(snap, restored.error(), plan);
    return ApplyEvent(snap, snap.series ? AsInstance(snap, std::move(*restored)) : *restored, plan);
  }
  plan.series_event_made = snap.series.has_value();
  ApplyEvent(snap, snap.series ? AsInstance(snap, std::move(made->event)) : made->event, plan);
}

// The event is gone at Google: make it again at once. (A template: Plan is private to
// Reconciler.)
template <typename PlanT>
static void RecreateAtOnce(PlanT& plan) {
  plan.meeting.state = MeetingState::kCreating;
  plan.disposition = Disposition::kRepoll;
  plan.repoll_after = std::chrono::microseconds(0);
}

void Reconciler::ActPoll(const Snapshot& snap, Plan& plan) {
  // A series' conference is read from the recurring event itself.
  auto event = calendar_.GetEvent(
      snap.doctor_key, plan.meeting.calendar_id,
      snap.series ? core::SeriesEventIdFor(snap.series->uid) : plan.meeting.event_id);
  if (!event) {
    if (event.error().kind() == ErrorKind::kNotFound) return RecreateAtOnce(plan);
    return ApplyError(snap, event.error(), plan);
  }
  ApplyEvent(snap, snap.series ? AsInstance(snap, std::move(*event)) : *event, plan);
}

void Reconciler::ActPatch(const Snapshot& snap, Plan& plan) {
  auto spec = SpecFor(snap, plan.meeting.conference_attempt);
  if (!spec) {
    plan.meeting.state = MeetingState::kFailed;
    plan.meeting.last_error = spec.error().message();
    plan.error = plan.meeting.last_error;
    return;
  }
  // An event the doctor deleted in Google is put back (status confirmed) with the times.
  const bool restore = snap.meeting.drift == kDriftDeleted;
  auto event = restore ? calendar_.RestoreEvent(snap.doctor_key, plan.meeting.calendar_id,
                                                plan.meeting.event_id, spec->start, spec->end,
                                                snap.settings.send_updates)
                       : calendar_.PatchEventTimes(snap.doctor_key, plan.meeting.calendar_id,
                                                   plan.meeting.event_id, spec->start, spec->end,
                                                   snap.settings.send_updates);
  if (!event) {
    if (event.error().kind() == ErrorKind::kNotFound) return RecreateAtOnce(plan);
    return ApplyError(snap, event.error(), plan);
  }
  ApplyEvent(snap, std::move(*event), plan);
}

void Reconciler::ActPatchGuests(const Snapshot& snap, Plan& plan) {
  // Only what differs is sent: a new patient email patches `attendees` alone.
  google::GuestsPatch patch;
  if (snap.desired.attendees_fingerprint != snap.meeting.attendees_fingerprint) {
    patch.attendees = AttendeesFor(snap.desired);
  }
  if (snap.desired.reminders_fingerprint != snap.meeting.reminders_fingerprint) {
    patch.reminders = RemindersFor(snap.desired);
  }
  auto event = calendar_.PatchEventGuests(snap.doctor_key, plan.meeting.calendar_id,
                                          plan.meeting.event_id, patch, snap.settings.send_updates);
  if (!event) {
    if (event.error().kind() == ErrorKind::kNotFound) return RecreateAtOnce(plan);
    return ApplyError(snap, event.error(), plan);
  }
  RecordGuestsOf(snap.desired, plan.meeting);
  ApplyEvent(snap, std::move(*event), plan);
}

void Reconciler::ActDelete(const Snapshot& snap, Plan& plan) {
  // A cancelled appointment's event may be kept as "cancelled" (the admin's cancel_mode); a
  // meeting no longer wanted for another reason (not telemedicine, not yet confirmed) is deleted.
  const bool mark =
      snap.desired.cancelled && snap.settings.cancel_mode == CancelMode::kMarkCancelled;
  auto gone = mark ? calendar_.CancelEvent(snap.doctor_key, plan.meeting.calendar_id,
                                           plan.meeting.event_id, snap.settings.send_updates)
                   : calendar_.DeleteEvent(snap.doctor_key, plan.meeting.calendar_id,
                                           plan.meeting.event_id, snap.settings.send_updates);
  if (!gone) return ApplyError(snap, gone.error(), plan);
  plan.meeting.state = snap.desired.cancelled ? MeetingState::kCancelled : MeetingState::kNotNeeded;
  plan.meeting.join_url.clear();
  plan.meeting.etag.clear();
  plan.meeting.attempts = 0;
  plan.meeting.last_error.clear();
  // A series' instance that was not there may be made yet, with the series' event: only a real
  // deletion counts as done (see Commit: an insert of the series' event revisits the others).
  if (!snap.series || *gone == google::DeleteOutcome::kDeleted) {
    plan.meeting.synced_revision = snap.desired.revision;
  }
}

void Reconciler::Act(const Snapshot& snap, const core::Decision& decision, Plan& plan) {
  switch (decision.action) {
    case Action::kNothing:
      if (plan.meeting.state == MeetingState::kReady) {
        plan.meeting.synced_revision = snap.desired.revision;
      }
      if (plan.meeting.state == MeetingState::kAwaitingDoctor ||
          plan.meeting.state == MeetingState::kNotNeeded) {
        plan.meeting.last_error.clear();
        plan.meeting.attempts = 0;
      }
      return;
    case Action::kPark:
      plan.disposition = Disposition::kParked;
      plan.error = "needs_reconnect: the doctor's Google grant is not usable";
      plan.meeting.last_error =
          "The doctor's Google connection is no longer valid; reconnecting resumes the work.";
      return;
    case Action::kInsert:
      return ActInsert(snap, plan);
    case Action::kPoll:
      return ActPoll(snap, plan);
    case Action::kPatch:
      return ActPatch(snap, plan);
    case Action::kPatchGuests:
      return ActPatchGuests(snap, plan);
    case Action::kDelete:
      return ActDelete(snap, plan);
  }
}

namespace {

// A run that ended before its commit (nothing to commit, or already recorded).
class Done final : public JobRunner::Pending {
 public:
  explicit Done(RunResult result) : result_(std::move(result)) {}
  RunResult Finish() override { return std::move(result_); }

 private:
  RunResult result_;
};

}  // namespace

std::unique_ptr<JobRunner::Pending> JobRunner::Begin(const core::Job& job,
                                                     std::unique_ptr<PreparedJob> prepared) {
  return std::make_unique<Done>(prepared ? RunPrepared(job, std::move(prepared)) : Run(job));
}

// A reconcile run's result, its Google calls made, waiting for its commit.
class Reconciler::PendingCommit final : public JobRunner::Pending {
 public:
  PendingCommit(Reconciler& reconciler, const core::Job& job, Snapshot snap)
      : reconciler_(reconciler), job_(job), snap_(std::move(snap)) {}
  RunResult Finish() override { return reconciler_.Finish(job_, snap_, plan_, std::move(calls_)); }

 private:
  friend class Reconciler;
  Reconciler& reconciler_;
  const core::Job job_;
  Snapshot snap_;
  Plan plan_;
  std::vector<google::CallRecord> calls_;
};

RunResult Reconciler::Run(const core::Job& job) { return Begin(job, nullptr)->Finish(); }

RunResult Reconciler::RunPrepared(const core::Job& job, std::unique_ptr<PreparedJob> prepared) {
  return Begin(job, std::move(prepared))->Finish();
}

std::unique_ptr<JobRunner::Pending> Reconciler::Begin(const core::Job& job,
                                                      std::unique_ptr<PreparedJob> prepared) {
  if (auto* run = dynamic_cast<PreparedRun*>(prepared.get())) {
    return Start(job, std::move(run->snap));
  }
  auto snap = Load(job);
  if (!snap) return std::make_unique<Done>(std::move(snap.error()));
  return Start(job, std::move(*snap));
}

std::expected<Reconciler::Snapshot, RunResult> Reconciler::Load(const core::Job& job) {
  RunResult result;
  auto payload = ParseReconcilePayload(job.payload);
  if (payload) {
    auto read = ReadSnapshot(payload->appointment_id);
    if (read) {
      read->polls = payload->polls;
      return std::move(*read);
    }
    result.error = read.error().ToString();
    if (read.error().code() != ErrorCode::kNotFound) {
      result.disposition = Disposition::kStoreError;
      return std::unexpected(std::move(result));
    }
  } else {
    result.error = payload.error().ToString();
  }
  // Nothing to reconcile (malformed job, or the appointment is gone): finish the job.
  obs::Log().Warn("reconcile job without an appointment dropped",
                  {{"job", job.key}, {"error", result.error}});
  Status done = store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(job); });
  result.disposition = done ? Disposition::kCompleted : Disposition::kLeaseLost;
  if (!done) result.error = done.error().ToString();
  return std::unexpected(std::move(result));
}

core::Decision Reconciler::Decide(Snapshot& snap) const {
  snap.doctor_key = std::to_string(snap.appointment.doctor_id);
  snap.desired = core::DesiredFor(snap.service, snap.appointment, snap.patient,
                                  snap.settings.policy, snap.grant);
  return snap.series ? SeriesDecision(snap) : core::NextAction(snap.desired, snap.meeting);
}

std::unique_ptr<JobRunner::Pending> Reconciler::Start(const core::Job& job, Snapshot snap_in) {
  auto pending = std::make_unique<PendingCommit>(*this, job, std::move(snap_in));
  Snapshot& snap = pending->snap_;
  Plan& plan = pending->plan_;
  RunResult result;
  CallCollector::Scope scope;
  const core::Decision decision = Decide(snap);
  plan.action = decision.action;
  plan.decided = decision.state;
  plan.meeting = snap.meeting;
  plan.meeting.state = decision.state;
  plan.meeting.doctor_id = snap.appointment.doctor_id;
  if (decision.action == Action::kInsert && !snap.meeting_exists) {
    plan.meeting.calendar_id = snap.doctor.calendar_id;
  }
  if (decision.action == Action::kInsert && !core::MayHaveEvent(snap.meeting.state)) {
    if (Status s = RecordIntent(job, snap); !s) {
      const Error& e = s.error();
      result.error = e.ToString();
      if (e.message().starts_with("meeting changed")) {
        // An admin retry or another run got there first: run again from the new row.
        Status released = store_.Transact([&](store::Tx& tx) { return tx.ReleaseJob(job); });
        result.disposition = released ? Disposition::kRepoll : Disposition::kLeaseLost;
        return std::make_unique<Done>(std::move(result));
      }
      const bool lost = store::IsLeaseLost(e);
      result.disposition = lost ? Disposition::kLeaseLost : Disposition::kStoreError;
      return std::make_unique<Done>(std::move(result));
    }
    plan.meeting = snap.meeting;
    plan.meeting.state = decision.state;
  }
  Act(snap, decision, plan);
  pending->calls_ = scope.Take();
  return pending;
}

RunResult Reconciler::Finish(const core::Job& job, const Snapshot& snap, Plan& plan,
                             std::vector<google::CallRecord> calls) {
  RunResult result = PlannedResult(plan);
  Status committed = Commit(job, snap, plan, std::move(calls));
  if (committed && plan.outbox && options_.on_outbox) options_.on_outbox();
  if (!committed) {
    const Error& e = committed.error();
    const bool lost = store::IsLeaseLost(e);
    result.disposition = lost ? Disposition::kLeaseLost : Disposition::kStoreError;
    result.error = e.ToString();
    if (!lost) {
      // The store failed (not our lease): try again after a backoff rather than waiting for
      // the lease to run out. If this fails too, the lease expiry still brings the job back.
      Instant at = store::BackoffAfter(job, clock_.Now(), options_.retry_base, options_.retry_max);
      (void)store_.Transact([&](store::Tx& tx) { return tx.RetryJob(job, at, result.error); });
    }
    obs::Log().Warn(
        "reconcile job not recorded",
        {{"job", job.key}, {"disposition", Name(result.disposition)}, {"error", result.error}});
  }
  return result;
}

Status Reconciler::Commit(const core::Job& job, const Snapshot& snap, Plan& plan,
                          std::vector<google::CallRecord> calls) {
  const Instant now = clock_.Now();
  const core::Meeting& before = snap.meeting;
  core::Meeting& after = plan.meeting;
  const int64_t appointment_id = snap.appointment.id;

  // Facts for the outbox, decided before the transaction (it may be retried).
  const std::vector<std::string_view> topics = TopicsOf(snap, plan);
  plan.outbox = !topics.empty();
  const bool write_meeting = !SameMeeting(before, after) &&
                             (snap.meeting_exists || after.state != MeetingState::kNotNeeded);
  const std::vector<core::AuditEntry> call_audit = CallAudit(appointment_id, calls);

  return store_.Transact([&](store::Tx& tx) -> Status {
    // The job's fate first: every one of these checks the lease, so a worker that lost its
    // job writes nothing; a change made meanwhile (rerun) survives each of them (store.h).
    switch (plan.disposition) {
      case Disposition::kCompleted:
      case Disposition::kLeaseLost:
      case Disposition::kStoreError:
        if (auto s = tx.CompleteJob(job); !s) return s;
        break;
      case Disposition::kRepoll: {
        if (auto s = tx.CompleteJob(job); !s) return s;
        core::Job again;
        again.kind = std::string(store::kReconcileJobKind);
        again.key = job.key;
        again.doctor_id = snap.appointment.doctor_id;
        again.payload = FormatReconcilePayload(
            {.appointment_id = appointment_id,
             .polls = after.state == MeetingState::kConferencePending ? snap.polls + 1 : 0});
        again.run_at = now + plan.repoll_after;
        if (auto j = tx.UpsertJob(again); !j) return std::unexpected(j.error());
        break;
      }
      case Disposition::kRetry: {
        Instant at = store::BackoffAfter(job, now, options_.retry_base, options_.retry_max);
        if (auto s = tx.RetryJob(job, at, plan.error); !s) return s;
        break;
      }
      case Disposition::kParked:
        if (auto s = tx.ParkJob(job, plan.error); !s) return s;
        break;
    }

    // The meeting, unless someone (an admin retry) changed it while we worked: then the job
    // runs again (the change set its rerun flag) and decides from the new row. A write is
    // conditional on the row being as the snapshot saw it (PutMeetingIf), so it needs no read
    // first; only a job that writes nothing reads the row to know.
    const std::optional<core::Meeting> expected =
        snap.meeting_exists ? std::optional<core::Meeting>(before) : std::nullopt;
    bool changed_meanwhile = false;
    if (write_meeting) {
      std::optional<core::Meeting> over = expected;
      if (snap.meeting_exists && !core::CanTransition(before.state, after.state) &&
          core::CanTransition(before.state, plan.decided)) {
        // e.g. not_needed → creating → ready: record the step the call was made from.
        core::Meeting step = after;
        step.state = plan.decided;
        changed_meanwhile = !TM_TRY(tx.PutMeetingIf(over, step));
        over = std::move(step);
      }
      if (!changed_meanwhile) changed_meanwhile = !TM_TRY(tx.PutMeetingIf(over, after));
    } else {
      auto current = tx.GetMeeting(appointment_id);
      if (current) {
        changed_meanwhile = !snap.meeting_exists || current->state != before.state ||
                            current->conference_attempt != before.conference_attempt;
      } else if (current.error().code() == ErrorCode::kNotFound) {
        changed_meanwhile = snap.meeting_exists;
      } else {
        return std::unexpected(current.error());
      }
    }

    // The audit trail: every Google call, then the state change (one statement for all).
    std::vector<core::AuditEntry> audit = call_audit;
    auto note = [&](std::string action, std::string detail) {
      audit.push_back(AuditOf(appointment_id, std::move(action), std::move(detail)));
    };
    if (changed_meanwhile) return tx.AppendAudits(std::move(audit));
    const bool restored = plan.action == Action::kPatch && after.state == MeetingState::kReady;
    const bool removed =
        plan.action == Action::kDelete &&
        (after.state == MeetingState::kCancelled || after.state == MeetingState::kNotNeeded);
    if (!before.drift.empty() && (restored || removed)) {
      // The event is as the clinic has it again (or gone with the appointment): the drift
      // reported earlier is resolved.
      if (auto s = tx.SetMeetingDrift(appointment_id, "", ""); !s) return s;
      note(restored ? "meeting.drift_restored" : "meeting.drift_cleared",
           nlohmann::json{{"drift", before.drift}, {"revision", snap.desired.revision}}.dump());
    }
    if (write_meeting && before.state != after.state) audit.push_back(StateAudit(snap, plan));
    if (plan.disposition == Disposition::kRetry) {
      note("meeting.retry_scheduled",
           nlohmann::json{{"attempts", after.attempts}, {"error", plan.error}}.dump());
    }
    TM_TRY(tx.AppendAudits(std::move(audit)));

    if (plan.series_event_made &&
        (after.state == MeetingState::kReady || after.state == MeetingState::kConferencePending)) {
      // The series' event exists now, with an instance for every occurrence: the cancelled ones
      // whose instance is not known deleted get it deleted (even one cancelled while no event
      // existed yet, whose delete found nothing).
      if (auto s = RevisitCancelledOccurrences(tx, snap, after); !s) return s;
    }

    std::vector<core::OutboxEvent> events;
    AddEvents(snap, after, topics, events);
    TM_TRY(tx.AppendOutboxes(std::move(events)));
    std::optional<bool> meet_work;
    return MeetWorkAfter(tx, snap, after, topics, now, meet_work);
  });
}

RunResult Reconciler::PlannedResult(const Plan& plan) {
  return RunResult{.disposition = plan.disposition,
                   .action = plan.action,
                   .state = plan.meeting.state,
                   .error = plan.error};
}

bool Reconciler::Batchable(const Snapshot& snap, const Plan& plan) {
  // The common end of a run: the job done and the meeting moved on from the row it ran over, in
  // one step the states allow. The rest (backoffs, re-polls, parks, intermediate steps, drift,
  // a series' event, a first meeting row) commits alone, through Commit.
  return plan.disposition == Disposition::kCompleted && snap.meeting_exists &&
         !SameMeeting(snap.meeting, plan.meeting) &&
         core::CanTransition(snap.meeting.state, plan.meeting.state) && !plan.series_event_made &&
         snap.meeting.drift.empty();
}

std::vector<RunResult> JobRunner::FinishAll(std::span<const std::unique_ptr<Pending>> pending) {
  std::vector<RunResult> results;
  results.reserve(pending.size());
  for (const std::unique_ptr<Pending>& p : pending) results.push_back(p->Finish());
  return results;
}

std::vector<RunResult> Reconciler::FinishAll(std::span<const std::unique_ptr<Pending>> pending) {
  std::vector<std::optional<RunResult>> results(pending.size());
  std::vector<PendingCommit*> batch;
  std::vector<size_t> batch_of;
  for (size_t i = 0; i < pending.size(); ++i) {
    auto* run = dynamic_cast<PendingCommit*>(pending[i].get());
    if (run == nullptr || !Batchable(run->snap_, run->plan_)) continue;
    const int64_t id = run->snap_.appointment.id;
    if (std::ranges::any_of(batch,
                            [&](PendingCommit* b) { return b->snap_.appointment.id == id; })) {
      continue;  // (never from one worker: a job is held until its result is committed)
    }
    batch.push_back(run);
    batch_of.push_back(i);
  }
  if (batch.size() > 1) {
    auto held = CommitMany(batch);
    if (held) {
      bool outbox = false;
      for (size_t k = 0; k < batch.size(); ++k) {
        const Plan& plan = batch[k]->plan_;
        RunResult& result = results[batch_of[k]].emplace(PlannedResult(plan));
        if ((*held)[k]) {
          outbox = outbox || plan.outbox;
          continue;
        }
        const core::Job& job = batch[k]->job_;
        result.disposition = Disposition::kLeaseLost;
        result.error = store::LeaseLostError(job).ToString();  // as Finish would say
        obs::Log().Warn(
            "reconcile job not recorded",
            {{"job", job.key}, {"disposition", Name(result.disposition)}, {"error", result.error}});
      }
      if (outbox && options_.on_outbox) options_.on_outbox();
    } else {
      // Each commits alone below, and meets its own error there.
      obs::Log().Warn(
          "a batched commit of reconcile results failed; committing them one by one",
          {{"runs", static_cast<int64_t>(batch.size())}, {"error", held.error().ToString()}});
    }
  }
  std::vector<RunResult> out;
  out.reserve(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    out.push_back(results[i] ? std::move(*results[i]) : pending[i]->Finish());
  }
  return out;
}

Result<std::vector<bool>> Reconciler::CommitMany(std::span<PendingCommit* const> runs) {
  const Instant now = clock_.Now();
  // Decided before the transaction (it may run again), as Commit does.
  std::vector<std::vector<std::string_view>> topics;
  std::vector<std::vector<core::AuditEntry>> call_audit;
  std::vector<core::Job> jobs;
  for (PendingCommit* run : runs) {
    topics.push_back(TopicsOf(run->snap_, run->plan_));
    run->plan_.outbox = !topics.back().empty();
    call_audit.push_back(CallAudit(run->snap_.appointment.id, run->calls_));
    jobs.push_back(run->job_);
  }
  std::vector<bool> held;
  Status s = store_.Transact([&](store::Tx& tx) -> Status {
    // The jobs first (each checks its lease: one that lost it writes nothing), then the meetings
    // still as their runs saw them; a meeting changed meanwhile gets only its calls' audit, and
    // its job (rerun set by the change) runs again, as in Commit.
    held = TM_TRY(tx.CompleteJobs(jobs));
    std::vector<store::MeetingWrite> writes;
    std::vector<size_t> write_of;
    for (size_t k = 0; k < runs.size(); ++k) {
      if (!held[k]) continue;
      writes.push_back({runs[k]->snap_.meeting, runs[k]->plan_.meeting});
      write_of.push_back(k);
    }
    const std::vector<bool> wrote = TM_TRY(tx.PutMeetingsIf(writes));
    std::vector<bool> written(runs.size(), false);
    for (size_t w = 0; w < write_of.size(); ++w) written[write_of[w]] = wrote[w];
    std::vector<core::AuditEntry> audit;
    std::vector<core::OutboxEvent> events;
    for (size_t k = 0; k < runs.size(); ++k) {
      if (!held[k]) continue;
      audit.insert(audit.end(), call_audit[k].begin(), call_audit[k].end());
      if (!written[k]) continue;
      const Snapshot& snap = runs[k]->snap_;
      const Plan& plan = runs[k]->plan_;
      if (snap.meeting.state != plan.meeting.state) audit.push_back(StateAudit(snap, plan));
      AddEvents(snap, plan.meeting, topics[k], events);
    }
    TM_TRY(tx.AppendAudits(std::move(audit)));
    TM_TRY(tx.AppendOutboxes(std::move(events)));
    std::optional<bool> meet_work;
    for (size_t k = 0; k < runs.size(); ++k) {
      if (written[k]) {
        TM_TRY(
            MeetWorkAfter(tx, runs[k]->snap_, runs[k]->plan_.meeting, topics[k], now, meet_work));
      }
    }
    return Ok();
  });
  if (!s) return std::unexpected(s.error());
  return held;
}

std::vector<std::string_view> Reconciler::TopicsOf(const Snapshot& snap, const Plan& plan) {
  const core::Meeting& before = snap.meeting;
  const core::Meeting& after = plan.meeting;
  std::vector<std::string_view> topics;
  if (after.state == MeetingState::kReady) {
    if (plan.action == Action::kPatch) {
      topics.push_back(kMeetingUpdated);
    } else if (plan.action != Action::kPatchGuests && before.state != MeetingState::kReady) {
      // (A guests patch after a failed try starts from "updating": its link was long ready.)
      topics.push_back(kMeetingReady);
    }
  }
  if (after.state == MeetingState::kFailed && before.state != MeetingState::kFailed) {
    topics.push_back(kMeetingFailed);
  }
  if (plan.action == Action::kDelete &&
      (after.state == MeetingState::kCancelled || after.state == MeetingState::kNotNeeded)) {
    topics.push_back(kMeetingCancelled);
  }
  return topics;
}

core::AuditEntry Reconciler::AuditOf(int64_t appointment_id, std::string action,
                                     std::string detail) const {
  core::AuditEntry entry;
  entry.appointment_id = appointment_id;
  entry.actor = options_.actor;
  entry.action = std::move(action);
  entry.detail = std::move(detail);
  return entry;
}

std::vector<core::AuditEntry> Reconciler::CallAudit(
    int64_t appointment_id, const std::vector<google::CallRecord>& calls) const {
  std::vector<core::AuditEntry> audit;
  audit.reserve(calls.size() + 1);
  for (const google::CallRecord& call : calls) {
    audit.push_back(AuditOf(appointment_id, "google." + call.operation, CallAuditDetail(call)));
  }
  return audit;
}

core::AuditEntry Reconciler::StateAudit(const Snapshot& snap, const Plan& plan) const {
  const core::Meeting& after = plan.meeting;
  return AuditOf(snap.appointment.id, "meeting.state",
                 StateChangeDetail(snap.meeting.state, after.state, plan.action,
                                   snap.desired.revision, after.last_error));
}

void Reconciler::AddEvents(const Snapshot& snap, const core::Meeting& after,
                           std::span<const std::string_view> topics,
                           std::vector<core::OutboxEvent>& events) {
  for (std::string_view topic : topics) {
    core::OutboxEvent event;
    event.topic = std::string(topic);
    event.appointment_id = snap.appointment.id;
    event.doctor_id = snap.appointment.doctor_id;
    event.payload = MeetingEventPayload(snap.appointment, after);
    events.push_back(std::move(event));
  }
}

Status Reconciler::MeetWorkAfter(store::Tx& tx, const Snapshot& snap, const core::Meeting& after,
                                 std::span<const std::string_view> topics, Instant now,
                                 std::optional<bool>& wanted) const {
  if (options_.meet_work && after.state == MeetingState::kReady &&
      std::ranges::any_of(
          topics, [](std::string_view t) { return t == kMeetingReady || t == kMeetingUpdated; })) {
    // Decided in this commit, not by the snapshot: a policy changed since then has looked for
    // the ready meetings already, and not found this one.
    if (!wanted) wanted = TM_TRY(MeetWorkWanted(tx, *options_.meet_work));
    // The space's access type and, after the end, the attendance (sync/attendance.h).
    if (*wanted) return ScheduleMeetWork(tx, snap.appointment, now);
  }
  return Ok();
}

Status Reconciler::RevisitCancelledOccurrences(store::Tx& tx, const Snapshot& snap,
                                               const core::Meeting& ours) {
  const std::string series_event = core::SeriesEventIdFor(snap.series->uid);
  for (const core::Appointment& other : TM_TRY(tx.ListSeriesAppointments(snap.series->id))) {
    if (other.id == snap.appointment.id || other.status != core::AppointmentStatus::kCancelled) {
      continue;
    }
    core::Meeting m;
    if (auto found = tx.GetMeeting(other.id)) {
      m = std::move(*found);
    } else if (found.error().code() == ErrorCode::kNotFound) {
      m.appointment_id = other.id;
      m.doctor_id = other.doctor_id;
      m.calendar_id = ours.calendar_id;
      m.state = MeetingState::kNotNeeded;
    } else {
      return std::unexpected(found.error());
    }
    if (core::MayHaveEvent(m.state) || m.synced_revision == other.revision) continue;
    m.event_id = core::InstanceEventId(series_event, other.original_start);
    m.state = MeetingState::kCreating;  // an instance may exist: NextAction deletes it
    TM_TRY(tx.PutMeeting(m));
    TM_TRY(tx.EnqueueReconcile(other.id));
  }
  return Ok();
}

}  // namespace telemeet::sync
