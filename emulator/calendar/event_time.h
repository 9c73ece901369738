// Times as the Calendar API writes them (RFC 3339, all-day dates, RFC 1123 for push headers,
// the basic "20260105T100000Z" form of instance ids) and RRULE expansion for recurring events.
//
//   auto t = ParseRfc3339("2026-01-05T10:00:00+01:00");     // {instant, offset 3600 s}
//   FormatRfc3339(t->instant, t->offset_seconds);           // "2026-01-05T10:00:00+01:00"
//   auto starts = ExpandRecurrence({"RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=MO,WE"}, first, 0, {});
//
// Local time of a recurrence is the fixed UTC offset of its first start: the emulator has no
// time-zone database, so a series crossing a DST change keeps its offset.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::emulator {

struct ZonedTime {
  Instant instant;
  int offset_seconds = 0;  // the offset written in the text (0 for "Z")
};

// "2026-01-05T10:00:00Z", "...T10:00:00.250+01:00". Without an offset the text is refused
// unless `default_offset` is given (the API allows that when a timeZone accompanies it).
std::optional<ZonedTime> ParseRfc3339(std::string_view text,
                                      std::optional<int> default_offset = std::nullopt);
// "2026-01-05" as midnight UTC of that day.
std::optional<Instant> ParseDate(std::string_view text);

// "2026-01-05T10:00:00.000Z": created, updated and other server timestamps.
std::string FormatRfc3339Millis(Instant t);
// "2026-01-05T10:00:00Z" or "2026-01-05T11:00:00+01:00" (seconds precision).
std::string FormatRfc3339(Instant t, int offset_seconds = 0);
// "2026-01-05" (UTC day of `t`).
std::string FormatDate(Instant t);
// "Mon, 05 Jan 2026 10:00:00 GMT".
std::string FormatRfc1123(Instant t);
// "20260105T100000Z" (instance ids of timed events) and "20260105" (all-day events).
std::string FormatBasicUtc(Instant t);
std::string FormatBasicDate(Instant t);

struct RecurrenceLimits {
  size_t max_instances = 1000;     // an unbounded series stops here
  std::optional<Instant> horizon;  // and at the first start at or after this
};

// The starts of a recurring event whose first start is `first` (local time = first + offset).
// Lines are "RRULE:...", "EXDATE...:..." and "RDATE...:..." as in the event's `recurrence`.
// Supported: FREQ=DAILY|WEEKLY|MONTHLY, INTERVAL, COUNT, UNTIL, BYDAY (plain days), WKST.
// kInvalidArgument for anything else. Starts are sorted and unique.
// With `time_zone` (the event's start.timeZone, an IANA name), occurrences keep the first one's
// local wall time across daylight-saving changes, as Google's do (google-protocol.md §15); a
// wall time inside a spring-forward gap moves past it. Without one (or an unknown name) the
// first start's offset holds throughout.
Result<std::vector<Instant>> ExpandRecurrence(const std::vector<std::string>& lines, Instant first,
                                              int offset_seconds, RecurrenceLimits limits,
                                              std::string_view time_zone = {});

// The UTC offset in force at `t` in `time_zone`, or `fallback` without a known zone.
int OffsetSecondsAt(Instant t, std::string_view time_zone, int fallback);

}  // namespace telemeet::emulator
