#include "core/appointment.h"

#include <fmt/format.h>

namespace telemeet::core {

bool IsFinal(AppointmentStatus s) {
  return s == AppointmentStatus::kCompleted || s == AppointmentStatus::kCancelled;
}

bool CanTransition(AppointmentStatus from, AppointmentStatus to) {
  if (from == to) return true;
  using S = AppointmentStatus;
  switch (from) {
    case S::kBooked:
      return to == S::kConfirmed || to == S::kCancelled;
    case S::kConfirmed:
      return to == S::kCompleted || to == S::kCancelled;
    case S::kCompleted:
    case S::kCancelled:
      return false;
  }
  return false;
}

Status CheckStatusTransition(AppointmentStatus from, AppointmentStatus to) {
  if (CanTransition(from, to)) return Ok();
  return Fail(ErrorCode::kFailedPrecondition,
              fmt::format("an appointment that is {} cannot become {}", Name(from), Name(to)),
              "status");
}

}  // namespace telemeet::core
