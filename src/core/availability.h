// A doctor's availability as pure arithmetic on instants (M17): busy intervals merged and
// subtracted, weekly working hours in the doctor's zone, and free slots of a given length. No
// I/O: the API and sync layers fetch the busy intervals (Google freeBusy, telemeet's own
// appointments) and hand them in.
//
//   WorkingHours hours;
//   hours.days[0] = {*ParseClockRange("09:00", "12:00", "working_hours.mon[0]")};   // Monday
//   std::vector<Interval> busy = MergeIntervals({{a, b}, {c, d}});
//   auto slots = FreeSlots({.range = {from, to}, .length = std::chrono::minutes(30),
//                           .hours = hours, .time_zone = "Europe/Berlin", .max_slots = 500},
//                          busy);
//
// Slots lie on a grid per local day: they start at the beginning of each working-hours range
// (local midnight without working hours) and follow each other every `length`, so a doctor's
// slots are 09:00, 09:30, ... whatever range is asked. Local times are converted by the zone's
// rules of that day: across a daylight-saving change "09:00" stays 09:00 local; a range bound
// inside a spring-forward gap moves to the end of the gap.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::core {

// [start, end) in UTC.
struct Interval {
  Instant start{};
  Instant end{};
  bool operator==(const Interval&) const = default;
};

// Sorted by start, overlapping and touching intervals joined, empty ones dropped.
std::vector<Interval> MergeIntervals(std::vector<Interval> intervals);
// `from` minus `minus` (both merged, as MergeIntervals returns them); merged.
std::vector<Interval> SubtractIntervals(const std::vector<Interval>& from,
                                        const std::vector<Interval>& minus);
// The intervals of `merged` that overlap `x` (touching is not overlapping).
std::vector<Interval> Overlapping(const std::vector<Interval>& merged, Interval x);

// A range of wall-clock time within a day: [from, to) in minutes after local midnight,
// 0 <= from < to <= 1440.
struct ClockRange {
  int32_t from = 0;
  int32_t to = 0;
  bool operator==(const ClockRange&) const = default;
};

// Weekly working hours in the doctor's zone; days[0] is Monday ... days[6] Sunday. A day with
// no range is a day off.
struct WorkingHours {
  static constexpr size_t kMaxRangesPerDay = 8;
  std::array<std::vector<ClockRange>, 7> days{};
  bool operator==(const WorkingHours&) const = default;
};

// "mon" ... "sun" (the key of days[i]).
std::string_view WeekdayKey(size_t index);
// The index of "mon" ... "sun"; nullopt otherwise.
std::optional<size_t> WeekdayIndex(std::string_view key);

// "HH:MM" to "HH:MM" (24-hour; "24:00" only as an end). kInvalidArgument naming `field`.
Result<ClockRange> ParseClockRange(std::string_view from, std::string_view to,
                                   std::string_view field);
// "09:00".
std::string FormatClock(int32_t minutes);
// Sorts a day's ranges; kInvalidArgument naming `field` ("working_hours.mon") when two overlap
// or there are more than kMaxRangesPerDay.
Status NormalizeDay(std::vector<ClockRange>& ranges, std::string_view field);

struct SlotQuery {
  Interval range{};                     // slots lie wholly inside
  std::chrono::minutes length{30};      // > 0
  std::optional<WorkingHours> hours{};  // nullopt: any time of any day
  std::string time_zone = "UTC";        // IANA zone the working hours are in
  Instant not_before{};                 // no slot starts earlier (now: no slots in the past)
  size_t max_slots = 500;
};

struct SlotAnswer {
  std::vector<Interval> slots{};
  bool truncated = false;  // max_slots reached before the end of the range
};

// The free slots of `query` given `busy` (merged). kInvalidArgument for an unknown zone
// ("time_zone") or a length that is not positive ("slot_minutes").
Result<SlotAnswer> FreeSlots(const SlotQuery& query, const std::vector<Interval>& busy);

}  // namespace telemeet::core
