// Tx reads that join several records into what one API answer shows, in one statement.
#include <fmt/format.h>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

Result<AppointmentView> Tx::GetAppointmentView(int64_t appointment_id) {
  // LEFT JOINs: the meeting and the job may not exist; the link is the newest not revoked, as
  // the answer has always shown it (access_links_appointment makes the MAX a short index read).
  static const std::string kSelect = fmt::format(
      "SELECT {}, {}, {}, l.id, l.created_at, l.expires_at, {}, {} FROM appointments a "
      "LEFT JOIN meetings m ON m.appointment_id = a.id "
      "LEFT JOIN jobs j ON j.key = ? "
      "LEFT JOIN access_links l ON l.id = (SELECT MAX(id) FROM access_links "
      "WHERE appointment_id = a.id AND revoked_at IS NULL) "
      "LEFT JOIN attendance_summaries s ON s.appointment_id = a.id "
      "LEFT JOIN meeting_access x ON x.appointment_id = a.id "
      "WHERE a.id = ?",
      Qualified("a", kAppointmentCols), Qualified("m", kMeetingCols), Qualified("j", kJobCols),
      Qualified("s", kAttendanceCols), Qualified("x", kMeetingAccessCols));
  static const size_t kMeetingAt = ColumnCount(kAppointmentCols);
  static const size_t kJobAt = kMeetingAt + ColumnCount(kMeetingCols);
  static const size_t kLinkAt = kJobAt + ColumnCount(kJobCols);
  static const size_t kAttendanceAt = kLinkAt + 3;
  static const size_t kAccessAt = kAttendanceAt + ColumnCount(kAttendanceCols);
  auto r = Exec(kSelect, {ReconcileJobKey(appointment_id), appointment_id});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) {
    return Fail(ErrorCode::kNotFound, fmt::format("appointment {} does not exist", appointment_id));
  }
  const Row& row = r->rows.front();
  AppointmentView v;
  v.appointment = AppointmentAt(row, 0);
  if (!row.IsNull(kMeetingAt)) v.meeting = MeetingAt(row, kMeetingAt);
  if (!row.IsNull(kJobAt)) v.job = JobAt(row, kJobAt);
  if (!row.IsNull(kLinkAt)) {
    core::AccessLink l;
    l.id = row.Int(kLinkAt);
    l.appointment_id = appointment_id;
    l.created_at = row.Time(kLinkAt + 1);
    l.expires_at = row.Time(kLinkAt + 2);
    v.access_link = std::move(l);
  }
  if (!row.IsNull(kAttendanceAt)) v.attendance = AttendanceAt(row, kAttendanceAt);
  if (!row.IsNull(kAccessAt)) v.access = MeetingAccessAt(row, kAccessAt);
  return v;
}

}  // namespace telemeet::store
