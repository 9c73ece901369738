#include "api/views.h"

#include "api/request.h"
#include "core/time.h"
#include "net/json.h"
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

namespace {

// The shapes of the meeting and of the appointment view, written once for both renderings:
// JsonWriter (text, GET's hot path) and JsonBuilder (nlohmann, for the routes that add to the
// answer or pick from it). Keys go in sorted order: nlohmann's objects are sorted, and the
// two renderings must be the same bytes (api_test pins them).

template <typename W>
void TimeOrNull(W& w, Instant t) {
  if (t == Instant{}) {
    w.Null();
  } else {
    core::Rfc3339Buffer buf;
    w.String(core::FormatRfc3339(t, buf));
  }
}

template <typename W>
void TextOrNull(W& w, std::string_view text) {
  if (text.empty()) {
    w.Null();
  } else {
    w.String(text);
  }
}

// The meeting as embedded in an appointment; with `access` (the appointment's view) it says
// access_type too.
template <typename W>
void WriteMeeting(W& w, const std::optional<core::Meeting>& m, const std::optional<core::Job>& job,
                  int64_t appointment_id, const std::optional<core::MeetingAccess>* access) {
  // The link is published only once the conference exists at Google.
  const bool link =
      m && !m->join_url.empty() &&
      (m->state == core::MeetingState::kReady || m->state == core::MeetingState::kUpdating);
  w.BeginObject();
  if (access != nullptr) {
    // What Meet's own settings told (issue 18, sync/attendance.h).
    w.Key("access_type").Json(sync::MeetingAccessJson(*access));
  }
  w.Key("appointment_id").Int(appointment_id);
  w.Key("attempts").Int(m ? m->attempts : 0);
  w.Key("changed_in_google");  // "moved" or "deleted" (sync layer)
  TextOrNull(w, m ? std::string_view(m->drift) : std::string_view());
  w.Key("event_id");
  TextOrNull(w, m ? std::string_view(m->event_id) : std::string_view());
  w.Key("event_url");
  TextOrNull(w, m ? std::string_view(m->event_url) : std::string_view());
  w.Key("join_url");
  if (link) {
    w.String(m->join_url);
  } else {
    w.Null();
  }
  w.Key("last_error");
  TextOrNull(w, m ? std::string_view(m->last_error) : std::string_view());
  w.Key("next_run_at");
  if (job && job->state == core::JobState::kReady) {
    TimeOrNull(w, job->run_at);
  } else {
    w.Null();
  }
  w.Key("object").String("meeting");
  w.Key("parked").Bool(job && job->state == core::JobState::kParked);
  w.Key("state").String(m ? core::Name(m->state) : "not_needed");
  // Work queued or running for it (a change not yet at Google, a conference still polled): the
  // state alone stays "ready" while a moved appointment's patch is still to run.
  w.Key("syncing").Bool(job && job->state != core::JobState::kParked);
  w.Key("updated_at");
  if (m) {
    TimeOrNull(w, m->updated_at);
  } else {
    w.Null();
  }
  w.EndObject();
}

template <typename W>
void WriteAppointmentView(W& w, const store::AppointmentView& v, const std::string& link_url) {
  const core::Appointment& a = v.appointment;
  w.BeginObject();
  w.Key("access_link");
  if (v.access_link) {
    w.BeginObject();
    w.Key("expires_at");
    TimeOrNull(w, v.access_link->expires_at);
    w.Key("id").Int(v.access_link->id);
    w.Key("url");
    TextOrNull(w, link_url);
    w.EndObject();
  } else {
    w.Null();
  }
  // What Meet's own records told (issue 18, sync/attendance.h).
  w.Key("attendance").Json(sync::AttendanceJson(v.attendance));
  w.Key("created_at");
  TimeOrNull(w, a.created_at);
  w.Key("doctor_id").Int(a.doctor_id);
  w.Key("end");
  TimeOrNull(w, a.end);
  w.Key("external_ref");
  TextOrNull(w, a.external_ref);
  w.Key("id").Int(a.id);
  w.Key("meeting");
  WriteMeeting(w, v.meeting, v.job, a.id, &v.access);
  w.Key("notes").String(a.notes);
  w.Key("object").String("appointment");
  w.Key("patient_id").Int(a.patient_id);
  w.Key("revision").Int(a.revision);
  w.Key("series_id");
  if (a.series_id != 0) {
    w.Int(a.series_id);
  } else {
    w.Null();
  }
  w.Key("service_id").Int(a.service_id);
  w.Key("start");
  TimeOrNull(w, a.start);
  w.Key("status").String(core::Name(a.status));
  w.Key("time_zone").String(a.time_zone);
  w.Key("uid").String(a.uid);
  w.Key("updated_at");
  TimeOrNull(w, a.updated_at);
  w.EndObject();
}

}  // namespace

json MeetingJson(const std::optional<core::Meeting>& m, const std::optional<core::Job>& job,
                 int64_t appointment_id) {
  net::JsonBuilder b;
  WriteMeeting(b, m, job, appointment_id, nullptr);
  return b.Take();
}

Result<json> AppointmentJson(store::Tx& tx, const core::Appointment& a,
                             const std::string& link_url) {
  // What belongs to it in one statement (the GET's), the appointment as the caller has it.
  store::AppointmentView v = TM_TRY(tx.GetAppointmentView(a.id));
  v.appointment = a;
  return AppointmentViewJson(v, link_url);
}

json AppointmentViewJson(const store::AppointmentView& v, const std::string& link_url) {
  net::JsonBuilder b;
  WriteAppointmentView(b, v, link_url);
  return b.Take();
}

std::string AppointmentViewText(const store::AppointmentView& v, const std::string& link_url) {
  std::string out;
  // Below 1,008 bytes: glibc consolidates its free lists before every larger request.
  out.reserve(1000);
  net::JsonWriter w(out);
  WriteAppointmentView(w, v, link_url);
  return out;
}

std::string MeetingViewText(const store::AppointmentView& v) {
  std::string out;
  out.reserve(600);
  net::JsonWriter w(out);
  WriteMeeting(w, v.meeting, v.job, v.appointment.id, &v.access);
  return out;
}

}  // namespace telemeet::api
