#include "core/types.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace telemeet::core {
namespace {

template <typename E, size_t N>
Result<E> ParseByName(const std::array<std::pair<E, std::string_view>, N>& names,
                      std::string_view s, std::string_view field, std::string_view what) {
  for (const auto& [value, name] : names) {
    if (name == s) return value;
  }
  std::string allowed;
  for (const auto& [value, name] : names) {
    if (!allowed.empty()) allowed += ", ";
    allowed += name;
  }
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("{} \"{}\" is not a {}; one of: {}", field, s, what, allowed),
              std::string(field));
}

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::pair<E, std::string_view>, N>& names, E e) {
  for (const auto& [value, name] : names) {
    if (value == e) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<AppointmentStatus, std::string_view>, 4> kAppointmentStatus{{
    {AppointmentStatus::kBooked, "booked"},
    {AppointmentStatus::kConfirmed, "confirmed"},
    {AppointmentStatus::kCompleted, "completed"},
    {AppointmentStatus::kCancelled, "cancelled"},
}};
constexpr std::array<std::pair<MeetingState, std::string_view>, 10> kMeetingState{{
    {MeetingState::kNotNeeded, "not_needed"},
    {MeetingState::kAwaitingDoctor, "awaiting_doctor"},
    {MeetingState::kCreating, "creating"},
    {MeetingState::kConferencePending, "conference_pending"},
    {MeetingState::kReady, "ready"},
    {MeetingState::kUpdating, "updating"},
    {MeetingState::kCancelling, "cancelling"},
    {MeetingState::kCancelled, "cancelled"},
    {MeetingState::kFailed, "failed"},
    {MeetingState::kNeedsReconnect, "needs_reconnect"},
}};
constexpr std::array<std::pair<GrantStatus, std::string_view>, 3> kGrantStatus{{
    {GrantStatus::kActive, "active"},
    {GrantStatus::kNeedsReconnect, "needs_reconnect"},
    {GrantStatus::kDisconnected, "disconnected"},
}};
constexpr std::array<std::pair<JobState, std::string_view>, 2> kJobState{{
    {JobState::kReady, "ready"},
    {JobState::kParked, "parked"},
}};
constexpr std::array<std::pair<DeliveryStatus, std::string_view>, 3> kDeliveryStatus{{
    {DeliveryStatus::kPending, "pending"},
    {DeliveryStatus::kDelivered, "delivered"},
    {DeliveryStatus::kFailed, "failed"},
}};
constexpr std::array<std::pair<Role, std::string_view>, 2> kRole{{
    {Role::kAdmin, "admin"},
    {Role::kDoctor, "doctor"},
}};
constexpr std::array<std::pair<SeriesMode, std::string_view>, 2> kSeriesMode{{
    {SeriesMode::kPerOccurrence, "per_occurrence"},
    {SeriesMode::kSingleEvent, "single_event"},
}};
constexpr std::array<std::pair<SeriesStatus, std::string_view>, 2> kSeriesStatus{{
    {SeriesStatus::kActive, "active"},
    {SeriesStatus::kCancelled, "cancelled"},
}};

}  // namespace

std::string_view Name(AppointmentStatus s) { return NameOf(kAppointmentStatus, s); }
std::string_view Name(MeetingState s) { return NameOf(kMeetingState, s); }
std::string_view Name(GrantStatus s) { return NameOf(kGrantStatus, s); }
std::string_view Name(JobState s) { return NameOf(kJobState, s); }
std::string_view Name(DeliveryStatus s) { return NameOf(kDeliveryStatus, s); }
std::string_view Name(Role r) { return NameOf(kRole, r); }

Result<AppointmentStatus> ParseAppointmentStatus(std::string_view s, std::string_view field) {
  return ParseByName(kAppointmentStatus, s, field, "appointment status");
}
Result<MeetingState> ParseMeetingState(std::string_view s, std::string_view field) {
  return ParseByName(kMeetingState, s, field, "meeting state");
}
Result<GrantStatus> ParseGrantStatus(std::string_view s, std::string_view field) {
  return ParseByName(kGrantStatus, s, field, "grant status");
}
Result<JobState> ParseJobState(std::string_view s, std::string_view field) {
  return ParseByName(kJobState, s, field, "job state");
}
Result<DeliveryStatus> ParseDeliveryStatus(std::string_view s, std::string_view field) {
  return ParseByName(kDeliveryStatus, s, field, "delivery status");
}
Result<Role> ParseRole(std::string_view s, std::string_view field) {
  return ParseByName(kRole, s, field, "role");
}
std::string_view Name(SeriesMode m) { return NameOf(kSeriesMode, m); }
std::string_view Name(SeriesStatus s) { return NameOf(kSeriesStatus, s); }
Result<SeriesMode> ParseSeriesMode(std::string_view s, std::string_view field) {
  return ParseByName(kSeriesMode, s, field, "series mode");
}
Result<SeriesStatus> ParseSeriesStatus(std::string_view s, std::string_view field) {
  return ParseByName(kSeriesStatus, s, field, "series status");
}

}  // namespace telemeet::core
