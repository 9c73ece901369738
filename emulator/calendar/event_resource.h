// The Event resource rules of the Calendar emulator: which writable fields a request body may
// carry and their types, start/end validation with Google's messages, patch merging, and the
// Meet conference payload. Internal to emulator/calendar.
//
//   auto body = NormalizeEvent(request_json);          // Failure{400, {"required", ...}}
//   if (!body) return ToResponse(body.error());
//   auto times = ParseEventTimes(*body);               // start/end instants, timeRangeEmpty
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "emulator/google_error.h"
#include "net/http.h"

namespace telemeet::emulator {

// A Google-shaped API error on its way to becoming a response.
struct Failure {
  int status = 400;
  ErrorItem item;
};
template <typename T>
using Api = std::expected<T, Failure>;

inline std::unexpected<Failure> Reject(int status, ErrorItem item) {
  return std::unexpected<Failure>(Failure{status, std::move(item)});
}
net::Response ToResponse(const Failure& failure);

// 400 invalid "Invalid value for field '<name>'." (the emulator's wording for a wrong type).
std::unexpected<Failure> InvalidField(std::string_view name);

// Keeps the writable Event fields of `in` (a JSON object), checking their types and values.
// Read-only and unknown fields are dropped, as Google ignores them; `conferenceData` is left to
// the caller. Null members count as absent.
Api<nlohmann::json> NormalizeEvent(const nlohmann::json& in);

struct EventTimes {
  Instant start;
  Instant end;
  int offset_seconds = 0;  // of start.dateTime; 0 for all-day events
  bool all_day = false;
};
// Checks start/end of a normalized event: "Missing end time.", "Missing start time.",
// "Missing time zone definition for start time." (also required for timed recurring events),
// mixed date/dateTime, unparsable values, 400 timeRangeEmpty when end is before start, and a
// recurrence that the emulator cannot expand.
Api<EventTimes> ParseEventTimes(const nlohmann::json& event);

// Google's patch semantics: objects merge member by member, arrays and scalars replace, null
// removes. start/end drop `date` when the patch sets `dateTime` and the other way round.
void MergePatch(nlohmann::json& target, const nlohmann::json& patch);

// Base32hex a-v0-9, 5 to 1024 characters (google-protocol.md §5).
bool ValidEventId(std::string_view id);
std::string NewEventId(std::mt19937_64& rng);  // 26 base32hex characters

// A hangoutsMeet conference for `request_id`: conferenceId "abc-defg-hij", entry points video,
// more and phone, conferenceSolution, createRequest.status "success".
nlohmann::json MeetConference(std::string_view request_id, std::mt19937_64& rng);

std::string Base64UrlEncode(std::string_view data);  // without padding
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace telemeet::emulator
