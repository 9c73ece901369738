// Input rules of the domain in one place. Every check returns kInvalidArgument naming the
// field ("patient.email", "end"), so the API answers 400 with a body a user can act on.
//
//   if (auto s = ValidateAppointment(a); !s) return s;          // times, zone, duration
//   if (auto s = ValidateEmail(p.email, "patient.email"); !s) return s;
//   if (Overlaps(a, b)) ...                                      // same doctor, policy check
#pragma once

#include <chrono>
#include <string_view>

#include "base/error.h"
#include "core/types.h"

namespace telemeet::core {

inline constexpr std::chrono::minutes kMinAppointment{5};
inline constexpr std::chrono::hours kMaxAppointment{12};
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxEmailLength = 254;
inline constexpr size_t kMaxExternalRefLength = 200;

// A pragmatic address check: one '@', a non-empty local part without spaces or control
// characters, a domain of dot-separated labels (letters, digits, hyphens; no leading/trailing
// hyphen) with at least one dot. Empty is an error unless `optional`.
Status ValidateEmail(std::string_view email, std::string_view field, bool optional = false);

// Non-blank after trimming, at most kMaxNameLength bytes, no control characters.
Status ValidateName(std::string_view name, std::string_view field);

// Start and end well-formed (set), end after start, duration within
// [kMinAppointment, kMaxAppointment], zone a known IANA zone, parties set.
Status ValidateAppointment(const Appointment& a);

// A booking system's id ("kivicare:doctor:12"): empty (none), or at most
// kMaxExternalRefLength bytes without control characters or surrounding spaces.
Status ValidateExternalRef(std::string_view ref);

Status ValidateDoctor(const Doctor& d);
Status ValidateService(const Service& s);
Status ValidatePatient(const Patient& p);

// True when the two half-open intervals [start, end) intersect, for the same doctor, and
// neither appointment is cancelled. The store applies this to confirmed appointments when the
// policy forbids overlaps.
bool Overlaps(const Appointment& a, const Appointment& b);

}  // namespace telemeet::core
