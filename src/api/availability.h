// The doctor's availability in the API (M17): working hours as a doctor setting, the booking
// policy google_busy, and the check a booking or a reschedule passes before it is written.
//
// Working hours live in the settings table ("doctor.working_hours:<id>", the JSON of
// WorkingHoursJson), beside the doctor's row rather than in it: they are optional, read only by
// availability, and never part of the doctor's identity.
//
// The check (CheckGoogleBusy) asks Google before the write transaction (a network call never
// runs inside one) and only for appointments that hold the doctor's time (booked or confirmed).
// The appointment's own event never counts as busy: freeBusy answers intervals without event
// ids, so the intervals the appointment's event occupies now (its stored times, and the times
// its event has at Google as last synced) are taken out of Google's answer first. A private
// event lying exactly under our own is hidden by that rule: such a slot was double booked
// already.
//
// Internal to the api library.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "api/request.h"
#include "core/availability.h"
#include "sync/availability.h"

namespace telemeet::api {

// The settings key of a doctor's working hours.
std::string WorkingHoursKey(int64_t doctor_id);

// {"mon": [["09:00","12:00"], ...], ..., "sun": []}.
nlohmann::json WorkingHoursJson(const core::WorkingHours& hours);
// The body's "working_hours": null (none: any time) or an object of days (a day left out is a
// day off). kInvalidArgument naming the field ("working_hours.mon[1]").
Result<std::optional<core::WorkingHours>> ParseWorkingHours(const nlohmann::json& value);
// The doctor's stored working hours; nullopt when none.
Result<std::optional<core::WorkingHours>> LoadWorkingHours(store::Tx& tx, int64_t doctor_id);
// Stores (or, with nullopt, removes) the doctor's working hours.
Status SaveWorkingHours(store::Tx& tx, int64_t doctor_id,
                        const std::optional<core::WorkingHours>& hours);
// DoctorJson plus "working_hours" (null when none).
Result<nlohmann::json> DoctorWithHoursJson(store::Tx& tx, const core::Doctor& doctor);

// The booking policy in force: the setting, else the configured default.
Result<sync::GoogleBusyPolicy> LoadGoogleBusyPolicy(store::Tx& tx, const ApiOptions& options);

// What the policy says about new times for one appointment.
struct BookingVerdict {
  // A refusal to answer instead of writing: 409 slot_busy, or 503 availability_unchecked when
  // the policy refuses and Google could not be asked.
  std::optional<net::Response> refusal;
  nlohmann::json warnings = nlohmann::json::array();  // {"code", "message"[, "busy"]}
};

// Everything the check needs, read before the write transaction.
struct BookingCheck {
  core::Doctor doctor;
  std::optional<core::GrantStatus> grant;
  sync::GoogleBusyPolicy policy = sync::GoogleBusyPolicy::kWarn;
  core::AppointmentStatus status = core::AppointmentStatus::kBooked;
  core::Interval times;
  std::vector<core::Interval> own;  // the appointment's own event: never busy
};

// Reads the doctor's grant and the policy for a check (inside a read transaction).
Result<BookingCheck> PrepareCheck(store::Tx& tx, const ApiOptions& options,
                                  const core::Doctor& doctor);

// Asks Google (through the cache) unless the policy is ignore, the status holds no time, or the
// doctor never connected Google. Never fails: a Google failure is a refusal or a warning.
BookingVerdict CheckGoogleBusy(ApiDeps& deps, const BookingCheck& check);

// Registers GET /api/v1/doctors/{id}/availability and GET/PATCH /api/v1/settings/booking.
void RegisterAvailabilityRoutes(net::Router& router, ApiDeps& deps);

}  // namespace telemeet::api
