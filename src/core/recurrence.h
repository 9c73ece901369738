// Recurring series (M15): the RRULE subset telemeet accepts and its expansion into occurrences
// in the series' IANA zone. Pure code, no I/O.
//
// The subset (RFC 5545 §3.3.10): FREQ=DAILY|WEEKLY|MONTHLY, INTERVAL, COUNT or UNTIL (one of
// them is required: a series is finite), BYDAY. Any other part (BYMONTHDAY, WKST, FREQ=YEARLY,
// ...) is refused with a message naming it, so nothing is silently ignored.
//
// Expansion keeps the first occurrence's local wall time in the zone across daylight-saving
// changes (a weekly 10:00 in Berlin stays 10:00 after the clocks change), by the rule of
// core/time.h: a wall time in a spring-forward gap is refused naming that date; one in a
// fall-back overlap takes the earlier instant. Every occurrence lasts as long as the first.
//
// Rules of the subset, as RFC 5545 and Google Calendar apply them:
//   - the first start is the first occurrence and must itself match the rule (a WEEKLY;BYDAY=MO
//     series cannot start on a Tuesday);
//   - MONTHLY without BYDAY repeats the first start's day of the month; a month without that
//     day (the 31st in April, the 30th in February) has no occurrence, it is skipped and COUNT
//     counts only real occurrences;
//   - MONTHLY with BYDAY: "MO" is every Monday of the month, "1MO" the first, "-1FR" the last
//     Friday; ordinals are refused with DAILY and WEEKLY;
//   - WEEKLY weeks begin on Monday (RFC 5545's default WKST); DAILY with BYDAY keeps the days
//     named;
//   - UNTIL is inclusive: "20260630" (a date: every occurrence on that local day or before) or
//     "20260630T080000Z" (a UTC instant: every occurrence starting then or before);
//   - at most kMaxOccurrences occurrences (COUNT above it, or an UNTIL reaching past it, is
//     refused).
//
//   auto rule = ParseRecurrence("FREQ=WEEKLY;COUNT=10;BYDAY=MO,TH");
//   auto occ = ExpandRecurrence(*rule, first_start, first_end, "Europe/Berlin");
//   for (const Occurrence& o : *occ) ... o.start, o.end, o.local_date ("2026-03-30")
//   std::string google = FormatRecurrence(*rule);   // "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO,TH"
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::core {

inline constexpr int kMaxOccurrences = 100;

enum class Frequency { kDaily, kWeekly, kMonthly };

struct WeekdayRule {
  int weekday = 0;  // 0 = Monday ... 6 = Sunday
  int ordinal = 0;  // MONTHLY only: 1..5 or -1..-5 (nth / nth from the end); 0 = every
  friend bool operator==(const WeekdayRule&, const WeekdayRule&) = default;
};

struct Recurrence {
  Frequency frequency = Frequency::kWeekly;
  int interval = 1;                       // 1..1000
  std::optional<int> count;               // 1..kMaxOccurrences
  std::optional<Instant> until;           // UTC form
  std::optional<std::string> until_date;  // date form, "2026-06-30"
  std::vector<WeekdayRule> by_day;        // in the order given
};

// Parses "FREQ=WEEKLY;COUNT=10" (an "RRULE:" prefix is accepted; names are case-insensitive).
// kInvalidArgument naming `field` with a message naming the offending part otherwise.
Result<Recurrence> ParseRecurrence(std::string_view text, std::string_view field = "rrule");

// The canonical form Google takes in an event's `recurrence`: "RRULE:FREQ=...;INTERVAL=...".
std::string FormatRecurrence(const Recurrence& rule);

struct Occurrence {
  Instant start{};
  Instant end{};
  std::string local_date;  // "2026-03-30", the occurrence's day in the series' zone
};

// The occurrences of `rule` from `first_start` (the first one), each as long as
// first_end - first_start, in `zone`. kInvalidArgument (naming `field` or "start" or
// "time_zone"): an unknown zone, a first start that does not match the rule, an occurrence whose
// wall time does not exist (naming its date), more than kMaxOccurrences occurrences.
Result<std::vector<Occurrence>> ExpandRecurrence(const Recurrence& rule, Instant first_start,
                                                 Instant first_end, std::string_view zone,
                                                 std::string_view field = "rrule");

// `t`'s local day in `zone` at the wall time "HH:MM" (moving a series' occurrences to another
// time of day). kInvalidArgument naming `field`: malformed time, unknown zone, a wall time that
// does not exist that day (the date is named).
Result<Instant> AtLocalTimeOfDay(Instant t, std::string_view zone, std::string_view hh_mm,
                                 std::string_view field = "time_of_day");

// `t`'s local wall time in `zone` moved by `by` (a series shifted by an hour stays at the same
// local time on both sides of a DST change). kInvalidArgument naming `field`: unknown zone, a
// wall time that does not exist (the date is named).
Result<Instant> ShiftWallTime(Instant t, std::string_view zone, std::chrono::minutes by,
                              std::string_view field = "shift_minutes");

// A single-event series (google-protocol.md §15): the recurring event's id, ours and stable
// for the series' life like an appointment's (core::EventIdFor of "series-" + uid), so a
// repeated insert answers 409 and is adopted.
std::string SeriesEventIdFor(std::string_view series_uid);
// Google's id of one instance: "<event id>_<original start in basic UTC>", e.g.
// "tm..._20260330T080000Z".
std::string InstanceEventId(std::string_view series_event_id, Instant original_start);
// True for an id InstanceEventId makes (a valid event id, '_', a basic UTC time).
bool IsInstanceEventId(std::string_view id);

}  // namespace telemeet::core
