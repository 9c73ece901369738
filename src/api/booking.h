// What booking an appointment and booking a series share (routes_appointments.cc,
// routes_series.cc): the check that the doctor, service or patient may take a booking, the
// patient's access link, and the appointment's audit entry.
//
// Internal to the api library.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/request.h"
#include "base/error.h"
#include "core/types.h"
#include "store/store.h"

namespace telemeet::api {

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

// The patient a booking names: an existing one by id ("patient_id"), or a new one described
// inline ("patient": {...}), which is how a doctor books someone new (doctors cannot create
// patients otherwise).
class BookingPatient {
 public:
  // kInvalidArgument naming the field: neither or both given, or a bad inline patient.
  static Result<BookingPatient> From(const Body& body);
  // In the booking's transaction: the patient's id, the new one created. A doctor books only
  // patients they may read (another doctor's answers 404 as a missing one would); a deactivated
  // patient is refused.
  Result<int64_t> Resolve(store::Tx& tx, const Principal& p) const;

 private:
  std::optional<int64_t> id_;
  std::optional<core::Patient> new_;
};

// A new patient access link for `a`; returns its URL (the token is only ever in this URL, which
// access logs redact: base/redact.h).
Result<std::string> IssueAccessLink(store::Tx& tx, ApiDeps& deps, const core::Appointment& a);

// An entry of the appointment's audit trail, by the principal.
Status AuditAppointment(store::Tx& tx, int64_t appointment_id, const Principal& p,
                        std::string action,
                        const nlohmann::json& detail = nlohmann::json::object());

}  // namespace telemeet::api
