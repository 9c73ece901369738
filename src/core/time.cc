#include "core/time.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>

namespace telemeet::core {
namespace {

using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Reads exactly `n` digits at `pos`; -1 when they are not all digits.
int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

struct WallTime {
  date::local_time<microseconds> local;
  size_t consumed = 0;  // characters read
};

// "YYYY-MM-DDTHH:MM[:SS[.frac]]"; seconds optional only when `seconds_optional`.
Result<WallTime> ParseWall(std::string_view s, std::string_view field, bool seconds_optional) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} must be a date-time like 2026-03-29T10:30:00 ({})", field, why),
                std::string(field));
  };
  int y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  if (y < 0 || mo < 0 || d < 0 || s.size() < 16 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't')) {
    return bad("malformed date");
  }
  int h = Digits(s, 11, 2), mi = Digits(s, 14, 2);
  if (h < 0 || mi < 0 || s[13] != ':') return bad("malformed time");
  int sec = 0;
  size_t pos = 16;
  microseconds frac{0};
  if (pos < s.size() && s[pos] == ':') {
    sec = Digits(s, pos + 1, 2);
    if (sec < 0) return bad("malformed seconds");
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      size_t start = pos;
      int64_t us = 0;
      int kept = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (kept < 6) {
          us = us * 10 + (s[pos] - '0');
          ++kept;
        }
        ++pos;
      }
      if (pos == start) return bad("empty fraction");
      while (kept < 6) {
        us *= 10;
        ++kept;
      }
      frac = microseconds(us);
    }
  } else if (!seconds_optional) {
    return bad("seconds missing");
  }
  date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                           date::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad("no such date");
  if (h > 23 || mi > 59 || sec > 59) return bad("time out of range");
  WallTime w;
  w.local = date::local_days(ymd) + std::chrono::hours(h) + minutes(mi) + seconds(sec) + frac;
  w.consumed = pos;
  return w;
}

Result<const date::time_zone*> FindZone(std::string_view zone, std::string_view field) {
  if (zone.empty()) {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{} is required", field),
                std::string(field));
  }
  try {
    return date::locate_zone(zone);
  } catch (const std::exception&) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} \"{}\" is not a known IANA time zone", field, zone),
                std::string(field));
  }
}

std::string Two(int v) { return fmt::format("{:02}", v); }

}  // namespace

Result<Instant> ParseRfc3339(std::string_view text, std::string_view field) {
  auto wall = ParseWall(text, field, /*seconds_optional=*/false);
  if (!wall) return std::unexpected(wall.error());
  std::string_view rest = text.substr(wall->consumed);
  minutes offset{0};
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = Digits(rest, 1, 2), om = Digits(rest, 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("{} has a bad UTC offset", field),
                  std::string(field));
    }
    offset = minutes(oh * 60 + om);
    if (rest[0] == '-') offset = -offset;
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} must end with Z or an offset like +02:00", field),
                std::string(field));
  }
  return Instant(wall->local.time_since_epoch() - offset);
}

std::string_view FormatRfc3339(Instant t, Rfc3339Buffer& out) {
  auto day = std::chrono::floor<date::days>(t);
  date::year_month_day ymd(day);
  date::hh_mm_ss<microseconds> hms(t - day);
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    std::string text = fmt::format(
        "{:04}-{}-{}T{}:{}:{}", year, Two(static_cast<int>(static_cast<unsigned>(ymd.month()))),
        Two(static_cast<int>(static_cast<unsigned>(ymd.day()))),
        Two(static_cast<int>(hms.hours().count())), Two(static_cast<int>(hms.minutes().count())),
        Two(static_cast<int>(hms.seconds().count())));
    if (hms.subseconds().count() != 0) text += fmt::format(".{:06}", hms.subseconds().count());
    text += 'Z';
    const size_t n = std::min(text.size(), out.size());  // at most 7 year digits: 34 bytes
    std::copy_n(text.data(), n, out.data());
    return {out.data(), n};
  }
  // Digit by digit: every API answer carries several instants, and six fmt::format calls each
  // were a tenth of bench/api's GET appointment.
  char* buf = out.data();
  std::copy_n("0000-00-00T00:00:00.000000Z", 27, buf);
  auto put = [buf](int pos, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[pos + i] = static_cast<char>('0' + v % 10);
  };
  put(0, year, 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, hms.hours().count(), 2);
  put(14, hms.minutes().count(), 2);
  put(17, hms.seconds().count(), 2);
  const int64_t micros = hms.subseconds().count();
  if (micros == 0) {
    buf[19] = 'Z';
    return {buf, 20};
  }
  put(20, micros, 6);
  return {buf, 27};
}

std::string FormatRfc3339(Instant t) {
  Rfc3339Buffer buf;
  return std::string(FormatRfc3339(t, buf));
}

std::string FormatFixedUtc(Instant t) {
  std::string s = FormatRfc3339(t);
  if (s.size() == 20) s.insert(19, ".000000");
  return s;
}

void PreloadTimeZones() { (void)date::get_tzdb(); }

Status ValidateTimeZone(std::string_view zone, std::string_view field) {
  auto z = FindZone(zone, field);
  if (!z) return std::unexpected(z.error());
  return Ok();
}

Result<Instant> LocalToInstant(std::string_view local, std::string_view zone,
                               std::string_view field) {
  auto z = FindZone(zone, "time_zone");
  if (!z) return std::unexpected(z.error());
  auto wall = ParseWall(local, field, /*seconds_optional=*/true);
  if (!wall) return std::unexpected(wall.error());
  if (wall->consumed != local.size()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} must be a local time without offset, like 2026-03-29T10:30", field),
                std::string(field));
  }
  auto seconds_part = std::chrono::floor<seconds>(wall->local);
  date::local_info info = (*z)->get_info(seconds_part);
  switch (info.result) {
    case date::local_info::unique:
      return Instant(wall->local.time_since_epoch() - info.first.offset);
    case date::local_info::ambiguous:
      // The earlier of the two instants: the offset in force before the clocks went back.
      return Instant(wall->local.time_since_epoch() - info.first.offset);
    case date::local_info::nonexistent:
    default: {
      // Wall clock just before and just after the jump.
      auto gap_start = date::local_seconds(info.first.end.time_since_epoch() + info.first.offset);
      auto gap_end = date::local_seconds(info.second.begin.time_since_epoch() + info.second.offset);
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} {} does not exist in {}: clocks jump from {} to {} that day "
                              "(daylight saving); choose a time outside that gap",
                              field, local, zone,
                              date::format("%H:%M", std::chrono::floor<minutes>(gap_start)),
                              date::format("%H:%M", std::chrono::floor<minutes>(gap_end))),
                  std::string(field));
    }
  }
}

Result<std::string> FormatWithOffset(Instant t, std::string_view zone) {
  auto z = FindZone(zone, "time_zone");
  if (!z) return std::unexpected(z.error());
  const auto at = std::chrono::floor<seconds>(t);
  const date::sys_info info = (*z)->get_info(at);
  int64_t off = std::chrono::duration_cast<minutes>(info.offset).count();
  const char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  // The wall clock (at + info.offset, held in a sys_seconds) digit by digit, as FormatRfc3339
  // writes a UTC instant: the reconciler writes two of these for every event, and date::format
  // builds a stream for each. Years 0..9999 only; FormatRfc3339 pads a negative year to three
  // digits, date::format to four.
  Rfc3339Buffer buf;
  const std::string_view wall = FormatRfc3339(at + info.offset, buf);
  std::string out;
  if (wall.size() == 20 && wall[0] != '-') {
    out.assign(wall.substr(0, 19));  // without the Z
  } else {
    out = date::format("%Y-%m-%dT%H:%M:%S",
                       date::local_seconds((at + info.offset).time_since_epoch()));
  }
  out += fmt::format("{}{:02}:{:02}", sign, off / 60, off % 60);
  return out;
}

}  // namespace telemeet::core
