// Tx operations on doctors, services, patients, appointments, meetings and the audit trail.
#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "core/appointment.h"
#include "core/meeting.h"
#include "core/recurrence.h"
#include "core/time.h"
#include "core/validation.h"
#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace {

std::string NewUid() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(std::random_device{}()) << 32)};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

std::string Sql(std::string_view format_with_cols, std::string_view cols) {
  return fmt::format(fmt::runtime(format_with_cols), cols);
}

// An external_ref as stored: NULL when there is none, so the unique index holds real ids only.
SqlValue RefValue(const std::string& ref) {
  return ref.empty() ? SqlValue(nullptr) : SqlValue(ref);
}

// A unique violation of an insert or update of `table`: the external_ref's (the database names
// the index or column in its message on both backends), else `other` (nullopt: as it came).
Error UniqueViolation(const Error& e, std::string_view what,
                      std::optional<std::pair<std::string, std::string>> other = std::nullopt) {
  if (e.code() != ErrorCode::kAlreadyExists) return e;
  if (e.message().find("external_ref") != std::string::npos) {
    return Error(ErrorCode::kAlreadyExists, fmt::format("another {} has this external_ref", what),
                 "external_ref");
  }
  if (other) return Error(ErrorCode::kAlreadyExists, other->first, other->second);
  return e;
}

std::string_view RefTable(RefKind kind) {
  switch (kind) {
    case RefKind::kDoctor:
      return "doctors";
    case RefKind::kService:
      return "services";
    case RefKind::kPatient:
      return "patients";
    case RefKind::kAppointment:
      return "appointments";
  }
  return "doctors";
}

}  // namespace

// --- Doctors ---

Result<core::Doctor> Tx::CreateDoctor(core::Doctor d) {
  if (auto s = core::ValidateDoctor(d); !s) return std::unexpected(s.error());
  d.created_at = Now();
  auto row = ExecOne(
      "INSERT INTO doctors (name, email, time_zone, calendar_id, active, created_at, "
      "external_ref) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {d.name, d.email, d.time_zone, d.calendar_id, int64_t{d.active}, TimeValue(d.created_at),
       RefValue(d.external_ref)},
      "doctor");
  if (!row) {
    return std::unexpected(UniqueViolation(row.error(), "doctor",
                                           std::pair{"a doctor with this email exists", "email"}));
  }
  d.id = row->Int(0);
  return d;
}

Result<core::Doctor> Tx::GetDoctor(int64_t id) {
  auto row = ExecOne(Sql("SELECT {} FROM doctors WHERE id = ?", kDoctorCols), {id},
                     fmt::format("doctor {}", id));
  if (!row) return std::unexpected(row.error());
  return DoctorFrom(*row);
}

Result<core::Doctor> Tx::UpdateDoctor(const core::Doctor& d) {
  if (auto s = core::ValidateDoctor(d); !s) return std::unexpected(s.error());
  auto r = Exec(
      "UPDATE doctors SET name = ?, email = ?, time_zone = ?, calendar_id = ?, active = ?, "
      "external_ref = ? WHERE id = ?",
      {d.name, d.email, d.time_zone, d.calendar_id, int64_t{d.active}, RefValue(d.external_ref),
       d.id});
  if (!r) {
    return std::unexpected(UniqueViolation(r.error(), "doctor",
                                           std::pair{"a doctor with this email exists", "email"}));
  }
  if (r->affected == 0)
    return Fail(ErrorCode::kNotFound, fmt::format("doctor {} does not exist", d.id));
  return GetDoctor(d.id);
}

Result<Page<core::Doctor>> Tx::ListDoctors(const PageRequest& page) {
  return PageById<core::Doctor>(conn_, Sql("SELECT {} FROM doctors WHERE 1 = 1", kDoctorCols), {},
                                page, DoctorFrom);
}

// --- Services ---

Result<core::Service> Tx::CreateService(core::Service s) {
  if (auto v = core::ValidateService(s); !v) return std::unexpected(v.error());
  s.created_at = Now();
  auto row = ExecOne(
      "INSERT INTO services (name, telemedicine, default_duration_minutes, "
      "event_title_template, active, created_at, external_ref) VALUES (?, ?, ?, ?, ?, ?, ?) "
      "RETURNING id",
      {s.name, int64_t{s.telemedicine}, int64_t{s.default_duration_minutes}, s.event_title_template,
       int64_t{s.active}, TimeValue(s.created_at), RefValue(s.external_ref)},
      "service");
  if (!row) return std::unexpected(UniqueViolation(row.error(), "service"));
  s.id = row->Int(0);
  return s;
}

Result<core::Service> Tx::GetService(int64_t id) {
  auto row = ExecOne(Sql("SELECT {} FROM services WHERE id = ?", kServiceCols), {id},
                     fmt::format("service {}", id));
  if (!row) return std::unexpected(row.error());
  return ServiceFrom(*row);
}

Result<core::Service> Tx::UpdateService(const core::Service& s) {
  if (auto v = core::ValidateService(s); !v) return std::unexpected(v.error());
  auto r = Exec(
      "UPDATE services SET name = ?, telemedicine = ?, default_duration_minutes = ?, "
      "event_title_template = ?, active = ?, external_ref = ? WHERE id = ?",
      {s.name, int64_t{s.telemedicine}, int64_t{s.default_duration_minutes}, s.event_title_template,
       int64_t{s.active}, RefValue(s.external_ref), s.id});
  if (!r) return std::unexpected(UniqueViolation(r.error(), "service"));
  if (r->affected == 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("service {} does not exist", s.id));
  }
  return GetService(s.id);
}

Result<Page<core::Service>> Tx::ListServices(const PageRequest& page) {
  return PageById<core::Service>(conn_, Sql("SELECT {} FROM services WHERE 1 = 1", kServiceCols),
                                 {}, page, ServiceFrom);
}

// --- Patients ---

Result<core::Patient> Tx::CreatePatient(core::Patient p) {
  if (auto v = core::ValidatePatient(p); !v) return std::unexpected(v.error());
  p.created_at = Now();
  auto row = ExecOne(
      "INSERT INTO patients (name, email, phone, time_zone, active, created_at, external_ref) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {p.name, p.email, p.phone, p.time_zone, int64_t{p.active}, TimeValue(p.created_at),
       RefValue(p.external_ref)},
      "patient");
  if (!row) return std::unexpected(UniqueViolation(row.error(), "patient"));
  p.id = row->Int(0);
  return p;
}

Result<core::Patient> Tx::GetPatient(int64_t id) {
  auto row = ExecOne(Sql("SELECT {} FROM patients WHERE id = ?", kPatientCols), {id},
                     fmt::format("patient {}", id));
  if (!row) return std::unexpected(row.error());
  return PatientFrom(*row);
}

Result<core::Patient> Tx::UpdatePatient(const core::Patient& p) {
  if (auto v = core::ValidatePatient(p); !v) return std::unexpected(v.error());
  auto before = GetPatient(p.id);
  if (!before) return std::unexpected(before.error());
  auto r = Exec(
      "UPDATE patients SET name = ?, email = ?, phone = ?, time_zone = ?, active = ?, "
      "external_ref = ? WHERE id = ?",
      {p.name, p.email, p.phone, p.time_zone, int64_t{p.active}, RefValue(p.external_ref), p.id});
  if (!r) return std::unexpected(UniqueViolation(r.error(), "patient"));
  if (r->affected == 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("patient {} does not exist", p.id));
  }
  if (before->email != p.email || before->name != p.name) {
    // The patient may be an attendee of their events (M14): each live event is reconciled,
    // and the reconciler patches its attendees when the invitation policy makes them differ.
    auto live = Exec(
        "SELECT m.appointment_id, m.doctor_id FROM meetings m "
        "JOIN appointments a ON a.id = m.appointment_id WHERE a.patient_id = ? "
        "AND m.state IN ('creating', 'conference_pending', 'ready', 'updating') "
        "ORDER BY m.appointment_id",
        {p.id});
    if (!live) return std::unexpected(live.error());
    for (const Row& row : live->rows) {
      auto job = UpsertReconcileJob(row.Int(0), row.Int(1));
      if (!job) return std::unexpected(job.error());
    }
  }
  return GetPatient(p.id);
}

Result<Page<core::Patient>> Tx::ListPatients(const PageRequest& page) {
  return PageById<core::Patient>(conn_, Sql("SELECT {} FROM patients WHERE 1 = 1", kPatientCols),
                                 {}, page, PatientFrom);
}

Result<Page<core::Patient>> Tx::ListPatientsOfDoctor(int64_t doctor_id, const PageRequest& page) {
  return PageById<core::Patient>(conn_,
                                 Sql("SELECT {} FROM patients WHERE id IN "
                                     "(SELECT patient_id FROM appointments WHERE doctor_id = ?)",
                                     kPatientCols),
                                 {doctor_id}, page, PatientFrom);
}

// --- Appointments ---

Status Tx::CheckOverlap(const core::Appointment& a) {
  if (!options_.forbid_overlapping_confirmed || a.status != core::AppointmentStatus::kConfirmed) {
    return Ok();
  }
  // PostgreSQL: serialize confirmations of one doctor so two instances cannot both pass.
  if (postgres()) {
    auto lock = Exec("SELECT id FROM doctors WHERE id = ? FOR NO KEY UPDATE", {a.doctor_id});
    if (!lock) return std::unexpected(lock.error());
  }
  auto r = Exec(
      "SELECT id FROM appointments WHERE doctor_id = ? AND status = 'confirmed' AND id <> ? "
      "AND start_at < ? AND end_at > ? LIMIT 1",
      {a.doctor_id, a.id, TimeValue(a.end), TimeValue(a.start)});
  if (!r) return std::unexpected(r.error());
  if (!r->rows.empty()) {
    return Fail(
        ErrorCode::kFailedPrecondition,
        fmt::format("the doctor has a confirmed appointment ({}) at that time", r->rows[0].Int(0)),
        "start");
  }
  return Ok();
}

Result<core::Appointment> Tx::CreateAppointment(core::Appointment a) {
  if (auto v = core::ValidateAppointment(a); !v) return std::unexpected(v.error());
  if (a.status != core::AppointmentStatus::kBooked &&
      a.status != core::AppointmentStatus::kConfirmed) {
    return Fail(ErrorCode::kInvalidArgument, "a new appointment is booked or confirmed", "status");
  }
  {
    // The three in one statement (one round trip on PostgreSQL), named in this order.
    auto r = ExecOne(
        "SELECT CAST(EXISTS (SELECT 1 FROM doctors WHERE id = ?) AS INTEGER), "
        "CAST(EXISTS (SELECT 1 FROM services WHERE id = ?) AS INTEGER), "
        "CAST(EXISTS (SELECT 1 FROM patients WHERE id = ?) AS INTEGER)",
        {a.doctor_id, a.service_id, a.patient_id}, "references");
    if (!r) return std::unexpected(r.error());
    for (auto [at, id, field] : {std::tuple{size_t{0}, a.doctor_id, "doctor_id"},
                                 {size_t{1}, a.service_id, "service_id"},
                                 {size_t{2}, a.patient_id, "patient_id"}}) {
      if (!r->Bool(at)) {
        return Fail(ErrorCode::kNotFound, fmt::format("{} {} does not exist", field, id), field);
      }
    }
  }
  a.id = 0;
  if (auto s = CheckOverlap(a); !s) return std::unexpected(s.error());
  a.uid = NewUid();
  a.revision = 1;
  a.created_at = a.updated_at = Now();
  auto row = ExecOne(
      "INSERT INTO appointments (uid, doctor_id, service_id, patient_id, start_at, end_at, "
      "time_zone, status, revision, notes, created_at, updated_at, external_ref, series_id, "
      "original_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {a.uid, a.doctor_id, a.service_id, a.patient_id, TimeValue(a.start), TimeValue(a.end),
       a.time_zone, std::string(core::Name(a.status)), a.revision, a.notes, TimeValue(a.created_at),
       TimeValue(a.updated_at), RefValue(a.external_ref),
       a.series_id ? SqlValue(a.series_id) : SqlValue(nullptr),
       a.series_id ? TimeValue(a.start) : SqlValue(nullptr)},
      "appointment");
  if (!row) return std::unexpected(UniqueViolation(row.error(), "appointment"));
  a.id = row->Int(0);
  a.original_start = a.series_id ? a.start : Instant{};
  if (auto j = UpsertReconcileJob(a.id, a.doctor_id); !j) return std::unexpected(j.error());
  return a;
}

Result<core::Appointment> Tx::GetAppointment(int64_t id) {
  // Built once: formatting the column list on every read showed in bench/api's profile.
  static const std::string kSelect =
      Sql("SELECT {} FROM appointments WHERE id = ?", kAppointmentCols);
  auto row = ExecOne(kSelect, {id}, "appointment " + std::to_string(id));
  if (!row) return std::unexpected(row.error());
  return AppointmentFrom(*row);
}

Result<core::Appointment> Tx::GetAppointmentByUid(std::string_view uid) {
  auto row = ExecOne(Sql("SELECT {} FROM appointments WHERE uid = ?", kAppointmentCols),
                     {std::string(uid)}, "appointment");
  if (!row) return std::unexpected(row.error());
  return AppointmentFrom(*row);
}

Result<core::Appointment> Tx::UpdateAppointment(const core::Appointment& next,
                                                std::optional<int64_t> expected_revision) {
  auto row = ExecOne(Sql(postgres() ? "SELECT {} FROM appointments WHERE id = ? FOR UPDATE"
                                    : "SELECT {} FROM appointments WHERE id = ?",
                         kAppointmentCols),
                     {next.id}, fmt::format("appointment {}", next.id));
  if (!row) return std::unexpected(row.error());
  core::Appointment cur = AppointmentFrom(*row);
  if (expected_revision && *expected_revision != cur.revision) {
    return Fail(ErrorCode::kFailedPrecondition,
                fmt::format("appointment {} changed meanwhile (revision {}, expected {})", cur.id,
                            cur.revision, *expected_revision),
                "revision");
  }
  if (next.doctor_id != cur.doctor_id) {
    return Fail(ErrorCode::kInvalidArgument, "an appointment cannot move to another doctor",
                "doctor_id");
  }
  core::Appointment a = cur;
  a.service_id = next.service_id;
  a.patient_id = next.patient_id;
  a.start = next.start;
  a.end = next.end;
  a.time_zone = next.time_zone;
  a.status = next.status;
  a.notes = next.notes;
  bool changed = a.service_id != cur.service_id || a.patient_id != cur.patient_id ||
                 a.start != cur.start || a.end != cur.end || a.time_zone != cur.time_zone ||
                 a.status != cur.status || a.notes != cur.notes;
  if (!changed) return cur;  // an idempotent repeat: no new revision, no job
  if (auto s = core::CheckStatusTransition(cur.status, a.status); !s) {
    return std::unexpected(s.error());
  }
  if (core::IsFinal(cur.status)) {
    return Fail(ErrorCode::kFailedPrecondition,
                fmt::format("appointment {} is {} and can no longer change", cur.id,
                            core::Name(cur.status)),
                "status");
  }
  if (auto v = core::ValidateAppointment(a); !v) return std::unexpected(v.error());
  if (auto s = CheckOverlap(a); !s) return std::unexpected(s.error());
  a.revision = cur.revision + 1;
  a.updated_at = Now();
  auto r = Exec(
      "UPDATE appointments SET service_id = ?, patient_id = ?, start_at = ?, end_at = ?, "
      "time_zone = ?, status = ?, notes = ?, revision = ?, updated_at = ? WHERE id = ?",
      {a.service_id, a.patient_id, TimeValue(a.start), TimeValue(a.end), a.time_zone,
       std::string(core::Name(a.status)), a.notes, a.revision, TimeValue(a.updated_at), a.id});
  if (!r) return std::unexpected(r.error());
  if (auto j = UpsertReconcileJob(a.id, a.doctor_id); !j) return std::unexpected(j.error());
  return a;
}

Result<core::Appointment> Tx::SetAppointmentExternalRef(int64_t id, std::string ref) {
  core::Appointment a = TM_TRY(GetAppointment(id));
  a.external_ref = std::move(ref);
  TM_TRY(core::ValidateExternalRef(a.external_ref));
  auto r =
      Exec("UPDATE appointments SET external_ref = ? WHERE id = ?", {RefValue(a.external_ref), id});
  if (!r) return std::unexpected(UniqueViolation(r.error(), "appointment"));
  return a;
}

Result<int64_t> Tx::IdByExternalRef(RefKind kind, std::string_view ref) {
  const std::string_view table = RefTable(kind);
  auto row =
      ExecOne(fmt::format("SELECT id FROM {} WHERE external_ref = ?", table), {std::string(ref)},
              fmt::format("{} with external_ref", table.substr(0, table.size() - 1)));
  if (!row) return std::unexpected(row.error());
  return row->Int(0);
}

Result<core::Appointment> Tx::Reschedule(int64_t id, Instant start, Instant end) {
  auto cur = GetAppointment(id);
  if (!cur) return cur;
  core::Appointment next = *cur;
  next.start = start;
  next.end = end;
  return UpdateAppointment(next);
}

Result<core::Appointment> Tx::SetStatus(int64_t id, core::AppointmentStatus status) {
  auto cur = GetAppointment(id);
  if (!cur) return cur;
  core::Appointment next = *cur;
  next.status = status;
  return UpdateAppointment(next);
}

Result<Page<core::Appointment>> Tx::ListAppointments(const AppointmentFilter& f,
                                                     const PageRequest& page) {
  if (auto s = CheckLimit(page); !s) return std::unexpected(s.error());
  std::string sql = Sql("SELECT {} FROM appointments WHERE 1 = 1", kAppointmentCols);
  std::vector<SqlValue> params;
  if (f.doctor_id) {
    sql += " AND doctor_id = ?";
    params.emplace_back(f.doctor_id);
  }
  if (f.patient_id) {
    sql += " AND patient_id = ?";
    params.emplace_back(f.patient_id);
  }
  if (f.from) {
    sql += " AND start_at >= ?";
    params.push_back(TimeValue(*f.from));
  }
  if (f.to) {
    sql += " AND start_at < ?";
    params.push_back(TimeValue(*f.to));
  }
  if (f.status) {
    sql += " AND status = ?";
    params.emplace_back(std::string(core::Name(*f.status)));
  }
  if (f.external_ref) {
    sql += " AND external_ref = ?";
    params.emplace_back(*f.external_ref);
  }
  if (!page.cursor.empty()) {
    auto parts = DecodeCursor(page.cursor, 2);
    if (!parts) return std::unexpected(parts.error());
    auto id = ParseCursorId((*parts)[1]);
    if (!id) return std::unexpected(id.error());
    sql += " AND (start_at > ? OR (start_at = ? AND id > ?))";
    params.emplace_back((*parts)[0]);
    params.emplace_back((*parts)[0]);
    params.emplace_back(*id);
  }
  sql += " ORDER BY start_at, id LIMIT ?";
  params.emplace_back(int64_t{page.limit} + 1);
  auto r = conn_.Exec(sql, params);
  if (!r) return std::unexpected(r.error());
  Page<core::Appointment> out;
  for (const Row& row : r->rows) {
    if (out.items.size() == static_cast<size_t>(page.limit)) {
      const auto& last = out.items.back();
      out.next_cursor = EncodeCursor({core::FormatFixedUtc(last.start), std::to_string(last.id)});
      break;
    }
    out.items.push_back(AppointmentFrom(row));
  }
  return out;
}

// --- Meetings ---

Result<core::Meeting> Tx::GetMeeting(int64_t appointment_id) {
  static const std::string kSelect =
      Sql("SELECT {} FROM meetings WHERE appointment_id = ?", kMeetingCols);
  auto row = ExecOne(kSelect, {appointment_id},
                     "meeting of appointment " + std::to_string(appointment_id));
  if (!row) return std::unexpected(row.error());
  return MeetingFrom(*row);
}

namespace {

// The meeting's columns as PutMeeting and PutMeetingIf write them (drift is SetMeetingDrift's).
constexpr std::string_view kMeetingWriteCols =
    "appointment_id, doctor_id, calendar_id, state, event_id, conference_id, join_url, "
    "event_url, etag, synced_revision, synced_start, synced_end, conference_attempt, attempts, "
    "last_error, updated_at, attendees_fingerprint, reminders_fingerprint";
// One row of them as parameters.
constexpr std::string_view kMeetingRow = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
// How an existing row takes a write (PutMeeting's upsert); with `same_event`, for rows whose
// event stays where it is (doctor, calendar and event id unchanged), the common write, those
// three columns are not named: SQLite rewrites the entries of every index holding a column the
// SET names, even to the same value, and the (doctor, calendar, event id) index's entries fall
// on random pages, one more page for each meeting of a commit to write to the WAL and, later,
// to the database.
const std::string& MeetingUpsert(bool same_event) {
  static const std::string kRest =
      "state = excluded.state, conference_id = excluded.conference_id, "
      "join_url = excluded.join_url, event_url = excluded.event_url, etag = excluded.etag, "
      "synced_revision = excluded.synced_revision, synced_start = excluded.synced_start, "
      "synced_end = excluded.synced_end, conference_attempt = excluded.conference_attempt, "
      "attempts = excluded.attempts, last_error = excluded.last_error, "
      "updated_at = excluded.updated_at, attendees_fingerprint = excluded.attendees_fingerprint, "
      "reminders_fingerprint = excluded.reminders_fingerprint";
  static const std::string kAll = fmt::format(
      "ON CONFLICT (appointment_id) DO UPDATE SET doctor_id = excluded.doctor_id, "
      "calendar_id = excluded.calendar_id, event_id = excluded.event_id, {}",
      kRest);
  static const std::string kSameEvent =
      fmt::format("ON CONFLICT (appointment_id) DO UPDATE SET {}", kRest);
  return same_event ? kSameEvent : kAll;
}

std::vector<SqlValue> MeetingWriteValues(const core::Meeting& m, Instant now) {
  return {m.appointment_id,
          m.doctor_id,
          m.calendar_id,
          std::string(core::Name(m.state)),
          m.event_id,
          m.conference_id,
          m.join_url,
          m.event_url,
          m.etag,
          m.synced_revision,
          m.synced_start == Instant{} ? SqlValue(nullptr) : TimeValue(m.synced_start),
          m.synced_end == Instant{} ? SqlValue(nullptr) : TimeValue(m.synced_end),
          int64_t{m.conference_attempt},
          int64_t{m.attempts},
          m.last_error,
          TimeValue(now),
          m.attendees_fingerprint,
          m.reminders_fingerprint};
}

Status MeetingWriteError(const core::Meeting& m, const Error& e) {
  if (e.code() == ErrorCode::kAlreadyExists) {
    return Fail(
        ErrorCode::kAlreadyExists,
        fmt::format("event id {} is already used by another meeting on this calendar", m.event_id),
        "event_id");
  }
  if (e.code() == ErrorCode::kFailedPrecondition) {
    return Fail(
        ErrorCode::kNotFound,
        fmt::format("appointment {} or doctor {} does not exist", m.appointment_id, m.doctor_id),
        "appointment_id");
  }
  return std::unexpected(e);
}

Status CheckEventId(const core::Meeting& m) {
  if (!core::IsValidEventId(m.event_id) && !core::IsInstanceEventId(m.event_id)) {
    return Fail(ErrorCode::kInvalidArgument, "event_id is not a valid Google event id", "event_id");
  }
  return Ok();
}

}  // namespace

Status Tx::PutMeeting(const core::Meeting& m) {
  TM_TRY(CheckEventId(m));
  auto cur = GetMeeting(m.appointment_id);
  if (cur) {
    if (auto s = core::CheckMeetingTransition(cur->state, m.state); !s) return s;
  } else if (cur.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(cur.error());
  }
  static const std::string kUpsert =
      fmt::format("INSERT INTO meetings ({}) VALUES ({}) {}", kMeetingWriteCols, kMeetingRow,
                  MeetingUpsert(false));
  auto r = conn_.Exec(kUpsert, MeetingWriteValues(m, Now()));
  if (!r) return MeetingWriteError(m, r.error());
  return Ok();
}

Result<bool> Tx::PutMeetingIf(const std::optional<core::Meeting>& expected,
                              const core::Meeting& m) {
  TM_TRY(CheckEventId(m));
  if (!expected) {
    // None expected: an insert that a row made meanwhile turns into nothing.
    static const std::string kInsert =
        fmt::format("INSERT INTO meetings ({}) VALUES ({}) ON CONFLICT (appointment_id) DO NOTHING",
                    kMeetingWriteCols, kMeetingRow);
    auto r = conn_.Exec(kInsert, MeetingWriteValues(m, Now()));
    if (!r) return std::unexpected(MeetingWriteError(m, r.error()).error());
    return r->affected > 0;
  }
  if (auto s = core::CheckMeetingTransition(expected->state, m.state); !s) {
    return std::unexpected(s.error());
  }
  static const std::string kUpdate =
      "UPDATE meetings SET appointment_id = ?, doctor_id = ?, calendar_id = ?, state = ?, "
      "event_id = ?, conference_id = ?, join_url = ?, event_url = ?, etag = ?, "
      "synced_revision = ?, synced_start = ?, synced_end = ?, conference_attempt = ?, "
      "attempts = ?, last_error = ?, updated_at = ?, attendees_fingerprint = ?, "
      "reminders_fingerprint = ? "
      "WHERE appointment_id = ? AND state = ? AND conference_attempt = ?";
  std::vector<SqlValue> params = MeetingWriteValues(m, Now());
  params.emplace_back(expected->appointment_id);
  params.emplace_back(std::string(core::Name(expected->state)));
  params.emplace_back(int64_t{expected->conference_attempt});
  auto r = conn_.Exec(kUpdate, params);
  if (!r) return std::unexpected(MeetingWriteError(m, r.error()).error());
  return r->affected > 0;
}

Result<std::vector<int64_t>> Tx::InsertMeetingsIfAbsent(std::span<const core::Meeting> meetings) {
  std::vector<int64_t> inserted;
  if (meetings.empty()) return inserted;
  std::vector<SqlValue> params;
  const Instant now = Now();
  for (const core::Meeting& m : meetings) {
    TM_TRY(CheckEventId(m));
    std::vector<SqlValue> values = MeetingWriteValues(m, now);
    params.insert(params.end(), std::make_move_iterator(values.begin()),
                  std::make_move_iterator(values.end()));
  }
  const std::string sql = fmt::format(
      "INSERT INTO meetings ({}) VALUES {} ON CONFLICT (appointment_id) DO NOTHING "
      "RETURNING appointment_id",
      kMeetingWriteCols, Repeated(fmt::format("({})", kMeetingRow), meetings.size()));
  auto r = conn_.Exec(sql, params);
  if (!r) return std::unexpected(MeetingWriteError(meetings.front(), r.error()).error());
  inserted.reserve(r->rows.size());
  for (const Row& row : r->rows) inserted.push_back(row.Int(0));
  return inserted;
}

Result<std::vector<bool>> Tx::PutMeetingsIf(std::span<const MeetingWrite> writes) {
  std::vector<bool> written(writes.size(), false);
  if (writes.empty()) return written;
  std::vector<int64_t> ids;
  ids.reserve(writes.size());
  for (const MeetingWrite& w : writes) {
    TM_TRY(CheckEventId(w.meeting));
    TM_TRY(core::CheckMeetingTransition(w.expected.state, w.meeting.state));
    if (w.meeting.appointment_id != w.expected.appointment_id ||
        std::ranges::count(writes, w.meeting.appointment_id,
                           [](const MeetingWrite& x) { return x.meeting.appointment_id; }) > 1) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("appointment {} is written twice, or over another appointment's "
                              "meeting",
                              w.meeting.appointment_id),
                  "appointment_id");
    }
    ids.emplace_back(w.meeting.appointment_id);
  }
  // The rows as they are now, locked until the transaction ends (PostgreSQL; SQLite's write
  // transaction excludes every other writer), so the writes below go over what was compared.
  std::vector<SqlValue> id_params;
  const std::string in = InList("appointment_id", ids, id_params);
  auto current = conn_.Exec(
      fmt::format("SELECT appointment_id, state, conference_attempt, doctor_id, calendar_id, "
                  "event_id FROM meetings WHERE {}{}",
                  in, postgres() ? " FOR UPDATE" : ""),
      id_params);
  if (!current) return std::unexpected(current.error());
  std::vector<SqlValue> params;
  size_t rows = 0;
  bool same_event = true;  // every row written keeps its doctor, calendar and event id
  const Instant now = Now();
  for (size_t i = 0; i < writes.size(); ++i) {
    const core::Meeting& expected = writes[i].expected;
    const core::Meeting& m = writes[i].meeting;
    auto row = std::ranges::find_if(current->rows, [&](const Row& row) {
      return row.Int(0) == expected.appointment_id && row.Text(1) == core::Name(expected.state) &&
             row.Int(2) == expected.conference_attempt;
    });
    written[i] = row != current->rows.end();
    if (!written[i]) continue;
    same_event = same_event && row->Int(3) == m.doctor_id && row->Text(4) == m.calendar_id &&
                 row->Text(5) == m.event_id;
    std::vector<SqlValue> values = MeetingWriteValues(m, now);
    params.insert(params.end(), std::make_move_iterator(values.begin()),
                  std::make_move_iterator(values.end()));
    ++rows;
  }
  if (rows == 0) return written;
  auto r = conn_.Exec(
      fmt::format("INSERT INTO meetings ({}) VALUES {} {}", kMeetingWriteCols,
                  Repeated(fmt::format("({})", kMeetingRow), rows), MeetingUpsert(same_event)),
      params);
  if (!r) return std::unexpected(MeetingWriteError(writes.front().meeting, r.error()).error());
  return written;
}

Result<std::vector<std::pair<int64_t, int64_t>>> Tx::ListReadyMeetingAppointments(int64_t doctor_id,
                                                                                  Instant from,
                                                                                  int limit) {
  if (limit < 1) return Fail(ErrorCode::kInvalidArgument, "limit must be positive", "limit");
  std::vector<SqlValue> params{TimeValue(from)};
  std::string sql =
      "SELECT a.id, a.doctor_id FROM appointments a JOIN meetings m ON m.appointment_id = a.id "
      "WHERE a.start_at >= ? AND a.status <> 'cancelled' AND m.state = 'ready'";
  if (doctor_id != 0) {
    sql += " AND a.doctor_id = ?";
    params.emplace_back(doctor_id);
  }
  sql += " ORDER BY a.start_at, a.id LIMIT ?";
  params.emplace_back(int64_t{limit});
  auto r = TM_TRY(conn_.Exec(sql, params));
  std::vector<std::pair<int64_t, int64_t>> out;
  out.reserve(r.rows.size());
  for (const Row& row : r.rows) out.emplace_back(row.Int(0), row.Int(1));
  return out;
}

Result<Page<core::Meeting>> Tx::ListMeetings(std::optional<core::MeetingState> state,
                                             int64_t doctor_id, const PageRequest& page) {
  if (auto s = CheckLimit(page); !s) return std::unexpected(s.error());
  std::string sql = Sql("SELECT {} FROM meetings WHERE 1 = 1", kMeetingCols);
  std::vector<SqlValue> params;
  if (state) {
    sql += " AND state = ?";
    params.emplace_back(std::string(core::Name(*state)));
  }
  if (doctor_id) {
    sql += " AND doctor_id = ?";
    params.emplace_back(doctor_id);
  }
  int64_t after = 0;
  if (!page.cursor.empty()) {
    auto parts = DecodeCursor(page.cursor, 1);
    if (!parts) return std::unexpected(parts.error());
    auto id = ParseCursorId((*parts)[0]);
    if (!id) return std::unexpected(id.error());
    after = *id;
  }
  sql += " AND appointment_id > ? ORDER BY appointment_id LIMIT ?";
  params.emplace_back(after);
  params.emplace_back(int64_t{page.limit} + 1);
  auto r = conn_.Exec(sql, params);
  if (!r) return std::unexpected(r.error());
  Page<core::Meeting> out;
  for (const Row& row : r->rows) {
    if (out.items.size() == static_cast<size_t>(page.limit)) {
      out.next_cursor = EncodeCursor({std::to_string(out.items.back().appointment_id)});
      break;
    }
    out.items.push_back(MeetingFrom(row));
  }
  return out;
}

Result<core::Meeting> Tx::RetryFailedMeeting(int64_t appointment_id) {
  auto m = GetMeeting(appointment_id);
  if (!m) return m;
  if (m->state != core::MeetingState::kFailed) {
    return Fail(ErrorCode::kFailedPrecondition,
                fmt::format("the meeting is {}, not failed", core::Name(m->state)), "state");
  }
  m->state = core::MeetingState::kCreating;
  m->conference_attempt += 1;
  m->attempts = 0;
  m->last_error.clear();
  if (auto s = PutMeeting(*m); !s) return std::unexpected(s.error());
  if (auto j = UpsertReconcileJob(appointment_id, m->doctor_id); !j) {
    return std::unexpected(j.error());
  }
  return GetMeeting(appointment_id);
}

namespace {

// LoadForReconcile's join, for `where` (on a.id), and where each table's columns start.
struct ReconcileJoin {
  std::string select;
  size_t service, doctor, patient, grant, meeting;
};

ReconcileJoin ReconcileJoinWhere(std::string_view where) {
  ReconcileJoin j;
  j.select = fmt::format(
      "SELECT {}, {}, {}, {}, {}, {} FROM appointments a "
      "JOIN services s ON s.id = a.service_id JOIN doctors d ON d.id = a.doctor_id "
      "JOIN patients p ON p.id = a.patient_id "
      "LEFT JOIN google_grants g ON g.doctor_id = a.doctor_id "
      "LEFT JOIN meetings m ON m.appointment_id = a.id WHERE {}",
      Qualified("a", kAppointmentCols), Qualified("s", kServiceCols), Qualified("d", kDoctorCols),
      Qualified("p", kPatientCols), Qualified("g", kGrantCols), Qualified("m", kMeetingCols),
      where);
  j.service = ColumnCount(kAppointmentCols);
  j.doctor = j.service + ColumnCount(kServiceCols);
  j.patient = j.doctor + ColumnCount(kDoctorCols);
  j.grant = j.patient + ColumnCount(kPatientCols);
  j.meeting = j.grant + ColumnCount(kGrantCols);
  return j;
}

ReconcileView ReconcileViewFrom(const ReconcileJoin& j, const Row& row) {
  ReconcileView v;
  v.appointment = AppointmentAt(row, 0);
  v.service = ServiceAt(row, j.service);
  v.doctor = DoctorAt(row, j.doctor);
  v.patient = PatientAt(row, j.patient);
  if (!row.IsNull(j.grant)) v.grant = GrantAt(row, j.grant);
  if (!row.IsNull(j.meeting)) v.meeting = MeetingAt(row, j.meeting);
  return v;
}

}  // namespace

Result<ReconcileView> Tx::LoadForReconcile(int64_t appointment_id) {
  // One statement instead of six: the reconciler reads this for every job it runs.
  static const ReconcileJoin kJoin = ReconcileJoinWhere("a.id = ?");
  auto row = ExecOne(kJoin.select, {appointment_id}, fmt::format("appointment {}", appointment_id));
  if (!row) return std::unexpected(row.error());
  return ReconcileViewFrom(kJoin, *row);
}

Result<std::vector<ReconcileView>> Tx::LoadForReconcile(std::span<const int64_t> appointment_ids) {
  std::vector<ReconcileView> out;
  if (appointment_ids.empty()) return out;
  // One statement for a worker's whole lease batch (a round trip per appointment fewer on
  // PostgreSQL), of a few texts (InList): PostgreSQL planned this six-table join anew for every
  // length of IN list, longer than it ran it (bench/reconcile, 6,000 jobs: 424 ms of planning,
  // 252 ms of execution; 145 ms of planning with InList).
  std::vector<SqlValue> params;
  const ReconcileJoin join = ReconcileJoinWhere(InList("a.id", appointment_ids, params));
  auto r = conn_.Exec(join.select, params);
  if (!r) return std::unexpected(r.error());
  out.reserve(r->rows.size());
  for (const Row& row : r->rows) out.push_back(ReconcileViewFrom(join, row));
  return out;
}

// --- Audit ---

Result<core::AuditEntry> Tx::AppendAudit(core::AuditEntry e) {
  if (e.at == Instant{}) e.at = Now();
  auto row = ExecOne(
      "INSERT INTO audit_entries (appointment_id, at, actor, action, detail) "
      "VALUES (?, ?, ?, ?, ?) RETURNING id",
      {e.appointment_id, TimeValue(e.at), e.actor, e.action, e.detail}, "audit entry");
  if (!row) {
    if (row.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("appointment {} does not exist", e.appointment_id), "appointment_id");
    }
    return std::unexpected(row.error());
  }
  e.id = row->Int(0);
  return e;
}

Status Tx::AppendAudits(std::vector<core::AuditEntry> entries) {
  if (entries.empty()) return Ok();
  if (entries.size() == 1) {
    auto one = AppendAudit(std::move(entries.front()));
    if (!one) return std::unexpected(one.error());
    return Ok();
  }
  std::string sql = "INSERT INTO audit_entries (appointment_id, at, actor, action, detail) VALUES ";
  std::vector<SqlValue> params;
  params.reserve(entries.size() * 5);
  const Instant now = Now();
  for (size_t i = 0; i < entries.size(); ++i) {
    core::AuditEntry& e = entries[i];
    sql += i == 0 ? "(?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?)";
    params.emplace_back(e.appointment_id);
    params.emplace_back(TimeValue(e.at == Instant{} ? now : e.at));
    params.emplace_back(std::move(e.actor));
    params.emplace_back(std::move(e.action));
    params.emplace_back(std::move(e.detail));
  }
  auto r = conn_.Exec(sql, params);
  if (!r) {
    if (r.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("appointment {} does not exist", entries.front().appointment_id),
                  "appointment_id");
    }
    return std::unexpected(r.error());
  }
  return Ok();
}

Result<Page<core::AuditEntry>> Tx::ListAudit(int64_t appointment_id, const PageRequest& page) {
  return PageById<core::AuditEntry>(
      conn_,
      "SELECT id, appointment_id, at, actor, action, detail FROM audit_entries "
      "WHERE appointment_id = ?",
      {appointment_id}, page, [](const Row& r) {
        core::AuditEntry e;
        e.id = r.Int(0);
        e.appointment_id = r.Int(1);
        e.at = r.Time(2);
        e.actor = r.Text(3);
        e.action = r.Text(4);
        e.detail = r.Text(5);
        return e;
      });
}

}  // namespace telemeet::store
