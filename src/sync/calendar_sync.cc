#include "sync/calendar_sync.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "core/time.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "google/push.h"
#include "obs/log.h"

namespace telemeet::sync {

using core::MeetingState;
using google::ErrorKind;

std::string CalendarSyncJobKey(int64_t doctor_id) { return fmt::format("gsync:{}", doctor_id); }

Result<core::Job> EnqueueCalendarSync(store::Tx& tx, int64_t doctor_id, Instant at) {
  core::Job job;
  job.kind = std::string(kCalendarSyncJobKind);
  job.key = CalendarSyncJobKey(doctor_id);
  job.doctor_id = doctor_id;
  job.payload = std::to_string(doctor_id);
  job.run_at = at;
  return tx.UpsertJob(job);
}

std::optional<std::string> DriftOf(const core::Meeting& m, const core::Appointment& a,
                                   const google::Event& e) {
  // Settled meetings only: while our own call is due or in flight the event may show it.
  if (m.state != MeetingState::kReady && m.state != MeetingState::kConferencePending) {
    return std::nullopt;
  }
  if (a.status != core::AppointmentStatus::kBooked &&
      a.status != core::AppointmentStatus::kConfirmed) {
    return std::nullopt;
  }
  if (!e.etag.empty() && e.etag == m.etag) return std::nullopt;  // our own last write
  if (e.cancelled()) {
    if (m.drift == kDriftDeleted) return std::nullopt;
    return std::string(kDriftDeleted);
  }
  auto start = core::ParseRfc3339(e.start.date_time);
  auto end = core::ParseRfc3339(e.end.date_time);
  const bool in_step =
      start && end &&
      ((*start == m.synced_start && *end == m.synced_end) || (*start == a.start && *end == a.end));
  if (in_step) {
    if (!m.drift.empty()) return std::string();  // put back by hand
    return std::nullopt;
  }
  if (m.drift == kDriftMoved && m.drift_etag == e.etag) return std::nullopt;
  return std::string(kDriftMoved);
}

Status RecordDrift(store::Tx& tx, const core::Appointment& a, const core::Meeting& before,
                   const google::Event& e, const std::string& drift, std::string_view actor) {
  const int64_t appointment_id = before.appointment_id;
  TM_TRY(tx.SetMeetingDrift(appointment_id, drift, drift.empty() ? "" : e.etag));
  nlohmann::json detail{{"appointment_id", appointment_id},
                        {"appointment_uid", a.uid},
                        {"doctor_id", a.doctor_id},
                        {"event_id", e.id},
                        {"start", core::FormatRfc3339(a.start)},
                        {"end", core::FormatRfc3339(a.end)},
                        {"time_zone", a.time_zone}};
  core::AuditEntry entry;
  entry.appointment_id = appointment_id;
  entry.actor = std::string(actor);
  if (drift.empty()) {
    entry.action = "meeting.drift_cleared";
    detail["was"] = before.drift;
    entry.detail = detail.dump();
    TM_TRY(tx.AppendAudit(std::move(entry)));
    return Ok();
  }
  detail["change"] = drift;
  if (drift == kDriftMoved) {
    detail["google_start"] = e.start.date_time;
    detail["google_end"] = e.end.date_time;
  }
  detail["policy"] =
      "The appointment was not changed; the event is put back when the appointment next "
      "changes.";
  entry.action = std::string(kAppointmentChangedInGoogle);
  entry.detail = detail.dump();
  TM_TRY(tx.AppendAudit(std::move(entry)));
  core::OutboxEvent event;
  event.topic = std::string(kAppointmentChangedInGoogle);
  event.appointment_id = appointment_id;
  event.doctor_id = a.doctor_id;
  event.payload = detail.dump();
  TM_TRY(tx.AppendOutbox(std::move(event)));
  return Ok();
}

struct CalendarSync::Found {
  core::Meeting meeting;
  core::Appointment appointment;
  google::Event event;
  std::string drift;
};

CalendarSync::CalendarSync(store::Store& store, google::CalendarClient& calendar,
                           const Clock& clock, CalendarSyncOptions options)
    : store_(store), calendar_(calendar), clock_(clock), options_(std::move(options)) {}

void CalendarSync::SetOnDue(std::function<void()> on_due) {
  std::lock_guard lock(mu_);
  on_due_ = std::move(on_due);
}

void CalendarSync::SetOnCalendarChanged(std::function<void(int64_t)> on_changed) {
  std::lock_guard lock(mu_);
  on_calendar_changed_ = std::move(on_changed);
}

Result<int64_t> CalendarSync::EnsureJobs() {
  const Instant now = clock_.Now();
  return store_.Transact([&](store::Tx& tx) -> Result<int64_t> {
    auto doctors = tx.ListConnectedDoctors();
    if (!doctors) return std::unexpected(doctors.error());
    for (int64_t id : *doctors) {
      if (auto j = EnqueueCalendarSync(tx, id, now); !j) return std::unexpected(j.error());
    }
    return static_cast<int64_t>(doctors->size());
  });
}

namespace {

bool SameText(std::string_view a, std::string_view b) {
  // Constant time in the length of the secret: a wrong token tells nothing about the right one.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

net::Response CalendarSync::HandlePush(const net::Request& request) {
  Result<google::PushNotification> push = google::ParsePushNotification(request.headers);
  if (!push) return net::Response::Empty(400);
  const std::string& channel = push->channel_id;
  auto sync = store_.Read([&](store::Tx& tx) { return tx.GetCalendarSyncByChannel(channel); });
  if (!sync) {
    if (sync.error().code() == ErrorCode::kNotFound) return net::Response::Empty(204);
    obs::Log().Warn("push notification not handled", {{"error", sync.error().ToString()}});
    return net::Response::Empty(503);
  }
  if (!SameText(push->token, sync->channel_token)) {
    obs::Log().Warn("push notification with a wrong channel token", {{"channel", channel}});
    return net::Response::Empty(204);
  }
  // "sync": the channel is open; nothing changed yet.
  if (push->state == google::ResourceState::kSync) return net::Response::Empty(204);
  std::function<void(int64_t)> on_changed;
  {
    std::lock_guard lock(mu_);
    on_changed = on_calendar_changed_;
  }
  if (on_changed) on_changed(sync->doctor_id);
  const Instant now = clock_.Now();
  auto due =
      store_.Transact([&](store::Tx& tx) { return EnqueueCalendarSync(tx, sync->doctor_id, now); });
  if (!due) {
    obs::Log().Warn("push notification not handled", {{"error", due.error().ToString()}});
    return net::Response::Empty(503);
  }
  std::function<void()> on_due;
  {
    std::lock_guard lock(mu_);
    on_due = on_due_;
  }
  if (on_due) on_due();
  return net::Response::Empty(204);
}

RunResult CalendarSync::Finish(const core::Job& job, RunResult result, Status written) {
  if (!written) {
    const Error& e = written.error();
    const bool lost = store::IsLeaseLost(e);
    result.disposition = lost ? Disposition::kLeaseLost : Disposition::kStoreError;
    result.error = e.ToString();
    obs::Log().Warn(
        "calendar sync not recorded",
        {{"job", job.key}, {"disposition", Name(result.disposition)}, {"error", result.error}});
  }
  return result;
}

RunResult CalendarSync::Run(const core::Job& job) {
  RunResult result;
  const Instant now = clock_.Now();
  int64_t doctor_id = 0;
  auto [ptr, ec] =
      std::from_chars(job.payload.data(), job.payload.data() + job.payload.size(), doctor_id);
  if (ec != std::errc() || ptr != job.payload.data() + job.payload.size() || doctor_id <= 0) {
    result.error = "calendar sync job without a doctor: " + job.payload;
    return Finish(job, result, store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(job); }));
  }

  // What we know: the doctor's calendar, the grant, the sync state.
  struct Start {
    core::Doctor doctor;
    std::optional<core::GrantStatus> grant;
    std::optional<store::CalendarSyncState> state;
  };
  auto start = store_.Read([&](store::Tx& tx) -> Result<Start> {
    Start s;
    auto doctor = tx.GetDoctor(doctor_id);
    if (!doctor) return std::unexpected(doctor.error());
    s.doctor = std::move(*doctor);
    auto grant = tx.GetGrant(doctor_id);
    if (grant) {
      s.grant = grant->status;
    } else if (grant.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(grant.error());
    }
    auto state = tx.GetCalendarSync(doctor_id);
    if (state) {
      s.state = std::move(*state);
    } else if (state.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(state.error());
    }
    return s;
  });
  if (!start) {
    result.error = start.error().ToString();
    if (start.error().code() == ErrorCode::kNotFound) {  // the doctor is gone
      return Finish(job, result,
                    store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(job); }));
    }
    Instant at = store::BackoffAfter(job, now, options_.retry_base, options_.retry_max);
    result.disposition = Disposition::kRetry;
    return Finish(job, result, store_.Transact([&](store::Tx& tx) {
      return tx.RetryJob(job, at, result.error);
    }));
  }
  if (!start->grant || *start->grant == core::GrantStatus::kDisconnected) {
    // Not connected: nothing to watch; connecting enqueues the job again.
    return Finish(job, result, store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(job); }));
  }
  if (*start->grant == core::GrantStatus::kNeedsReconnect) {
    result.disposition = Disposition::kParked;
    result.error = "needs_reconnect";
    return Finish(job, result, store_.Transact([&](store::Tx& tx) {
      return tx.ParkJob(job, "needs_reconnect: the doctor's Google grant is not usable");
    }));
  }

  const std::string doctor_key = std::to_string(doctor_id);
  store::CalendarSyncState st;
  if (start->state) st = *start->state;
  st.doctor_id = doctor_id;
  if (st.calendar_id != start->doctor.calendar_id) {
    st.calendar_id = start->doctor.calendar_id;  // another calendar: start over
    st.sync_token.clear();
  }

  // A failed Google call: park, finish, or try again after a backoff.
  auto fail = [&](const google::GoogleError& e) {
    result.error = e.ToString();
    if (e.NeedsReconnect() || e.kind() == ErrorKind::kInvalidGrant) {
      result.disposition = Disposition::kParked;
      return Finish(job, result, store_.Transact([&](store::Tx& tx) {
        return tx.ParkJob(job, "needs_reconnect: " + e.message());
      }));
    }
    if (e.kind() == ErrorKind::kNotConnected) {
      return Finish(job, result,
                    store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(job); }));
    }
    Instant at = store::BackoffAfter(job, now, options_.retry_base, options_.retry_max);
    result.disposition = Disposition::kRetry;
    return Finish(job, result, store_.Transact([&](store::Tx& tx) {
      return tx.RetryJob(job, at, result.error);
    }));
  };

  // 1. The push channel: opened, moved or renewed before it expires. A failure here only costs
  // the push (the sweep still runs), so it is logged and the sync goes on.
  std::optional<std::pair<std::string, std::string>> retired;  // channel id, resource id
  const bool push = !options_.push_address.empty();
  const bool renew =
      push && (st.channel_id.empty() || st.channel_address != options_.push_address ||
               !st.channel_expires_at || *st.channel_expires_at - now < options_.renew_before);
  if (renew) {
    google::WatchRequest watch;
    watch.channel_id = "tm-" + crypto::HexEncode(crypto::RandomBytes(12));
    watch.token = crypto::HexEncode(crypto::RandomBytes(24));
    watch.address = options_.push_address;
    watch.ttl = options_.channel_ttl;
    auto channel = calendar_.WatchEvents(doctor_key, st.calendar_id, watch);
    if (channel) {
      if (!st.channel_id.empty()) retired.emplace(st.channel_id, st.channel_resource_id);
      st.channel_id = channel->id;
      st.channel_resource_id = channel->resource_id;
      st.channel_token = watch.token;
      st.channel_address = watch.address;
      st.channel_expires_at = channel->expiration.value_or(now + options_.channel_ttl);
      // Stored before listing, so a notification for a change made from now on finds it.
      Status saved = store_.Transact([&](store::Tx& tx) -> Status {
        const Instant until = job.lease_expires_at == Instant{} ? now + std::chrono::minutes(1)
                                                                : job.lease_expires_at;
        if (auto s = tx.ExtendLease(job, until); !s) return s;
        return tx.PutCalendarSync(st);
      });
      if (!saved) return Finish(job, result, saved);
    } else if (channel.error().NeedsReconnect() ||
               channel.error().kind() == ErrorKind::kInvalidGrant) {
      return fail(channel.error());
    } else {
      obs::Log().Warn("opening a Google push channel failed; the periodic sync goes on",
                      {{"doctor_id", doctor_id}, {"error", channel.error().ToString()}});
    }
  } else if (!push && !st.channel_id.empty()) {
    retired.emplace(st.channel_id, st.channel_resource_id);
    st.channel_id.clear();
    st.channel_resource_id.clear();
    st.channel_token.clear();
    st.channel_address.clear();
    st.channel_expires_at.reset();
  }

  // 2. What changed since the last sync (or everything, when there is no usable token).
  google::ListQuery query;
  query.max_results = options_.page_size;
  const bool incremental = !st.sync_token.empty();
  if (incremental) {
    query.sync_token = st.sync_token;
  } else {
    query.show_deleted = true;
  }
  auto listed = calendar_.ListAllEvents(doctor_key, st.calendar_id, query);
  bool full = !incremental;
  if (!listed && incremental && listed.error().kind() == ErrorKind::kFullSyncRequired) {
    obs::Log().Info("Google sync token expired; full calendar sync", {{"doctor_id", doctor_id}});
    full = true;
    query = google::ListQuery{};
    query.max_results = options_.page_size;
    query.show_deleted = true;
    listed = calendar_.ListAllEvents(doctor_key, st.calendar_id, query);
  }
  if (!listed) return fail(listed.error());

  // 3. Our events among them, judged against their meetings.
  auto found = store_.Read([&](store::Tx& tx) -> Result<std::vector<Found>> {
    std::vector<Found> out;
    for (const google::Event& event : listed->items) {
      auto meeting = tx.GetMeetingByEvent(doctor_id, st.calendar_id, event.id);
      if (!meeting) {
        if (meeting.error().code() == ErrorCode::kNotFound) continue;
        return std::unexpected(meeting.error());
      }
      auto appointment = tx.GetAppointment(meeting->appointment_id);
      if (!appointment) return std::unexpected(appointment.error());
      auto drift = DriftOf(*meeting, *appointment, event);
      if (!drift) continue;
      out.push_back(Found{std::move(*meeting), std::move(*appointment), event, std::move(*drift)});
    }
    return out;
  });
  if (!found) {
    result.error = found.error().ToString();
    Instant at = store::BackoffAfter(job, now, options_.retry_base, options_.retry_max);
    result.disposition = Disposition::kRetry;
    return Finish(job, result, store_.Transact([&](store::Tx& tx) {
      return tx.RetryJob(job, at, result.error);
    }));
  }

  // 4. One transaction: the drifts, the new token and the next run, if the lease still holds.
  const std::string previous_token = st.sync_token;
  st.sync_token = listed->next_sync_token;
  st.synced_at = now;
  int reported = 0;
  Status written = store_.Transact([&](store::Tx& tx) -> Status {
    reported = 0;
    bool stale = false;
    if (auto s = tx.CompleteJob(job); !s) return s;
    for (const Found& f : *found) {
      const int64_t appointment_id = f.meeting.appointment_id;
      auto current = tx.GetMeeting(appointment_id);
      if (!current) {
        if (current.error().code() == ErrorCode::kNotFound) continue;
        return std::unexpected(current.error());
      }
      if (current->etag != f.meeting.etag || current->state != f.meeting.state ||
          current->drift != f.meeting.drift) {
        stale = true;  // the reconciler wrote meanwhile: list these changes again
        continue;
      }
      TM_TRY(RecordDrift(tx, f.appointment, f.meeting, f.event, f.drift, options_.actor));
      if (!f.drift.empty()) ++reported;
    }
    store::CalendarSyncState save = st;
    Instant next =
        now + (st.channel_id.empty() ? options_.sweep_interval : options_.sweep_interval_with_push);
    if (stale) {
      save.sync_token = previous_token;
      next = now;
    }
    if (auto j = EnqueueCalendarSync(tx, doctor_id, next); !j) return std::unexpected(j.error());
    return tx.PutCalendarSync(save);
  });
  if (written && reported > 0) {
    obs::Log().Info("events changed in Google Calendar by hand",
                    {{"doctor_id", doctor_id}, {"reported", reported}, {"full_sync", full}});
  }
  if (written && retired) {
    // The old channel overlapped the new one; stopping it is a courtesy (it expires anyway).
    auto stopped = calendar_.StopChannel(doctor_key, retired->first, retired->second);
    if (!stopped) {
      obs::Log().Warn("stopping an old Google push channel failed",
                      {{"doctor_id", doctor_id}, {"error", stopped.error().ToString()}});
    }
  }
  return Finish(job, result, written);
}

}  // namespace telemeet::sync
