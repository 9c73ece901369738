// Tx operations on recurring series (M15). An occurrence is an ordinary appointment whose
// series_id names its series, so every appointment rule (revision, reconcile job, overlap check,
// status machine) holds for it unchanged; the series row keeps the rule it was expanded from.
#include <fmt/format.h>

#include <random>

#include "core/recurrence.h"
#include "core/time.h"
#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace {

constexpr std::string_view kSeriesCols =
    "id, uid, doctor_id, service_id, patient_id, rrule, time_zone, mode, first_start, first_end, "
    "status, notes, created_at, updated_at";

std::string SeriesUid() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(std::random_device{}()) << 32)};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

core::AppointmentSeries SeriesFrom(const Row& r) {
  core::AppointmentSeries s;
  s.id = r.Int(0);
  s.uid = r.Text(1);
  s.doctor_id = r.Int(2);
  s.service_id = r.Int(3);
  s.patient_id = r.Int(4);
  s.rrule = r.Text(5);
  s.time_zone = r.Text(6);
  s.mode = core::ParseSeriesMode(r.Text(7)).value_or(core::SeriesMode::kPerOccurrence);
  s.first_start = r.Time(8);
  s.first_end = r.Time(9);
  s.status = core::ParseSeriesStatus(r.Text(10)).value_or(core::SeriesStatus::kActive);
  s.notes = r.Text(11);
  s.created_at = r.Time(12);
  s.updated_at = r.Time(13);
  return s;
}

Status ValidateSeries(const core::AppointmentSeries& s) {
  if (auto z = core::ValidateTimeZone(s.time_zone, "time_zone"); !z) return z;
  if (s.first_end <= s.first_start) {
    return Fail(ErrorCode::kInvalidArgument, "end must be after start", "end");
  }
  if (s.rrule.empty()) return Fail(ErrorCode::kInvalidArgument, "rrule is required", "rrule");
  return Ok();
}

}  // namespace

Result<core::AppointmentSeries> Tx::CreateSeries(core::AppointmentSeries s) {
  TM_TRY(ValidateSeries(s));
  for (auto [table, id, field] : {std::tuple{"doctors", s.doctor_id, "doctor_id"},
                                  {"services", s.service_id, "service_id"},
                                  {"patients", s.patient_id, "patient_id"}}) {
    auto r = TM_TRY(Exec(fmt::format("SELECT id FROM {} WHERE id = ?", table), {id}));
    if (r.rows.empty()) {
      return Fail(ErrorCode::kNotFound, fmt::format("{} {} does not exist", field, id), field);
    }
  }
  s.uid = SeriesUid();
  s.created_at = s.updated_at = Now();
  auto row = TM_TRY(ExecOne(
      "INSERT INTO appointment_series (uid, doctor_id, service_id, patient_id, rrule, time_zone, "
      "mode, first_start, first_end, status, notes, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {s.uid, s.doctor_id, s.service_id, s.patient_id, s.rrule, s.time_zone,
       std::string(core::Name(s.mode)), TimeValue(s.first_start), TimeValue(s.first_end),
       std::string(core::Name(s.status)), s.notes, TimeValue(s.created_at),
       TimeValue(s.updated_at)},
      "appointment series"));
  s.id = row.Int(0);
  return s;
}

Result<core::AppointmentSeries> Tx::GetSeries(int64_t id) {
  auto row =
      TM_TRY(ExecOne(fmt::format("SELECT {} FROM appointment_series WHERE id = ?", kSeriesCols),
                     {id}, fmt::format("appointment series {}", id)));
  return SeriesFrom(row);
}

Result<core::AppointmentSeries> Tx::UpdateSeries(const core::AppointmentSeries& next) {
  core::AppointmentSeries s = TM_TRY(GetSeries(next.id));
  s.rrule = next.rrule;
  s.first_start = next.first_start;
  s.first_end = next.first_end;
  s.status = next.status;
  s.notes = next.notes;
  TM_TRY(ValidateSeries(s));
  s.updated_at = Now();
  TM_TRY(
      Exec("UPDATE appointment_series SET rrule = ?, first_start = ?, first_end = ?, status = ?, "
           "notes = ?, updated_at = ? WHERE id = ?",
           {s.rrule, TimeValue(s.first_start), TimeValue(s.first_end),
            std::string(core::Name(s.status)), s.notes, TimeValue(s.updated_at), s.id}));
  return s;
}

Result<Page<core::AppointmentSeries>> Tx::ListSeries(int64_t doctor_id, const PageRequest& page) {
  std::string sql = fmt::format("SELECT {} FROM appointment_series WHERE 1 = 1", kSeriesCols);
  std::vector<SqlValue> params;
  if (doctor_id != 0) {
    sql += " AND doctor_id = ?";
    params.emplace_back(doctor_id);
  }
  return PageById<core::AppointmentSeries>(conn_, std::move(sql), std::move(params), page,
                                           SeriesFrom);
}

Result<std::vector<core::Appointment>> Tx::ListSeriesAppointments(int64_t series_id) {
  auto r = TM_TRY(Exec(fmt::format("SELECT {} FROM appointments WHERE series_id = ? ORDER BY "
                                   "start_at, id LIMIT ?",
                                   kAppointmentCols),
                       {series_id, int64_t{core::kMaxOccurrences}}));
  std::vector<core::Appointment> out;
  out.reserve(r.rows.size());
  for (const Row& row : r.rows) out.push_back(AppointmentFrom(row));
  return out;
}

}  // namespace telemeet::store
