#include "core/validation.h"

#include <fmt/format.h>

#include <string>

#include "base/strings.h"
#include "core/time.h"

namespace telemeet::core {
namespace {

Status Invalid(std::string_view field, std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), std::string(field));
}

bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

bool ValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || static_cast<unsigned char>(c) >= 0x80;  // IDN in UTF-8
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status ValidateEmail(std::string_view email, std::string_view field, bool optional) {
  if (email.empty()) {
    if (optional) return Ok();
    return Invalid(field, fmt::format("{} is required", field));
  }
  if (email.size() > kMaxEmailLength) {
    return Invalid(field, fmt::format("{} is longer than {} characters", field, kMaxEmailLength));
  }
  size_t at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return Invalid(field, fmt::format("{} must contain exactly one @", field));
  }
  std::string_view local = email.substr(0, at), domain = email.substr(at + 1);
  if (local.empty() || local.size() > 64) {
    return Invalid(field, fmt::format("{} has an empty or too long name before @", field));
  }
  for (char c : local) {
    if (IsControl(c) || c == ' ' || c == '"' || c == '<' || c == '>' || c == ',' || c == ';') {
      return Invalid(field, fmt::format("{} has a character not allowed before @", field));
    }
  }
  if (domain.find('.') == std::string_view::npos) {
    return Invalid(field, fmt::format("{} must have a domain with a dot after @", field));
  }
  for (std::string_view label : Split(domain, '.')) {
    if (!ValidLabel(label)) {
      return Invalid(field, fmt::format("{} has an invalid domain", field));
    }
  }
  return Ok();
}

Status ValidateName(std::string_view name, std::string_view field) {
  if (Trim(name).empty()) return Invalid(field, fmt::format("{} is required", field));
  if (name.size() > kMaxNameLength) {
    return Invalid(field, fmt::format("{} is longer than {} characters", field, kMaxNameLength));
  }
  for (char c : name) {
    if (IsControl(c)) {
      return Invalid(field, fmt::format("{} contains a control character", field));
    }
  }
  return Ok();
}

Status ValidateExternalRef(std::string_view ref) {
  if (ref.empty()) return Ok();
  if (ref.size() > kMaxExternalRefLength) {
    return Invalid("external_ref",
                   fmt::format("external_ref is longer than {} characters", kMaxExternalRefLength));
  }
  if (Trim(ref).size() != ref.size()) {
    return Invalid("external_ref", "external_ref has leading or trailing spaces");
  }
  for (char c : ref) {
    if (IsControl(c)) return Invalid("external_ref", "external_ref contains a control character");
  }
  return Ok();
}

Status ValidateAppointment(const Appointment& a) {
  if (a.doctor_id <= 0) return Invalid("doctor_id", "doctor_id is required");
  if (a.service_id <= 0) return Invalid("service_id", "service_id is required");
  if (a.patient_id <= 0) return Invalid("patient_id", "patient_id is required");
  if (a.start == Instant{}) return Invalid("start", "start is required");
  if (a.end == Instant{}) return Invalid("end", "end is required");
  if (a.end <= a.start) return Invalid("end", "end must be after start");
  auto length = a.end - a.start;
  if (length < kMinAppointment) {
    return Invalid(
        "end", fmt::format("an appointment lasts at least {} minutes", kMinAppointment.count()));
  }
  if (length > kMaxAppointment) {
    return Invalid("end",
                   fmt::format("an appointment lasts at most {} hours", kMaxAppointment.count()));
  }
  if (auto s = ValidateTimeZone(a.time_zone, "time_zone"); !s) return s;
  if (a.notes.size() > 10'000) return Invalid("notes", "notes are longer than 10000 characters");
  return ValidateExternalRef(a.external_ref);
}

Status ValidateDoctor(const Doctor& d) {
  if (auto s = ValidateName(d.name, "name"); !s) return s;
  if (auto s = ValidateEmail(d.email, "email"); !s) return s;
  if (auto s = ValidateTimeZone(d.time_zone, "time_zone"); !s) return s;
  if (Trim(d.calendar_id).empty()) return Invalid("calendar_id", "calendar_id is required");
  return ValidateExternalRef(d.external_ref);
}

Status ValidateService(const Service& s) {
  if (auto st = ValidateName(s.name, "name"); !st) return st;
  if (s.default_duration_minutes < kMinAppointment.count() ||
      s.default_duration_minutes >
          std::chrono::duration_cast<std::chrono::minutes>(kMaxAppointment).count()) {
    return Invalid(
        "default_duration_minutes",
        fmt::format("default_duration_minutes must be between {} and {}", kMinAppointment.count(),
                    std::chrono::duration_cast<std::chrono::minutes>(kMaxAppointment).count()));
  }
  if (Trim(s.event_title_template).empty() || s.event_title_template.size() > 500) {
    return Invalid("event_title_template", "event_title_template must be 1-500 characters");
  }
  return ValidateExternalRef(s.external_ref);
}

Status ValidatePatient(const Patient& p) {
  if (auto s = ValidateName(p.name, "name"); !s) return s;
  if (auto s = ValidateEmail(p.email, "email", /*optional=*/true); !s) return s;
  if (p.phone.size() > 40) return Invalid("phone", "phone is longer than 40 characters");
  for (char c : p.phone) {
    bool ok = (c >= '0' && c <= '9') || c == '+' || c == ' ' || c == '-' || c == '(' || c == ')';
    if (!ok) return Invalid("phone", "phone may contain digits, spaces, + - ( ) only");
  }
  if (auto s = ValidateTimeZone(p.time_zone, "time_zone"); !s) return s;
  return ValidateExternalRef(p.external_ref);
}

bool Overlaps(const Appointment& a, const Appointment& b) {
  if (a.doctor_id != b.doctor_id) return false;
  if (a.status == AppointmentStatus::kCancelled || b.status == AppointmentStatus::kCancelled) {
    return false;
  }
  return a.start < b.end && b.start < a.end;
}

}  // namespace telemeet::core
