// Time rules of the domain: instants are UTC (RFC 3339 with `Z` when we write them), every
// appointment carries an IANA zone, and local wall times convert to instants by one documented
// rule for daylight-saving transitions:
//   - a wall time inside a spring-forward gap does not exist: rejected with kInvalidArgument
//     naming the field (we never shift it silently; the person booking picks another time);
//   - a wall time in a fall-back overlap happens twice: the earlier instant (the offset in
//     force before the transition) is taken.
// Zones come from the system tzdata through the date/tz library.
//
//   Result<Instant> t = ParseRfc3339("2026-03-29T00:30:00Z", "start");
//   Result<Instant> u = LocalToInstant("2026-10-25T02:30", "Europe/Berlin", "start");  // +02:00
//   std::string s = FormatRfc3339(*t);                            // "2026-03-29T00:30:00Z"
//   std::string g = FormatWithOffset(*t, "Europe/Berlin");        // "2026-03-29T01:30:00+01:00"
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::core {

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (RFC 3339; 't'/'z' accepted).
// Fractions beyond microseconds are truncated. kInvalidArgument naming `field` otherwise.
Result<Instant> ParseRfc3339(std::string_view text, std::string_view field = "time");

// "2026-03-29T00:30:00Z", with ".ffffff" only when the instant has sub-second digits.
std::string FormatRfc3339(Instant t);
// The same text in `buf`, viewed: no allocation, for answers that write several instants.
using Rfc3339Buffer = std::array<char, 40>;
std::string_view FormatRfc3339(Instant t, Rfc3339Buffer& buf);

// `t` without its sub-second part. Google Calendar keeps event times in whole seconds, so
// appointment times are whole seconds too (the API floors what it is given), and a time read
// back from an event compares with the appointment's at this precision.
inline Instant FloorToSecond(Instant t) { return std::chrono::floor<std::chrono::seconds>(t); }

// Fixed width "2026-03-29T00:30:00.000000Z": byte order equals time order, so stored text
// compares correctly in SQL.
std::string FormatFixedUtc(Instant t);

// Loads the list of the system's time zones now. The date library loads it at its first use, in
// a function-local static whose fast path ThreadSanitizer cannot see (the library is not
// instrumented): when one thread loads the list and another then reads it, tsan reports a race
// (a tsan run of `telemeet backfill`, whose runner threads format event times). main() calls
// this before any thread starts, which also spares the first request the load.
void PreloadTimeZones();

// Ok when `zone` names an IANA zone in the system tzdata ("Europe/Berlin", "UTC");
// kInvalidArgument naming `field` otherwise.
Status ValidateTimeZone(std::string_view zone, std::string_view field = "time_zone");

// Converts a local wall time "YYYY-MM-DDTHH:MM[:SS]" in `zone` to an instant by the rule at the
// top of this file. Errors (kInvalidArgument, naming `field`): malformed text, unknown zone,
// a time in a spring-forward gap.
Result<Instant> LocalToInstant(std::string_view local, std::string_view zone,
                               std::string_view field = "start");

// The instant as local wall time in `zone` with its offset: "2026-03-29T03:30:00+02:00" (the
// form Google's `dateTime` takes). kInvalidArgument for an unknown zone.
Result<std::string> FormatWithOffset(Instant t, std::string_view zone);

}  // namespace telemeet::core
