// Tx operations for what Meet's own records and settings tell (issue 18): the attendance summary
// of an appointment and the access type of its Meet space.
#include <fmt/format.h>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace internal {

core::AttendanceRecord AttendanceAt(const Row& r, size_t at) {
  core::AttendanceRecord a;
  a.appointment_id = r.Int(at + 0);
  a.state =
      core::ParseAttendanceState(r.Text(at + 1)).value_or(core::AttendanceState::kUnavailable);
  if (!r.Text(at + 2).empty()) {
    if (auto o = core::ParseAttendanceOutcome(r.Text(at + 2))) a.outcome = *o;
  }
  a.polls = static_cast<int32_t>(r.Int(at + 3));
  a.facts.conferences = static_cast<int>(r.Int(at + 4));
  a.facts.doctor_joined = r.Bool(at + 5);
  a.facts.others_joined = static_cast<int>(r.Int(at + 6));
  a.facts.overlap = std::chrono::seconds(r.Int(at + 7));
  a.facts.first_join = r.OptTime(at + 8);
  a.facts.last_leave = r.OptTime(at + 9);
  a.facts.running = r.Bool(at + 10);
  a.action = r.Text(at + 11);
  a.last_error = r.Text(at + 12);
  a.checked_at = r.OptTime(at + 13);
  a.next_look_at = r.OptTime(at + 14);
  a.updated_at = r.Time(at + 15);
  return a;
}

core::MeetingAccess MeetingAccessAt(const Row& r, size_t at) {
  return core::MeetingAccess{.appointment_id = r.Int(at),
                             .meeting_code = r.Text(at + 1),
                             .wanted = r.Text(at + 2),
                             .applied = r.Text(at + 3),
                             .state = r.Text(at + 4),
                             .last_error = r.Text(at + 5),
                             .updated_at = r.Time(at + 6)};
}

}  // namespace internal

namespace {

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
  return AttendanceAt(*row, 0);
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
      fmt::format("SELECT {} FROM meeting_access WHERE appointment_id = ?", kMeetingAccessCols),
      {appointment_id}, "meeting access");
  if (!row) return std::unexpected(row.error());
  return MeetingAccessAt(*row, 0);
}

Status Tx::PutMeetingAccess(const core::MeetingAccess& m) {
  auto r = Exec(
      fmt::format("INSERT INTO meeting_access ({}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (appointment_id) DO UPDATE SET meeting_code = "
                  "excluded.meeting_code, wanted = excluded.wanted, applied = excluded.applied, "
                  "state = excluded.state, last_error = excluded.last_error, "
                  "updated_at = excluded.updated_at",
                  kMeetingAccessCols),
      {m.appointment_id, m.meeting_code, m.wanted, m.applied, m.state, m.last_error,
       TimeValue(Now())});
  if (!r) return MissingAppointment(r.error(), m.appointment_id);
  return Ok();
}

}  // namespace telemeet::store
