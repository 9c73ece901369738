#include "sync/attendance.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "core/time.h"
#include "obs/log.h"

namespace telemeet::sync {

using core::AttendanceState;
using google::ErrorKind;
using nlohmann::json;

namespace {

constexpr std::string_view kOpenIdScope = "openid";

// The meeting code of a ready meeting: Calendar's conferenceId for Meet, else the last part of
// the join link ("https://meet.google.com/abc-mnop-xyz").
std::string MeetingCodeOf(const core::Meeting& m) {
  std::string_view code = m.conference_id;
  if (code.empty()) {
    std::string_view url = m.join_url;
    url = url.substr(0, url.find('?'));
    if (size_t slash = url.rfind('/'); slash != std::string_view::npos)
      code = url.substr(slash + 1);
  }
  const bool ok = !code.empty() && std::all_of(code.begin(), code.end(), [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || c == '-';
  });
  return ok ? std::string(code) : std::string();
}

bool HasScope(std::string_view granted, std::string_view scope) {
  for (std::string_view s : Split(granted, ' ')) {
    if (s == scope) return true;
  }
  return false;
}

// Meet's times, as instants; a malformed one fails the read (never guessed).
Result<Instant> TimeOf(const std::string& text, std::string_view field) {
  return core::ParseRfc3339(text, field);
}
Result<std::optional<Instant>> OptTimeOf(const std::string& text, std::string_view field) {
  if (text.empty()) return std::optional<Instant>();
  return std::optional<Instant>(TM_TRY(core::ParseRfc3339(text, field)));
}

std::string Describe(const google::GoogleError& e) { return e.ToString(); }

}  // namespace

std::string GoogleSubjectSettingKey(int64_t doctor_id) {
  return fmt::format("google.subject:{}", doctor_id);
}

std::string GoogleSubjectSettingValue(std::string_view sub, std::string_view account_email) {
  return std::string(sub) + " " + std::string(account_email);
}

std::vector<std::string> MeetFeatureScopes(std::string_view feature) {
  if (feature == "attendance") {
    return {std::string(google::kMeetReadonlyScope), std::string(kOpenIdScope)};
  }
  if (feature == "access_type") return {std::string(google::kMeetSettingsScope)};
  return {};
}

bool GrantCovers(std::string_view granted_scopes, std::string_view feature) {
  if (feature == "attendance") return HasScope(granted_scopes, google::kMeetReadonlyScope);
  if (feature == "access_type") return HasScope(granted_scopes, google::kMeetSettingsScope);
  return false;
}

std::string MeetJobKey(int64_t appointment_id) {
  return fmt::format("{}:{}", kMeetJobKind, appointment_id);
}

Result<core::MeetPolicy> MeetPolicyOf(store::Tx& tx, const core::MeetPolicy& defaults) {
  auto settings = TM_TRY(tx.ListSettings("attendance."));
  if (auto access = tx.GetSetting(core::kSettingAccessType)) {
    settings.emplace_back(std::string(core::kSettingAccessType), std::move(*access));
  } else if (access.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(access.error());
  }
  return core::MeetPolicyFrom(settings, defaults);
}

namespace {
core::Job MeetJob(int64_t appointment_id, int64_t doctor_id, Instant now) {
  core::Job job;
  job.kind = std::string(kMeetJobKind);
  job.key = MeetJobKey(appointment_id);
  job.doctor_id = doctor_id;
  job.payload = std::to_string(appointment_id);
  job.run_at = now;
  return job;
}

// The lock of MeetWorkWanted and LockMeetPolicyForChange (any number unlike the store's own).
constexpr int64_t kMeetPolicyLock = 7'438'202;
}  // namespace

Result<bool> MeetWorkWanted(store::Tx& tx, const core::MeetPolicy& defaults) {
  TM_TRY(tx.LockForTransaction(kMeetPolicyLock, /*shared=*/true));
  return TM_TRY(MeetPolicyOf(tx, defaults)).WantsWork();
}

Status LockMeetPolicyForChange(store::Tx& tx) {
  return tx.LockForTransaction(kMeetPolicyLock, /*shared=*/false);
}

Status ScheduleMeetWork(store::Tx& tx, const core::Appointment& appointment, Instant now) {
  TM_TRY(tx.UpsertJob(MeetJob(appointment.id, appointment.doctor_id, now)));
  return Ok();
}

Result<int> ScheduleReadyMeetWork(store::Tx& tx, int64_t doctor_id, Instant now) {
  auto ready = TM_TRY(
      tx.ListReadyMeetingAppointments(doctor_id, now - std::chrono::days(2), kReadyMeetWorkLimit));
  constexpr size_t kPerStatement = 256;
  std::vector<core::Job> jobs;
  for (size_t i = 0; i < ready.size(); i += kPerStatement) {
    jobs.clear();
    for (size_t k = i; k < std::min(ready.size(), i + kPerStatement); ++k) {
      jobs.push_back(MeetJob(ready[k].first, ready[k].second, now));
    }
    TM_TRY(tx.UpsertJobs(jobs));
  }
  return static_cast<int>(ready.size());
}

json AttendanceJson(const std::optional<core::AttendanceRecord>& record) {
  if (!record) return nullptr;
  const core::AttendanceRecord& r = *record;
  auto time_or_null = [](const std::optional<Instant>& t) {
    return t ? json(core::FormatRfc3339(*t)) : json(nullptr);
  };
  json out{{"state", core::Name(r.state)},
           {"outcome", r.outcome ? json(core::Name(*r.outcome)) : json(nullptr)},
           {"doctor_joined", r.facts.doctor_joined},
           {"others_joined", r.facts.others_joined},
           {"overlap_minutes", core::OverlapMinutes(r.facts)},
           {"first_join", time_or_null(r.facts.first_join)},
           {"last_leave", time_or_null(r.facts.last_leave)},
           {"conferences", r.facts.conferences},
           {"running", r.facts.running},
           {"polls", r.polls},
           {"action", r.action.empty() ? json(nullptr) : json(r.action)},
           {"checked_at", time_or_null(r.checked_at)},
           {"next_check_at", time_or_null(r.next_look_at)},
           {"error", r.last_error.empty() ? json(nullptr) : json(r.last_error)}};
  return out;
}

json MeetingAccessJson(const std::optional<core::MeetingAccess>& access) {
  if (!access) return nullptr;
  auto lower = [](std::string v) {
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  return json{{"wanted", lower(access->wanted)},
              {"applied", access->applied.empty() ? json(nullptr) : json(lower(access->applied))},
              {"state", access->state},
              {"error", access->last_error.empty() ? json(nullptr) : json(access->last_error)},
              {"updated_at", core::FormatRfc3339(access->updated_at)}};
}

struct MeetWork::Snapshot {
  core::Appointment appointment;
  std::optional<core::Meeting> meeting;
  std::optional<core::GoogleGrant> grant;
  core::MeetPolicy policy;
  std::string doctor_user;  // "users/<sub>" when known for the grant's account
  std::optional<core::AttendanceRecord> attendance;
  std::optional<core::MeetingAccess> access;
  std::string code;  // the meeting code; "" when the meeting has no conference
  std::string doctor_key;
};

struct MeetWork::Plan {
  std::optional<core::AttendanceRecord> attendance;  // to write
  std::optional<core::MeetingAccess> access;         // to write
  std::optional<Instant> wake;                       // the next run
  bool retry = false;                                // a transient failure: back off
  bool park = false;                                 // the grant is not usable
  std::string error;
};

MeetWork::MeetWork(store::Store& store, google::MeetClient& meet, CallCollector& calls,
                   const Clock& clock, MeetWorkOptions options)
    : store_(store), meet_(meet), calls_(calls), clock_(clock), options_(std::move(options)) {}

Result<MeetWork::Snapshot> MeetWork::Read(int64_t appointment_id) {
  return store_.Read([&](store::Tx& tx) -> Result<Snapshot> {
    Snapshot s;
    s.appointment = TM_TRY(tx.GetAppointment(appointment_id));
    s.doctor_key = std::to_string(s.appointment.doctor_id);
    if (auto m = tx.GetMeeting(appointment_id)) {
      s.meeting = std::move(*m);
      s.code = MeetingCodeOf(*s.meeting);
    } else if (m.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(m.error());
    }
    if (auto g = tx.GetGrant(s.appointment.doctor_id)) {
      s.grant = std::move(*g);
    } else if (g.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(g.error());
    }
    s.policy = TM_TRY(MeetPolicyOf(tx, options_.defaults));
    if (auto sub = tx.GetSetting(GoogleSubjectSettingKey(s.appointment.doctor_id))) {
      std::vector<std::string_view> parts = Split(*sub, ' ');
      if (parts.size() == 2 && s.grant && !parts[0].empty() &&
          EqualsIgnoreCase(parts[1], s.grant->account_email)) {
        s.doctor_user = "users/" + std::string(parts[0]);
      }
    } else if (sub.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(sub.error());
    }
    if (auto a = tx.GetAttendance(appointment_id)) {
      s.attendance = std::move(*a);
    } else if (a.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(a.error());
    }
    if (auto a = tx.GetMeetingAccess(appointment_id)) {
      s.access = std::move(*a);
    } else if (a.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(a.error());
    }
    return s;
  });
}

void MeetWork::AccessType(const Snapshot& snap, Plan& plan) {
  const std::string& wanted = snap.policy.access_type;
  if (wanted.empty()) return;
  // A missing scope the doctor has granted since is tried again.
  const bool now_covered = snap.access && snap.access->state == "scope_missing" &&
                           GrantCovers(snap.grant->scopes, "access_type");
  const bool settled = snap.access && snap.access->meeting_code == snap.code &&
                       snap.access->wanted == wanted && snap.access->state != "retrying" &&
                       !now_covered;
  if (settled) return;
  core::MeetingAccess next{.appointment_id = snap.appointment.id,
                           .meeting_code = snap.code,
                           .wanted = wanted,
                           .applied = "",
                           .state = "",
                           .last_error = "",
                           .updated_at = {}};
  if (!GrantCovers(snap.grant->scopes, "access_type")) {
    next.state = "scope_missing";
    next.last_error =
        "the doctor has not allowed telemeet to change Meet settings (Google scope "
        "meetings.space.settings): connect Google again with \"who may join\" allowed";
    plan.access = std::move(next);
    return;
  }
  // Patched by the space's name: the meeting code is an alias for get only.
  auto space = meet_.GetSpace(snap.doctor_key, snap.code);
  google::GoogleResult<google::Space> patched =
      space ? meet_.PatchSpaceAccessType(snap.doctor_key, space->name, wanted)
            : std::unexpected(space.error());
  if (patched) {
    next.state = "applied";
    next.applied = patched->access_type;
    plan.access = std::move(next);
    return;
  }
  const google::GoogleError& e = patched.error();
  next.last_error = Describe(e);
  if (e.kind() == ErrorKind::kScopeNotGranted) {
    next.state = "scope_missing";
  } else if (e.NeedsReconnect() || e.kind() == ErrorKind::kNotConnected) {
    plan.park = true;
    plan.error = Describe(e);
    return;
  } else if (e.IsRetriable() || e.kind() == ErrorKind::kStore) {
    next.state = "retrying";
    plan.retry = true;
    plan.error = Describe(e);
  } else {
    next.state = "failed";  // e.g. not the space's owner: the link stays as it is
  }
  plan.access = std::move(next);
}

google::GoogleResult<std::vector<core::MeetConference>> MeetWork::ReadConferences(
    const Snapshot& snap) {
  auto bad = [](const Error& e) {
    return std::unexpected(google::GoogleError(ErrorKind::kBadResponse, e.message()));
  };
  const std::string from = core::FormatRfc3339(snap.appointment.start - options_.early);
  const std::string to = core::FormatRfc3339(snap.appointment.end + options_.schedule.max_wait);
  auto filter = google::MeetClient::RecordFilter(snap.code, from, to);
  if (!filter) return std::unexpected(filter.error());
  auto records = meet_.ListAllConferenceRecords(snap.doctor_key, *filter);
  if (!records) return std::unexpected(records.error());
  std::vector<core::MeetConference> out;
  for (const google::ConferenceRecord& r : *records) {
    core::MeetConference c;
    auto start = TimeOf(r.start_time, "startTime");
    auto end = OptTimeOf(r.end_time, "endTime");
    if (!start) return bad(start.error());
    if (!end) return bad(end.error());
    c.start = *start;
    c.end = *end;
    auto people = meet_.ListAllParticipants(snap.doctor_key, r.name);
    if (!people) return std::unexpected(people.error());
    for (const google::Participant& p : *people) {
      core::MeetParticipant who;
      who.kind =
          p.kind == google::Participant::Kind::kSignedIn ? core::MeetParticipantKind::kSignedIn
          : p.kind == google::Participant::Kind::kPhone  ? core::MeetParticipantKind::kPhone
                                                         : core::MeetParticipantKind::kAnonymous;
      who.user = p.user;
      auto sessions = meet_.ListAllParticipantSessions(snap.doctor_key, p.name);
      if (!sessions) return std::unexpected(sessions.error());
      for (const google::ParticipantSession& s : *sessions) {
        auto s_start = TimeOf(s.start_time, "startTime");
        auto s_end = OptTimeOf(s.end_time, "endTime");
        if (!s_start) return bad(s_start.error());
        if (!s_end) return bad(s_end.error());
        who.sessions.push_back({.start = *s_start, .end = *s_end});
      }
      c.participants.push_back(std::move(who));
    }
    out.push_back(std::move(c));
  }
  return out;
}

void MeetWork::Attendance(const Snapshot& snap, Plan& plan) {
  if (snap.policy.attendance == core::AttendanceMode::kOff) return;
  if (snap.appointment.status == core::AppointmentStatus::kCancelled) return;
  const Instant now = clock_.Now();
  const Instant first_look = snap.appointment.end + options_.schedule.grace;
  core::AttendanceRecord rec;
  if (snap.attendance) {
    rec = *snap.attendance;
  } else {
    rec.appointment_id = snap.appointment.id;
    rec.state = AttendanceState::kWaiting;
  }
  if (rec.state == AttendanceState::kScopeMissing &&
      GrantCovers(snap.grant->scopes, "attendance")) {
    // The doctor allowed attendance since: look at the records after all.
    rec.state = AttendanceState::kWaiting;
    rec.last_error.clear();
    rec.checked_at.reset();
  }
  if (rec.state != AttendanceState::kWaiting) return;  // settled, or the feature is off for them
  // Not looked at yet: the first look follows the (current) end; later ones the schedule.
  const Instant due = rec.checked_at ? rec.next_look_at.value_or(now) : first_look;
  if (now < due) {
    plan.wake = due;
    if (!snap.attendance || rec.next_look_at != due) {
      rec.next_look_at = due;
      plan.attendance = rec;
    }
    return;
  }
  if (!GrantCovers(snap.grant->scopes, "attendance")) {
    rec.state = AttendanceState::kScopeMissing;
    rec.next_look_at.reset();
    rec.last_error =
        "the doctor has not allowed telemeet to read Meet attendance (Google scope "
        "meetings.space.readonly): connect Google again with attendance allowed";
    plan.attendance = std::move(rec);
    return;
  }
  if (snap.doctor_user.empty()) {
    rec.state = AttendanceState::kUnavailable;
    rec.next_look_at.reset();
    rec.last_error =
        "the doctor's Google account id is not known to telemeet: connect Google again with "
        "attendance allowed";
    plan.attendance = std::move(rec);
    return;
  }
  auto conferences = ReadConferences(snap);
  if (!conferences) {
    const google::GoogleError& e = conferences.error();
    rec.last_error = Describe(e);
    if (e.kind() == ErrorKind::kScopeNotGranted) {
      rec.state = AttendanceState::kScopeMissing;
      rec.next_look_at.reset();
    } else if (e.NeedsReconnect() || e.kind() == ErrorKind::kNotConnected) {
      plan.park = true;
      plan.error = rec.last_error;
      return;
    } else if (e.IsRetriable() || e.kind() == ErrorKind::kStore) {
      plan.retry = true;
      plan.error = rec.last_error;
    } else {
      rec.state = AttendanceState::kUnavailable;
      rec.next_look_at.reset();
    }
    plan.attendance = std::move(rec);
    return;
  }
  rec.facts = core::SummarizeAttendance(*conferences, snap.doctor_user, now);
  const core::AttendanceOutcome outcome =
      core::OutcomeOf(rec.facts, std::chrono::minutes(snap.policy.min_minutes));
  rec.outcome = outcome;
  rec.checked_at = now;
  rec.last_error.clear();
  const int polls = rec.polls + 1;
  core::AttendanceStep step = core::NextAttendanceStep(rec.facts, outcome, polls, options_.schedule,
                                                       snap.appointment.end, now);
  if (step.counts_as_poll) rec.polls = polls;
  if (step.final) {
    rec.state = AttendanceState::kFinal;
    rec.next_look_at.reset();
  } else {
    rec.next_look_at = step.next_look;
    plan.wake = plan.wake ? std::min(*plan.wake, step.next_look) : step.next_look;
  }
  plan.attendance = std::move(rec);
}

RunResult MeetWork::Run(const core::Job& job) {
  RunResult result;
  CallCollector::Scope scope;
  int64_t id = 0;
  auto [end, ec] = std::from_chars(job.payload.data(), job.payload.data() + job.payload.size(), id);
  std::optional<Snapshot> snap;
  if (ec == std::errc() && end == job.payload.data() + job.payload.size() && id > 0) {
    auto read = Read(id);
    if (read) {
      snap = std::move(*read);
    } else if (read.error().code() != ErrorCode::kNotFound) {
      result.disposition = Disposition::kStoreError;
      result.error = read.error().ToString();
      return result;
    }
  }
  Plan plan;
  const bool workable = snap && snap->meeting &&
                        snap->meeting->state == core::MeetingState::kReady && !snap->code.empty();
  if (workable) {
    if (!snap->grant || snap->grant->status != core::GrantStatus::kActive) {
      plan.park = snap->policy.WantsWork();
      plan.error = "the doctor's Google connection is not usable";
    } else {
      AccessType(*snap, plan);
      if (!plan.park) Attendance(*snap, plan);
    }
  }
  // (No meeting ready: nothing to do; the reconciler schedules the job again once it is, while
  // the policy asks for work.)
  result.disposition = plan.park    ? Disposition::kParked
                       : plan.retry ? Disposition::kRetry
                       : plan.wake  ? Disposition::kRepoll
                                    : Disposition::kCompleted;
  result.error = plan.error;
  if (!snap) {
    Status done = store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(job); });
    if (!done) result.disposition = Disposition::kLeaseLost;
    return result;
  }
  Status committed = Commit(job, *snap, plan, scope.Take());
  if (!committed) {
    const Error& e = committed.error();
    const bool lost = store::IsLeaseLost(e);
    result.disposition = lost ? Disposition::kLeaseLost : Disposition::kStoreError;
    result.error = e.ToString();
    if (!lost) {
      Instant at = store::BackoffAfter(job, clock_.Now(), options_.retry_base, options_.retry_max);
      (void)store_.Transact([&](store::Tx& tx) { return tx.RetryJob(job, at, result.error); });
    }
    obs::Log().Warn("meet job not recorded", {{"job", job.key}, {"error", result.error}});
  }
  return result;
}

Status MeetWork::Commit(const core::Job& job, const Snapshot& snap, Plan& plan,
                        std::vector<google::CallRecord> calls) {
  const Instant now = clock_.Now();
  const int64_t id = snap.appointment.id;
  return store_.Transact([&](store::Tx& tx) -> Status {
    // The job's fate first: each checks the lease, so a worker that lost the job writes nothing.
    if (plan.park) {
      TM_TRY(tx.ParkJob(job, plan.error));
    } else if (plan.retry) {
      TM_TRY(tx.RetryJob(
          job, store::BackoffAfter(job, now, options_.retry_base, options_.retry_max), plan.error));
    } else {
      TM_TRY(tx.CompleteJob(job));
      if (plan.wake) TM_TRY(tx.UpsertJob(MeetJob(id, snap.appointment.doctor_id, *plan.wake)));
    }
    auto audit = [&](std::string action, std::string detail) -> Status {
      core::AuditEntry entry;
      entry.appointment_id = id;
      entry.actor = options_.actor;
      entry.action = std::move(action);
      entry.detail = std::move(detail);
      TM_TRY(tx.AppendAudit(std::move(entry)));
      return Ok();
    };
    for (const google::CallRecord& call : calls) {
      TM_TRY(audit("google." + call.operation, CallAuditDetail(call)));
    }
    if (plan.access) {
      TM_TRY(tx.PutMeetingAccess(*plan.access));
      if (!snap.access || snap.access->state != plan.access->state ||
          snap.access->wanted != plan.access->wanted) {
        json detail{{"wanted", plan.access->wanted}, {"state", plan.access->state}};
        if (!plan.access->applied.empty()) detail["applied"] = plan.access->applied;
        if (!plan.access->last_error.empty()) detail["error"] = plan.access->last_error;
        TM_TRY(audit("meeting.access_type", detail.dump()));
      }
    }
    if (!plan.attendance) return Ok();
    core::AttendanceRecord& rec = *plan.attendance;
    const bool looked = rec.checked_at !=
                        (snap.attendance ? snap.attendance->checked_at : std::optional<Instant>());
    const bool became_final =
        rec.state == AttendanceState::kFinal &&
        (!snap.attendance || snap.attendance->state != AttendanceState::kFinal);
    if (became_final && snap.policy.attendance == core::AttendanceMode::kComplete) {
      // The appointment as it is now (it may have changed since the read).
      core::Appointment a = TM_TRY(tx.GetAppointment(id));
      const bool open = a.status == core::AppointmentStatus::kBooked ||
                        a.status == core::AppointmentStatus::kConfirmed;
      std::string_view topic;
      if (rec.outcome == core::AttendanceOutcome::kAttended) {
        topic = kAppointmentAttended;
        if (open) {
          // Booked and held: it took place, so it was confirmed too (the only way to completed).
          if (a.status == core::AppointmentStatus::kBooked) {
            a = TM_TRY(tx.SetStatus(id, core::AppointmentStatus::kConfirmed));
          }
          a = TM_TRY(tx.SetStatus(id, core::AppointmentStatus::kCompleted));
          rec.action = "completed";
          TM_TRY(
              audit("appointment.completed",
                    json{{"by", "attendance"}, {"overlap_minutes", core::OverlapMinutes(rec.facts)}}
                        .dump()));
        }
      } else if (rec.outcome == core::AttendanceOutcome::kNoShow) {
        topic = kAppointmentNoShow;
        rec.action = "no_show";
      }
      if (!topic.empty()) {
        json payload{{"appointment_id", a.id},
                     {"appointment_uid", a.uid},
                     {"doctor_id", a.doctor_id},
                     {"status", core::Name(a.status)},
                     {"start", core::FormatRfc3339(a.start)},
                     {"end", core::FormatRfc3339(a.end)},
                     {"attendance", AttendanceJson(rec)}};
        core::OutboxEvent event;
        event.topic = std::string(topic);
        event.appointment_id = id;
        event.doctor_id = a.doctor_id;
        event.payload = payload.dump();
        TM_TRY(tx.AppendOutbox(std::move(event)));
      }
    }
    TM_TRY(tx.PutAttendance(rec));
    const bool state_changed = !snap.attendance || snap.attendance->state != rec.state;
    if (looked || state_changed) {
      TM_TRY(audit("attendance.recorded", AttendanceJson(rec).dump()));
    }
    return Ok();
  });
}

}  // namespace telemeet::sync
