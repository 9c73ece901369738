// Tx operations for the Google calendar sync (M16): meetings found by event id, their drift, and
// the per-doctor sync token and push channel.
#include <fmt/format.h>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace {

constexpr std::string_view kSyncCols =
    "doctor_id, calendar_id, sync_token, channel_id, channel_resource_id, channel_token, "
    "channel_address, channel_expires_at, synced_at, updated_at";

CalendarSyncState SyncFrom(const Row& r) {
  CalendarSyncState s;
  s.doctor_id = r.Int(0);
  s.calendar_id = r.Text(1);
  s.sync_token = r.Text(2);
  s.channel_id = r.Text(3);
  s.channel_resource_id = r.Text(4);
  s.channel_token = r.Text(5);
  s.channel_address = r.Text(6);
  s.channel_expires_at = r.OptTime(7);
  s.synced_at = r.OptTime(8);
  s.updated_at = r.Time(9);
  return s;
}

}  // namespace

Result<core::Meeting> Tx::GetMeetingByEvent(int64_t doctor_id, std::string_view calendar_id,
                                            std::string_view event_id) {
  auto row =
      ExecOne(fmt::format("SELECT {} FROM meetings WHERE doctor_id = ? AND calendar_id = ? AND "
                          "event_id = ?",
                          kMeetingCols),
              {doctor_id, std::string(calendar_id), std::string(event_id)},
              fmt::format("meeting with event {}", event_id));
  if (!row) return std::unexpected(row.error());
  return MeetingFrom(*row);
}

Status Tx::SetMeetingDrift(int64_t appointment_id, std::string_view drift,
                           std::string_view drift_etag) {
  auto r = Exec(
      "UPDATE meetings SET drift = ?, drift_etag = ?, updated_at = ? "
      "WHERE appointment_id = ?",
      {std::string(drift), std::string(drift_etag), TimeValue(Now()), appointment_id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("appointment {} has no meeting", appointment_id));
  }
  return Ok();
}

Result<CalendarSyncState> Tx::GetCalendarSync(int64_t doctor_id) {
  auto row = ExecOne(fmt::format("SELECT {} FROM calendar_syncs WHERE doctor_id = ?", kSyncCols),
                     {doctor_id}, fmt::format("calendar sync of doctor {}", doctor_id));
  if (!row) return std::unexpected(row.error());
  return SyncFrom(*row);
}

Result<CalendarSyncState> Tx::GetCalendarSyncByChannel(std::string_view channel_id) {
  if (channel_id.empty()) return Fail(ErrorCode::kNotFound, "no channel id");
  auto row = ExecOne(fmt::format("SELECT {} FROM calendar_syncs WHERE channel_id = ?", kSyncCols),
                     {std::string(channel_id)}, "push channel");
  if (!row) return std::unexpected(row.error());
  return SyncFrom(*row);
}

Status Tx::PutCalendarSync(const CalendarSyncState& s) {
  auto r = Exec(
      "INSERT INTO calendar_syncs (doctor_id, calendar_id, sync_token, channel_id, "
      "channel_resource_id, channel_token, channel_address, channel_expires_at, synced_at, "
      "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (doctor_id) DO UPDATE SET calendar_id = excluded.calendar_id, "
      "sync_token = excluded.sync_token, channel_id = excluded.channel_id, "
      "channel_resource_id = excluded.channel_resource_id, "
      "channel_token = excluded.channel_token, channel_address = excluded.channel_address, "
      "channel_expires_at = excluded.channel_expires_at, synced_at = excluded.synced_at, "
      "updated_at = excluded.updated_at",
      {s.doctor_id, s.calendar_id, s.sync_token, s.channel_id, s.channel_resource_id,
       s.channel_token, s.channel_address, OptTimeValue(s.channel_expires_at),
       OptTimeValue(s.synced_at), TimeValue(Now())});
  if (!r) {
    if (r.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound, fmt::format("doctor {} does not exist", s.doctor_id),
                  "doctor_id");
    }
    return std::unexpected(r.error());
  }
  return Ok();
}

Result<std::vector<int64_t>> Tx::ListConnectedDoctors() {
  auto r =
      Exec("SELECT doctor_id FROM google_grants WHERE status = 'active' ORDER BY doctor_id", {});
  if (!r) return std::unexpected(r.error());
  std::vector<int64_t> out;
  out.reserve(r->rows.size());
  for (const Row& row : r->rows) out.push_back(row.Int(0));
  return out;
}

}  // namespace telemeet::store
