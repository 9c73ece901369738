// The appointment status machine: booked → confirmed → completed, and cancelled from booked or
// confirmed. Completed and cancelled are final. Setting the current status again is allowed
// (an idempotent retry), anything else is kFailedPrecondition.
//
//   if (auto s = CheckStatusTransition(a.status, AppointmentStatus::kConfirmed); !s) return s;
#pragma once

#include "base/error.h"
#include "core/types.h"

namespace telemeet::core {

bool CanTransition(AppointmentStatus from, AppointmentStatus to);

// Ok when CanTransition; kFailedPrecondition naming field "status" and both states otherwise.
Status CheckStatusTransition(AppointmentStatus from, AppointmentStatus to);

// Completed and cancelled appointments can no longer be rescheduled or edited.
bool IsFinal(AppointmentStatus s);

}  // namespace telemeet::core
