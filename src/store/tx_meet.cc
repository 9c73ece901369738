// Tx operations for what Meet's own records and settings tell (issue 18): the attendance summary
// of an appointment and the access type of its Meet space.
#include <fmt/format.h>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace {

constexpr std::string_view kAttendanceCols =
    "appointment_id, state, outcome, polls, conferences, doctor_joined, others_joined, "
    "overlap_seconds, first_join, last_leave, running, action, last_error, checked_at, "
    "next_look_at, updated_at";

core::AttendanceRecord AttendanceFrom(const Row& r) {
  core::AttendanceRecord a;
  a.appointment_id = r.Int(0);
  a.state = core::ParseAttendanceState(r.Text(1)).value_or(core::AttendanceState::kUnavailable);
  if (!r.Text(2).empty()) {
    if (auto o = core::ParseAttendanceOutcome(r.Text(2))) a.outcome = *o;
  }
  a.polls = static_cast<int32_t>(r.Int(3));
  a.facts.conferences = static_cast<int>(r.Int(4));
  a.facts.doctor_joined = r.Bool(5);
  a.facts.others_joined = static_cast<int>(r.Int(6));
  a.facts.overlap = std::chrono::seconds(r.Int(7));
  a.facts.first_join = r.OptTime(8);
  a.facts.last_leave = r.OptTime(9);
  a.facts.running = r.Bool(10);
  a.action = r.Text(11);
  a.last_error = r.Text(12);
  a.checked_at = r.OptTime(13);
  a.next_look_at = r.OptTime(14);
  a.updated_at = r.Time(15);
  return a;
}

// A foreign key refused: the appointment does not exist.
Status MissingAppointment(const Error& e, int64_t appointment_id) {
  if (e.code() == ErrorCode::kFailedPrecondition) {
    return Fail(ErrorCode::kNotFound, fmt::format("appointment {} does not exist", appointment_id),
                "appointment_id");
  }
  return std::unexpected(e);
}

}  // namespace

Result<core::AttendanceRecord> Tx::GetAttendance(int64_t appointment_id) {
  auto row = ExecOne(
      fmt::format("SELECT {} FROM attendance_summaries WHERE appointment_id = ?", kAttendanceCols),
      {appointment_id}, "attendance summary");
  if (!row) return std::unexpected(row.error());
  return AttendanceFrom(*row);
}

Status Tx::PutAttendance(const core::AttendanceRecord& a) {
  auto r = Exec(
      fmt::format("INSERT INTO attendance_summaries ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                  "?, ?, ?, ?, ?) ON CONFLICT (appointment_id) DO UPDATE SET "
                  "state = excluded.state, outcome = excluded.outcome, polls = excluded.polls, "
                  "conferences = excluded.conferences, doctor_joined = excluded.doctor_joined, "
                  "others_joined = excluded.others_joined, "
                  "overlap_seconds = excluded.overlap_seconds, first_join = excluded.first_join, "
                  "last_leave = excluded.last_leave, running = excluded.running, "
                  "action = excluded.action, last_error = excluded.last_error, "
                  "checked_at = excluded.checked_at, next_look_at = excluded.next_look_at, "
                  "updated_at = excluded.updated_at",
                  kAttendanceCols),
      {a.appointment_id, std::string(core::Name(a.state)),
       a.outcome ? std::string(core::Name(*a.outcome)) : std::string(), int64_t{a.polls},
       int64_t{a.facts.conferences}, int64_t{a.facts.doctor_joined ? 1 : 0},
       int64_t{a.facts.others_joined}, int64_t{a.facts.overlap.count()},
       OptTimeValue(a.facts.first_join), OptTimeValue(a.facts.last_leave),
       int64_t{a.facts.running ? 1 : 0}, a.action, a.last_error, OptTimeValue(a.checked_at),
       OptTimeValue(a.next_look_at), TimeValue(Now())});
  if (!r) return MissingAppointment(r.error(), a.appointment_id);
  return Ok();
}

Result<core::MeetingAccess> Tx::GetMeetingAccess(int64_t appointment_id) {
  auto row = ExecOne(
      "SELECT appointment_id, meeting_code, wanted, applied, state, last_error, updated_at "
      "FROM meeting_access WHERE appointment_id = ?",
      {appointment_id}, "meeting access");
  if (!row) return std::unexpected(row.error());
  return core::MeetingAccess{.appointment_id = row->Int(0),
                             .meeting_code = row->Text(1),
                             .wanted = row->Text(2),
                             .applied = row->Text(3),
                             .state = row->Text(4),
                             .last_error = row->Text(5),
                             .updated_at = row->Time(6)};
}

Status Tx::PutMeetingAccess(const core::MeetingAccess& m) {
  auto r = Exec(
      "INSERT INTO meeting_access (appointment_id, meeting_code, wanted, applied, state, "
      "last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (appointment_id) DO UPDATE "
      "SET meeting_code = excluded.meeting_code, wanted = excluded.wanted, applied = "
      "excluded.applied, state = excluded.state, "
      "last_error = excluded.last_error, updated_at = excluded.updated_at",
      {m.appointment_id, m.meeting_code, m.wanted, m.applied, m.state, m.last_error,
       TimeValue(Now())});
  if (!r) return MissingAppointment(r.error(), m.appointment_id);
  return Ok();
}

}  // namespace telemeet::store
