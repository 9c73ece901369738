// Row mappers, cursors and the Tx's statement helpers.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/base32hex.h"
#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {
namespace internal {

core::Doctor DoctorAt(const Row& r, size_t at) {
  core::Doctor d;
  d.id = r.Int(at + 0);
  d.name = r.Text(at + 1);
  d.email = r.Text(at + 2);
  d.time_zone = r.Text(at + 3);
  d.calendar_id = r.Text(at + 4);
  d.active = r.Bool(at + 5);
  d.created_at = r.Time(at + 6);
  d.external_ref = r.Text(at + 7);
  return d;
}

core::Service ServiceAt(const Row& r, size_t at) {
  core::Service s;
  s.id = r.Int(at + 0);
  s.name = r.Text(at + 1);
  s.telemedicine = r.Bool(at + 2);
  s.default_duration_minutes = static_cast<int32_t>(r.Int(at + 3));
  s.event_title_template = r.Text(at + 4);
  s.active = r.Bool(at + 5);
  s.created_at = r.Time(at + 6);
  s.external_ref = r.Text(at + 7);
  return s;
}

core::Patient PatientAt(const Row& r, size_t at) {
  core::Patient p;
  p.id = r.Int(at + 0);
  p.name = r.Text(at + 1);
  p.email = r.Text(at + 2);
  p.phone = r.Text(at + 3);
  p.time_zone = r.Text(at + 4);
  p.active = r.Bool(at + 5);
  p.created_at = r.Time(at + 6);
  p.external_ref = r.Text(at + 7);
  return p;
}

core::Appointment AppointmentAt(const Row& r, size_t at) {
  core::Appointment a;
  a.id = r.Int(at + 0);
  a.uid = r.Text(at + 1);
  a.doctor_id = r.Int(at + 2);
  a.service_id = r.Int(at + 3);
  a.patient_id = r.Int(at + 4);
  a.start = r.Time(at + 5);
  a.end = r.Time(at + 6);
  a.time_zone = r.Text(at + 7);
  a.status =
      core::ParseAppointmentStatus(r.Text(at + 8)).value_or(core::AppointmentStatus::kBooked);
  a.revision = r.Int(at + 9);
  a.notes = r.Text(at + 10);
  a.created_at = r.Time(at + 11);
  a.updated_at = r.Time(at + 12);
  a.external_ref = r.Text(at + 13);
  a.series_id = r.Int(at + 14);
  a.original_start = r.Time(at + 15);
  return a;
}

core::Meeting MeetingAt(const Row& r, size_t at) {
  core::Meeting m;
  m.appointment_id = r.Int(at + 0);
  m.doctor_id = r.Int(at + 1);
  m.calendar_id = r.Text(at + 2);
  m.state = core::ParseMeetingState(r.Text(at + 3)).value_or(core::MeetingState::kFailed);
  m.event_id = r.Text(at + 4);
  m.conference_id = r.Text(at + 5);
  m.join_url = r.Text(at + 6);
  m.event_url = r.Text(at + 7);
  m.etag = r.Text(at + 8);
  m.synced_revision = r.Int(at + 9);
  m.synced_start = r.Time(at + 10);
  m.synced_end = r.Time(at + 11);
  m.conference_attempt = static_cast<int32_t>(r.Int(at + 12));
  m.attempts = static_cast<int32_t>(r.Int(at + 13));
  m.last_error = r.Text(at + 14);
  m.updated_at = r.Time(at + 15);
  m.drift = r.Text(at + 16);
  m.drift_etag = r.Text(at + 17);
  m.attendees_fingerprint = r.Text(at + 18);
  m.reminders_fingerprint = r.Text(at + 19);
  return m;
}

core::GoogleGrant GrantAt(const Row& r, size_t at) {
  core::GoogleGrant g;
  g.doctor_id = r.Int(at + 0);
  g.account_email = r.Text(at + 1);
  g.scopes = r.Text(at + 2);
  g.sealed_refresh_token = r.Text(at + 3);
  g.access_token = r.Text(at + 4);
  g.access_token_expires_at = r.Time(at + 5);
  g.status = core::ParseGrantStatus(r.Text(at + 6)).value_or(core::GrantStatus::kNeedsReconnect);
  g.last_error = r.Text(at + 7);
  g.updated_at = r.Time(at + 8);
  g.version = r.Int(at + 9);
  return g;
}

core::Job JobAt(const Row& r, size_t at) {
  core::Job j;
  j.id = r.Int(at + 0);
  j.kind = r.Text(at + 1);
  j.key = r.Text(at + 2);
  j.doctor_id = r.Int(at + 3);
  j.payload = r.Text(at + 4);
  j.state = core::ParseJobState(r.Text(at + 5)).value_or(core::JobState::kParked);
  j.run_at = r.Time(at + 6);
  j.attempts = static_cast<int32_t>(r.Int(at + 7));
  j.last_error = r.Text(at + 8);
  j.lease_owner = r.Text(at + 9);
  if (!j.lease_owner.empty()) j.lease_expires_at = j.run_at;
  j.lease_seq = r.Int(at + 10);
  j.rerun = r.Bool(at + 11);
  j.created_at = r.Time(at + 12);
  return j;
}

std::string EncodeCursor(const std::vector<std::string>& parts) {
  std::string joined = "v1";
  for (const auto& p : parts) {
    joined.push_back('\x1f');
    joined += p;
  }
  return core::Base32HexEncode(joined);
}

Result<std::vector<std::string>> DecodeCursor(std::string_view cursor, size_t parts) {
  auto bad = [] {
    return Fail(ErrorCode::kInvalidArgument, "cursor is not one this list handed out", "cursor");
  };
  auto raw = core::Base32HexDecode(cursor);
  if (!raw) return bad();
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t sep = raw->find('\x1f', start);
    out.push_back(raw->substr(start, sep == std::string::npos ? sep : sep - start));
    if (sep == std::string::npos) break;
    start = sep + 1;
  }
  if (out.size() != parts + 1 || out[0] != "v1") return bad();
  out.erase(out.begin());
  return out;
}

Result<int64_t> ParseCursorId(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return Fail(ErrorCode::kInvalidArgument, "cursor is not one this list handed out", "cursor");
  }
  return v;
}

Status CheckLimit(const PageRequest& page) {
  if (page.limit < 1 || page.limit > 1000) {
    return Fail(ErrorCode::kInvalidArgument, "limit must be between 1 and 1000", "limit");
  }
  return Ok();
}

std::string Qualified(std::string_view alias, std::string_view cols) {
  std::string out;
  size_t pos = 0;
  while (pos < cols.size()) {
    size_t comma = cols.find(',', pos);
    std::string_view col =
        cols.substr(pos, comma == std::string_view::npos ? cols.npos : comma - pos);
    while (!col.empty() && col.front() == ' ') col.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += fmt::format("{}.{}", alias, col);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

size_t ColumnCount(std::string_view cols) {
  return static_cast<size_t>(std::ranges::count(cols, ',')) + 1;
}

std::string InList(std::string_view column, std::span<const int64_t> ids,
                   std::vector<SqlValue>& params) {
  if (ids.empty()) return fmt::format("{} IN (NULL)", column);  // matches nothing
  size_t size = 1;
  while (size < ids.size()) size *= 2;
  for (size_t i = 0; i < size; ++i) params.emplace_back(ids[std::min(i, ids.size() - 1)]);
  return fmt::format("{} IN ({})", column, Repeated("?", size));
}

std::string Repeated(std::string_view item, size_t n) {
  std::string out;
  out.reserve(n * (item.size() + 2));
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace internal

Result<QueryResult> Tx::Exec(std::string_view sql, std::initializer_list<SqlValue> params) {
  return conn_.Exec(sql, std::span<const SqlValue>(params.begin(), params.size()));
}

Result<Row> Tx::ExecOne(std::string_view sql, std::initializer_list<SqlValue> params,
                        std::string_view what) {
  auto r = Exec(sql, params);
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return Fail(ErrorCode::kNotFound, fmt::format("{} does not exist", what));
  return std::move(r->rows.front());
}

}  // namespace telemeet::store
