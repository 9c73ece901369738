#include "core/availability.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <exception>

namespace telemeet::core {

namespace {

constexpr std::array<std::string_view, 7> kWeekdayKeys = {"mon", "tue", "wed", "thu",
                                                          "fri", "sat", "sun"};

std::unexpected<Error> Invalid(std::string message, std::string_view field) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), std::string(field));
}

// "HH:MM" as minutes after midnight; nullopt when malformed or past 24:00.
std::optional<int32_t> ParseClock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  int32_t h = (s[0] - '0') * 10 + (s[1] - '0');
  int32_t m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

const date::time_zone* Zone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// The instant of a local wall time. A time in a spring-forward gap maps to the gap's end (the
// first instant that exists), an ambiguous one to the earlier instant.
Instant ToInstant(const date::time_zone* zone, date::local_days day, int32_t minutes) {
  date::local_time<std::chrono::microseconds> local = day + std::chrono::minutes(minutes);
  date::local_info info = zone->get_info(local);
  if (info.result == date::local_info::nonexistent) return info.first.end;
  return zone->to_sys(local, date::choose::earliest);
}

}  // namespace

std::vector<Interval> MergeIntervals(std::vector<Interval> intervals) {
  std::erase_if(intervals, [](const Interval& i) { return i.end <= i.start; });
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.start < b.start; });
  std::vector<Interval> out;
  for (const Interval& i : intervals) {
    if (!out.empty() && i.start <= out.back().end) {
      out.back().end = std::max(out.back().end, i.end);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

std::vector<Interval> SubtractIntervals(const std::vector<Interval>& from,
                                        const std::vector<Interval>& minus) {
  std::vector<Interval> out;
  size_t j = 0;
  for (Interval cur : from) {
    while (j < minus.size() && minus[j].end <= cur.start) ++j;
    for (size_t k = j; k < minus.size() && minus[k].start < cur.end; ++k) {
      if (minus[k].start > cur.start) out.push_back({cur.start, minus[k].start});
      cur.start = std::max(cur.start, minus[k].end);
      if (cur.start >= cur.end) break;
    }
    if (cur.start < cur.end) out.push_back(cur);
  }
  return out;
}

std::vector<Interval> Overlapping(const std::vector<Interval>& merged, Interval x) {
  std::vector<Interval> out;
  auto it = std::lower_bound(merged.begin(), merged.end(), x.start,
                             [](const Interval& i, Instant t) { return i.end <= t; });
  for (; it != merged.end() && it->start < x.end; ++it) out.push_back(*it);
  return out;
}

std::string_view WeekdayKey(size_t index) { return kWeekdayKeys.at(index); }

std::optional<size_t> WeekdayIndex(std::string_view key) {
  for (size_t i = 0; i < kWeekdayKeys.size(); ++i) {
    if (kWeekdayKeys[i] == key) return i;
  }
  return std::nullopt;
}

Result<ClockRange> ParseClockRange(std::string_view from, std::string_view to,
                                   std::string_view field) {
  std::optional<int32_t> f = ParseClock(from);
  std::optional<int32_t> t = ParseClock(to);
  if (!f || !t || *f == 24 * 60) {
    return Invalid(std::string(field) + " must be two times \"HH:MM\" (00:00 to 24:00)", field);
  }
  if (*f >= *t) return Invalid(std::string(field) + " must end after it starts", field);
  return ClockRange{*f, *t};
}

std::string FormatClock(int32_t minutes) {
  std::string out = "00:00";
  out[0] = static_cast<char>('0' + minutes / 600);
  out[1] = static_cast<char>('0' + minutes / 60 % 10);
  out[3] = static_cast<char>('0' + minutes % 60 / 10);
  out[4] = static_cast<char>('0' + minutes % 10);
  return out;
}

Status NormalizeDay(std::vector<ClockRange>& ranges, std::string_view field) {
  if (ranges.size() > WorkingHours::kMaxRangesPerDay) {
    return Invalid(std::string(field) + " has more than " +
                       std::to_string(WorkingHours::kMaxRangesPerDay) + " ranges",
                   field);
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const ClockRange& a, const ClockRange& b) { return a.from < b.from; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].from < ranges[i - 1].to) {
      return Invalid(std::string(field) + " has overlapping ranges", field);
    }
  }
  return Ok();
}

Result<SlotAnswer> FreeSlots(const SlotQuery& query, const std::vector<Interval>& busy) {
  if (query.length <= std::chrono::minutes(0)) {
    return Invalid("slot_minutes must be positive", "slot_minutes");
  }
  const date::time_zone* zone = Zone(query.time_zone);
  if (zone == nullptr) return Invalid("unknown time zone " + query.time_zone, "time_zone");
  SlotAnswer out;
  if (query.range.end <= query.range.start) return out;

  static const std::vector<ClockRange> kWholeDay = {{0, 24 * 60}};
  // Local days that can hold part of the range (a day before and after for the zone's offset).
  auto first = date::floor<date::days>(zone->to_local(query.range.start)) - date::days(1);
  auto last = date::floor<date::days>(zone->to_local(query.range.end)) + date::days(1);
  auto busy_it = busy.begin();
  for (date::local_days day = first; day <= last; day += date::days(1)) {
    const size_t weekday = date::weekday(day).iso_encoding() - 1;  // Monday = 0
    const std::vector<ClockRange>& ranges = query.hours ? query.hours->days[weekday] : kWholeDay;
    for (const ClockRange& r : ranges) {
      const Instant window_start = ToInstant(zone, day, r.from);
      const Instant window_end = ToInstant(zone, day, r.to);
      for (Instant s = window_start; s + query.length <= window_end; s += query.length) {
        const Interval slot{s, s + query.length};
        if (slot.start < query.range.start || slot.start < query.not_before) continue;
        if (slot.end > query.range.end) break;
        // Busy intervals ending before this slot never matter again: slots only move forward.
        while (busy_it != busy.end() && busy_it->end <= slot.start) ++busy_it;
        if (busy_it != busy.end() && busy_it->start < slot.end) continue;
        if (out.slots.size() == query.max_slots) {
          out.truncated = true;
          return out;
        }
        out.slots.push_back(slot);
      }
    }
  }
  return out;
}

}  // namespace telemeet::core
