#include "sync/meeting_refresh.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "core/time.h"
#include "sync/calendar_sync.h"
#include "sync/reconciler.h"

namespace telemeet::sync {

using core::MeetingState;
using google::ErrorKind;

MeetingRefresher::MeetingRefresher(store::Store& store, google::CalendarClient& calendar,
                                   const Clock& clock, RefreshOptions options)
    : store_(store), calendar_(calendar), clock_(clock), options_(std::move(options)) {}

bool MeetingRefresher::Admit(int64_t appointment_id, std::chrono::seconds* retry_after) {
  const Instant now = clock_.Now();
  std::lock_guard lock(mu_);
  auto it = last_refresh_.find(appointment_id);
  if (it != last_refresh_.end() && now - it->second < options_.min_interval) {
    auto wait = std::chrono::ceil<std::chrono::seconds>(options_.min_interval - (now - it->second));
    if (retry_after != nullptr) *retry_after = std::max(wait, std::chrono::seconds(1));
    return false;
  }
  if (last_refresh_.size() >= options_.max_tracked) {
    std::erase_if(last_refresh_,
                  [&](const auto& entry) { return now - entry.second >= options_.min_interval; });
  }
  // Still full of recent refreshes: the limit cannot be kept for more appointments, so the
  // oldest goes (memory stays bounded; at worst that one appointment is refreshed early).
  if (last_refresh_.size() >= options_.max_tracked && !last_refresh_.empty()) {
    auto oldest = last_refresh_.begin();
    for (auto i = last_refresh_.begin(); i != last_refresh_.end(); ++i) {
      if (i->second < oldest->second) oldest = i;
    }
    last_refresh_.erase(oldest);
  }
  last_refresh_[appointment_id] = now;
  return true;
}

Result<RefreshOutcome> MeetingRefresher::Refresh(int64_t appointment_id, std::string_view actor,
                                                 std::chrono::seconds* retry_after) {
  if (retry_after != nullptr) *retry_after = std::chrono::seconds(0);
  struct Known {
    core::Appointment appointment;
    std::optional<core::Meeting> meeting;
    std::optional<core::GrantStatus> grant;
  };
  Known k = TM_TRY(store_.Read([&](store::Tx& tx) -> Result<Known> {
    Known out;
    out.appointment = TM_TRY(tx.GetAppointment(appointment_id));
    if (auto m = tx.GetMeeting(appointment_id)) {
      out.meeting = std::move(*m);
    } else if (m.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(m.error());
    }
    if (auto g = tx.GetGrant(out.appointment.doctor_id)) {
      out.grant = g->status;
    } else if (g.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(g.error());
    }
    return out;
  }));

  // Only a settled meeting with an event is read: while the worker's call is due or in flight
  // the event may show half of it, and the worker records the answer itself.
  auto no_event = [&](std::string_view why) -> Result<RefreshOutcome> {
    return Fail(
        ErrorCode::kFailedPrecondition,
        fmt::format("appointment {} has no Google event to refresh: {}", appointment_id, why),
        "meeting.state");
  };
  auto busy = [&](std::string_view why) -> Result<RefreshOutcome> {
    return Fail(ErrorCode::kFailedPrecondition,
                fmt::format("the meeting of appointment {} cannot be refreshed now: {}",
                            appointment_id, why),
                "meeting.state");
  };
  if (!k.meeting) return no_event("no meeting has been needed for it");
  const core::Meeting& m = *k.meeting;
  switch (m.state) {
    case MeetingState::kNotNeeded:
      return no_event(
          "no meeting is wanted for it (not a telemedicine service, not confirmed yet, or "
          "cancelled)");
    case MeetingState::kAwaitingDoctor:
      return no_event("the doctor has not connected Google Calendar yet");
    case MeetingState::kCancelled:
      return no_event("its event was removed when it was cancelled");
    case MeetingState::kFailed:
      return no_event("the meeting failed; retry the meeting instead");
    case MeetingState::kNeedsReconnect:
      return busy("the doctor's Google connection must be renewed first");
    case MeetingState::kCreating:
    case MeetingState::kUpdating:
    case MeetingState::kCancelling:
      return busy("the worker is changing its event; refresh once that is done");
    case MeetingState::kConferencePending:
      return busy("Google is still creating the Meet conference; the worker reads it until ready");
    case MeetingState::kReady:
      break;
  }
  if (m.event_id.empty()) return no_event("no event id is known");
  if (k.grant != core::GrantStatus::kActive) {
    return busy("the doctor's Google connection must be renewed first");
  }
  if (!Admit(appointment_id, retry_after)) {
    return Fail(ErrorCode::kResourceExhausted,
                fmt::format("the meeting of appointment {} was refreshed less than {} s ago; try "
                            "again in {} s",
                            appointment_id, options_.min_interval.count(),
                            retry_after != nullptr ? retry_after->count() : 1));
  }

  RefreshOutcome out;
  auto got = calendar_.GetEvent(std::to_string(k.appointment.doctor_id), m.calendar_id, m.event_id);
  if (got) {
    out.event = std::move(*got);
  } else if (got.error().kind() == ErrorKind::kNotFound || got.error().kind() == ErrorKind::kGone) {
    out.gone = true;
    out.event.id = m.event_id;
    out.event.status = "cancelled";
  } else if (got.error().NeedsReconnect() || got.error().kind() == ErrorKind::kInvalidGrant) {
    return busy("the doctor's Google connection is no longer valid; reconnecting resumes the work");
  } else {
    return Fail(ErrorCode::kUnavailable,
                "Google did not answer the refresh: " + got.error().message());
  }

  // What the meeting says now.
  const google::Event& e = out.event;
  const core::Appointment& a = k.appointment;
  core::Meeting next = m;
  if (!e.cancelled()) {
    if (e.conference.status == google::ConferenceStatus::kSuccess &&
        !e.conference.join_url.empty()) {
      out.link_changed = e.conference.join_url != m.join_url;
      next.join_url = e.conference.join_url;
      next.conference_id = e.conference.conference_id;
    }
    if (!e.html_link.empty()) next.event_url = e.html_link;
    auto start = core::ParseRfc3339(e.start.date_time);
    auto end = core::ParseRfc3339(e.end.date_time);
    // The times our last write left, when the event is where the clinic has the appointment;
    // an event moved by hand keeps them (a drift: put back when the appointment next changes).
    if (start && end && core::FloorToSecond(*start) == core::FloorToSecond(a.start) &&
        core::FloorToSecond(*end) == core::FloorToSecond(a.end)) {
      next.synced_start = *start;
      next.synced_end = *end;
    }
  }
  // This version of the event is known now: the calendar sync does not report it again.
  if (!e.etag.empty()) next.etag = e.etag;
  const std::optional<std::string> drift = DriftOf(m, a, e);
  out.drift = drift.value_or(m.drift);

  const std::string who(actor);
  TM_TRY(store_.Transact([&](store::Tx& tx) -> Status {
    core::Meeting current = TM_TRY(tx.GetMeeting(appointment_id));
    if (current.state != m.state || current.etag != m.etag || current.drift != m.drift ||
        current.conference_attempt != m.conference_attempt ||
        current.synced_revision != m.synced_revision) {
      return Fail(ErrorCode::kAborted,
                  fmt::format("the meeting of appointment {} changed while it was refreshed; "
                              "try again",
                              appointment_id));
    }
    TM_TRY(tx.PutMeeting(next));
    if (drift) TM_TRY(RecordDrift(tx, a, m, e, *drift, who));
    core::AuditEntry entry;
    entry.appointment_id = appointment_id;
    entry.actor = who;
    entry.action = "meeting.refreshed";
    nlohmann::json detail{{"event_id", m.event_id},
                          {"event_status", out.gone ? "not_found" : e.status},
                          {"link_changed", out.link_changed},
                          {"drift", out.drift}};
    if (!e.cancelled()) {
      detail["google_start"] = e.start.date_time;
      detail["google_end"] = e.end.date_time;
    }
    entry.detail = detail.dump();
    TM_TRY(tx.AppendAudit(std::move(entry)));
    if (out.link_changed) {
      // Webhooks and emails carry the link: they hear of the new one.
      core::OutboxEvent event;
      event.topic = std::string(kMeetingUpdated);
      event.appointment_id = appointment_id;
      event.doctor_id = a.doctor_id;
      event.payload = MeetingEventPayload(a, next);
      TM_TRY(tx.AppendOutbox(std::move(event)));
    }
    return Ok();
  }));
  return out;
}

}  // namespace telemeet::sync
