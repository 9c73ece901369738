#include "api/views.h"

#include "api/request.h"
#include "core/time.h"
#include "sync/attendance.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

json OptTime(const std::optional<Instant>& t) { return t ? TimeJson(*t) : json(nullptr); }

json Topics(std::string_view topics) {
  json out = json::array();
  for (std::string_view t : Split(topics, ' ')) {
    if (!t.empty()) out.push_back(std::string(t));
  }
  return out;
}

}  // namespace

json RefJson(const std::string& external_ref) {
  return external_ref.empty() ? json(nullptr) : json(external_ref);
}

json DoctorJson(const core::Doctor& d) {
  return {{"id", d.id},
          {"object", "doctor"},
          {"name", d.name},
          {"email", d.email},
          {"time_zone", d.time_zone},
          {"calendar_id", d.calendar_id},
          {"active", d.active},
          {"external_ref", RefJson(d.external_ref)},
          {"created_at", TimeJson(d.created_at)}};
}

json ServiceJson(const core::Service& s) {
  return {{"id", s.id},
          {"object", "service"},
          {"name", s.name},
          {"telemedicine", s.telemedicine},
          {"default_duration_minutes", s.default_duration_minutes},
          {"title_template", s.event_title_template},
          {"active", s.active},
          {"external_ref", RefJson(s.external_ref)},
          {"created_at", TimeJson(s.created_at)}};
}

json PatientJson(const core::Patient& p) {
  return {{"id", p.id},
          {"object", "patient"},
          {"name", p.name},
          {"email", p.email},
          {"phone", p.phone},
          {"time_zone", p.time_zone},
          {"active", p.active},
          {"external_ref", RefJson(p.external_ref)},
          {"created_at", TimeJson(p.created_at)}};
}

json UserJson(const core::User& u) {
  return {{"id", u.id},
          {"object", "user"},
          {"email", u.email},
          {"name", u.name},
          {"role", core::Name(u.role)},
          {"doctor_id", u.doctor_id == 0 ? json(nullptr) : json(u.doctor_id)},
          {"disabled", u.disabled},
          {"created_at", TimeJson(u.created_at)}};
}

json ApiKeyJson(const core::ApiKey& k) {
  return {{"id", k.id},
          {"object", "api_key"},
          {"name", k.name},
          {"prefix", k.prefix},
          {"scopes", Topics(k.scopes)},
          {"created_at", TimeJson(k.created_at)},
          {"revoked_at", OptTime(k.revoked_at)},
          {"last_used_at", OptTime(k.last_used_at)}};
}

json AuditJson(const core::AuditEntry& e) {
  json detail = json::parse(e.detail, nullptr, false);
  if (detail.is_discarded()) detail = e.detail;
  return {{"id", e.id},       {"object", "audit_entry"}, {"at", TimeJson(e.at)},
          {"actor", e.actor}, {"action", e.action},      {"detail", std::move(detail)}};
}

json WebhookEndpointJson(const core::WebhookEndpoint& e) {
  return {{"id", e.id},
          {"object", "webhook_endpoint"},
          {"url", e.url},
          {"topics", Topics(e.topics)},
          {"active", e.active},
          {"created_at", TimeJson(e.created_at)},
          {"secret_rotated_at", OptTime(e.secret_rotated_at)},
          {"previous_secret_expires_at", OptTime(e.previous_secret_expires_at)}};
}

json DeliveryJson(const core::WebhookDelivery& d) {
  return {{"id", d.id},
          {"object", "webhook_delivery"},
          {"endpoint_id", d.endpoint_id},
          {"event_id", d.event_id},
          {"status", core::Name(d.status)},
          {"attempts", d.attempts},
          {"response_status", d.response_status == 0 ? json(nullptr) : json(d.response_status)},
          {"last_error", d.last_error},
          {"updated_at", TimeJson(d.updated_at)}};
}

json OutboxEventJson(const core::OutboxEvent& e) {
  json payload = json::parse(e.payload, nullptr, false);
  if (payload.is_discarded()) payload = e.payload;
  return {{"id", e.id},
          {"object", "event"},
          {"type", e.topic},
          {"appointment_id", e.appointment_id == 0 ? json(nullptr) : json(e.appointment_id)},
          {"doctor_id", e.doctor_id == 0 ? json(nullptr) : json(e.doctor_id)},
          {"data", std::move(payload)},
          {"created_at", TimeJson(e.created_at)}};
}

// The two views on bench/api's hot path are built member by member: nlohmann's initializer
// lists copy every value (the embedded meeting object included) once more.
json MeetingJson(const std::optional<core::Meeting>& m, const std::optional<core::Job>& job,
                 int64_t appointment_id) {
  json out = json::object();
  out["object"] = "meeting";
  out["appointment_id"] = appointment_id;
  if (!m) {
    out["state"] = "not_needed";
    out["join_url"] = nullptr;
    out["event_url"] = nullptr;
    out["event_id"] = nullptr;
    out["last_error"] = nullptr;
    out["changed_in_google"] = nullptr;
    out["attempts"] = 0;
    out["updated_at"] = nullptr;
  } else {
    // The link is published only once the conference exists at Google.
    bool link = !m->join_url.empty() && (m->state == core::MeetingState::kReady ||
                                         m->state == core::MeetingState::kUpdating);
    auto text_or_null = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
    out["state"] = core::Name(m->state);
    out["join_url"] = link ? json(m->join_url) : json(nullptr);
    out["event_url"] = text_or_null(m->event_url);
    out["event_id"] = text_or_null(m->event_id);
    out["last_error"] = text_or_null(m->last_error);
    out["changed_in_google"] = text_or_null(m->drift);  // "moved" or "deleted" (sync layer)
    out["attempts"] = m->attempts;
    out["updated_at"] = TimeJson(m->updated_at);
  }
  out["next_run_at"] =
      job && job->state == core::JobState::kReady ? TimeJson(job->run_at) : json(nullptr);
  out["parked"] = job && job->state == core::JobState::kParked;
  // Work queued or running for it (a change not yet at Google, a conference still polled): the
  // state alone stays "ready" while a moved appointment's patch is still to run.
  out["syncing"] = job && job->state != core::JobState::kParked;
  return out;
}

Result<json> AppointmentJson(store::Tx& tx, const core::Appointment& a,
                             const std::string& link_url) {
  store::AppointmentView v;
  v.appointment = a;
  if (auto m = tx.GetMeeting(a.id)) {
    v.meeting = std::move(*m);
  } else if (m.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(m.error());
  }
  if (auto j = tx.GetJob(store::ReconcileJobKey(a.id))) {
    v.job = std::move(*j);
  } else if (j.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(j.error());
  }
  for (core::AccessLink& l : TM_TRY(tx.ListAccessLinks(a.id))) {
    if (!l.revoked_at && (!v.access_link || l.id > v.access_link->id)) v.access_link = std::move(l);
  }
  if (auto s = tx.GetAttendance(a.id)) {
    v.attendance = std::move(*s);
  } else if (s.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(s.error());
  }
  if (auto x = tx.GetMeetingAccess(a.id)) {
    v.access = std::move(*x);
  } else if (x.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(x.error());
  }
  return AppointmentViewJson(v, link_url);
}

json AppointmentViewJson(const store::AppointmentView& v, const std::string& link_url) {
  const core::Appointment& a = v.appointment;
  json link = nullptr;
  if (v.access_link) {
    link = json::object();
    link["id"] = v.access_link->id;
    link["expires_at"] = TimeJson(v.access_link->expires_at);
    link["url"] = link_url.empty() ? json(nullptr) : json(link_url);
  }
  json out = json::object();
  out["id"] = a.id;
  out["object"] = "appointment";
  out["uid"] = a.uid;
  out["doctor_id"] = a.doctor_id;
  out["service_id"] = a.service_id;
  out["patient_id"] = a.patient_id;
  out["start"] = TimeJson(a.start);
  out["end"] = TimeJson(a.end);
  out["time_zone"] = a.time_zone;
  out["status"] = core::Name(a.status);
  out["revision"] = a.revision;
  out["notes"] = a.notes;
  out["external_ref"] = RefJson(a.external_ref);
  out["created_at"] = TimeJson(a.created_at);
  out["updated_at"] = TimeJson(a.updated_at);
  out["series_id"] = a.series_id != 0 ? json(a.series_id) : json(nullptr);
  out["meeting"] = MeetingJson(v.meeting, v.job, a.id);
  out["access_link"] = std::move(link);
  // What Meet's own records and settings told (issue 18, sync/attendance.h).
  out["attendance"] = sync::AttendanceJson(v.attendance);
  out["meeting"]["access_type"] = sync::MeetingAccessJson(v.access);
  return out;
}

}  // namespace telemeet::api
