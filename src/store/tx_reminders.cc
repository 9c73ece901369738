// Tx operations for patient reminder emails (M23): which reminders may be due, and the claim
// that makes each one go at most once across instances.
#include <fmt/format.h>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

Result<std::vector<ReminderCandidate>> Tx::ListUnclaimedReminders(Instant now,
                                                                  std::chrono::seconds lead,
                                                                  int32_t limit) {
  // Along appointments_start; the claim lookup is the claims' primary key. Unqualified columns
  // are the appointment's.
  auto r = Exec(fmt::format("SELECT {}, (SELECT p.email FROM patients p WHERE p.id = "
                            "appointments.patient_id) FROM appointments "
                            "WHERE start_at > ? AND start_at <= ? "
                            "AND status IN ('booked', 'confirmed') AND NOT EXISTS ("
                            "SELECT 1 FROM patient_reminders r WHERE r.appointment_id = "
                            "appointments.id AND r.start_at = appointments.start_at AND "
                            "r.lead_seconds = ?) ORDER BY start_at, id LIMIT ?",
                            kAppointmentCols),
                {TimeValue(now), TimeValue(now + lead), int64_t{lead.count()}, int64_t{limit}});
  if (!r) return std::unexpected(r.error());
  std::vector<ReminderCandidate> out;
  out.reserve(r->rows.size());
  for (const Row& row : r->rows) {
    out.push_back({AppointmentFrom(row), row.Text(row.size() - 1)});  // the email comes last
  }
  return out;
}

Result<bool> Tx::ClaimReminder(int64_t appointment_id, Instant start, std::chrono::seconds lead,
                               std::string_view outcome) {
  auto r = Exec(
      "INSERT INTO patient_reminders (appointment_id, start_at, lead_seconds, outcome, "
      "claimed_at) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (appointment_id, start_at, lead_seconds) DO NOTHING",
      {appointment_id, TimeValue(start), int64_t{lead.count()}, std::string(outcome),
       TimeValue(Now())});
  if (!r) {
    if (r.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("appointment {} does not exist", appointment_id), "appointment_id");
    }
    return std::unexpected(r.error());
  }
  return r->affected == 1;
}

}  // namespace telemeet::store
