// What booking an appointment and booking a series share (routes_appointments.cc,
// routes_series.cc): the check that the doctor, service or patient may take a booking, the
// patient's access link, and the appointment's audit entry.
//
// Internal to the api library.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/request.h"
#include "base/error.h"
#include "core/types.h"
#include "store/store.h"

namespace telemeet::api {

// The fields of a patient described inside a booking ("patient": {...}), which is how a doctor
// books someone new (doctors cannot create patients otherwise).
inline constexpr std::array<std::string_view, 5> kNewPatientFields = {"name", "email", "phone",
                                                                      "time_zone", "external_ref"};

// The doctor, service or patient a booking names, as read: kNotFound when it does not exist,
// kFailedPrecondition when it is deactivated, both naming `field`.
template <typename T>
Result<T> Bookable(Result<T> found, std::string_view kind, int64_t id, std::string_view field) {
  const std::string what = std::string(kind) + " " + std::to_string(id);
  if (!found) {
    if (found.error().code() != ErrorCode::kNotFound) return found;
    return Fail(ErrorCode::kNotFound, what + " does not exist", std::string(field));
  }
  if (!found->active) {
    return Fail(ErrorCode::kFailedPrecondition, what + " is deactivated", std::string(field));
  }
  return found;
}

// A new patient access link for `a`; returns its URL (the token is only ever in this URL, which
// access logs redact: base/redact.h).
Result<std::string> IssueAccessLink(store::Tx& tx, ApiDeps& deps, const core::Appointment& a);

// An entry of the appointment's audit trail, by the principal.
Status AuditAppointment(store::Tx& tx, int64_t appointment_id, const Principal& p,
                        std::string action,
                        const nlohmann::json& detail = nlohmann::json::object());

}  // namespace telemeet::api
