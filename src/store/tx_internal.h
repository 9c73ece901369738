// Helpers shared by the Tx implementation files (internal to the store): row mappers, the
// column lists they expect, opaque cursors and paging.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"
#include "store/sql.h"
#include "store/store.h"

namespace telemeet::store::internal {

inline constexpr std::string_view kDoctorCols =
    "id, name, email, time_zone, calendar_id, active, created_at, external_ref";
inline constexpr std::string_view kServiceCols =
    "id, name, telemedicine, default_duration_minutes, event_title_template, active, created_at, "
    "external_ref";
inline constexpr std::string_view kPatientCols =
    "id, name, email, phone, time_zone, active, created_at, external_ref";
inline constexpr std::string_view kAppointmentCols =
    "id, uid, doctor_id, service_id, patient_id, start_at, end_at, time_zone, status, revision, "
    "notes, created_at, updated_at, external_ref, series_id, original_start";
inline constexpr std::string_view kMeetingCols =
    "appointment_id, doctor_id, calendar_id, state, event_id, conference_id, join_url, "
    "event_url, etag, synced_revision, synced_start, synced_end, conference_attempt, attempts, "
    "last_error, updated_at, drift, drift_etag, attendees_fingerprint, reminders_fingerprint";
inline constexpr std::string_view kGrantCols =
    "doctor_id, account_email, scopes, sealed_refresh_token, access_token, "
    "access_token_expires_at, status, last_error, updated_at, version";
inline constexpr std::string_view kJobCols =
    "id, kind, key, doctor_id, payload, state, run_at, attempts, last_error, lease_owner, "
    "lease_seq, rerun, created_at";

// *At: the record whose columns begin at column `at` (a join reads several records per row).
core::Doctor DoctorAt(const Row& r, size_t at);
core::Service ServiceAt(const Row& r, size_t at);
core::Patient PatientAt(const Row& r, size_t at);
core::GoogleGrant GrantAt(const Row& r, size_t at);
inline core::Doctor DoctorFrom(const Row& r) { return DoctorAt(r, 0); }
inline core::Service ServiceFrom(const Row& r) { return ServiceAt(r, 0); }
inline core::Patient PatientFrom(const Row& r) { return PatientAt(r, 0); }
core::Appointment AppointmentAt(const Row& r, size_t at);
core::Meeting MeetingAt(const Row& r, size_t at);
core::Job JobAt(const Row& r, size_t at);
inline core::Appointment AppointmentFrom(const Row& r) { return AppointmentAt(r, 0); }
inline core::Meeting MeetingFrom(const Row& r) { return MeetingAt(r, 0); }
inline core::GoogleGrant GrantFrom(const Row& r) { return GrantAt(r, 0); }
inline core::Job JobFrom(const Row& r) { return JobAt(r, 0); }

// What Meet's records and settings told of an appointment (tx_meet.cc; issue 18).
inline constexpr std::string_view kAttendanceCols =
    "appointment_id, state, outcome, polls, conferences, doctor_joined, others_joined, "
    "overlap_seconds, first_join, last_leave, running, action, last_error, checked_at, "
    "next_look_at, updated_at";
inline constexpr std::string_view kMeetingAccessCols =
    "appointment_id, meeting_code, wanted, applied, state, last_error, updated_at";
core::AttendanceRecord AttendanceAt(const Row& r, size_t at);
core::MeetingAccess MeetingAccessAt(const Row& r, size_t at);

// For joins that read several records from one row: "id, uid" -> "a.id, a.uid" (a column list
// qualified by its table's alias), and how many columns a list has (where the next record's
// columns start).
std::string Qualified(std::string_view alias, std::string_view cols);
size_t ColumnCount(std::string_view cols);
// "<column> IN (?, ...)" for `ids` (none: a list that matches nothing), their parameters
// appended to `params`, the list padded to a power of two by repeating the last id: a statement
// then has a few texts, each prepared, and on PostgreSQL planned, once, and each plan knows how
// many ids it looks up.
std::string InList(std::string_view column, std::span<const int64_t> ids,
                   std::vector<SqlValue>& params);
// `item` n times, comma separated: Repeated("?", 3) is "?, ?, ?"; Repeated("(?, ?)", 2) is the
// rows of a two-column VALUES list.
std::string Repeated(std::string_view item, size_t n);

// Opaque cursor over sort-key parts. Decode fails with kInvalidArgument naming "cursor".
std::string EncodeCursor(const std::vector<std::string>& parts);
Result<std::vector<std::string>> DecodeCursor(std::string_view cursor, size_t parts);
Result<int64_t> ParseCursorId(std::string_view text);
// kInvalidArgument naming "limit" unless 1..1000.
Status CheckLimit(const PageRequest& page);

// Runs "<select_where> AND id > ? ORDER BY id LIMIT ?" (select_where must end in a WHERE
// clause, e.g. "... WHERE 1 = 1") and pages by the first column, the id.
template <typename T, typename Map>
Result<Page<T>> PageById(Conn& conn, std::string select_where, std::vector<SqlValue> params,
                         const PageRequest& page, Map map) {
  if (auto s = CheckLimit(page); !s) return std::unexpected(s.error());
  int64_t after = 0;
  if (!page.cursor.empty()) {
    auto parts = DecodeCursor(page.cursor, 1);
    if (!parts) return std::unexpected(parts.error());
    auto id = ParseCursorId((*parts)[0]);
    if (!id) return std::unexpected(id.error());
    after = *id;
  }
  select_where += " AND id > ? ORDER BY id LIMIT ?";
  params.emplace_back(after);
  params.emplace_back(int64_t{page.limit} + 1);
  auto r = conn.Exec(select_where, params);
  if (!r) return std::unexpected(r.error());
  Page<T> out;
  for (const Row& row : r->rows) {
    if (out.items.size() == static_cast<size_t>(page.limit)) {
      out.next_cursor = EncodeCursor({std::to_string(r->rows[out.items.size() - 1].Int(0))});
      break;
    }
    out.items.push_back(map(row));
  }
  return out;
}

}  // namespace telemeet::store::internal
