#include "emulator/calendar/event_time.h"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>

#include "base/strings.h"

namespace telemeet::emulator {

namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::optional<sys_days> MakeDay(int y, int m, int d) {
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return sys_days(ymd);
}

std::string Two(int v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%02d", v);
  return buf;
}

struct Civil {
  int year, month, day, hour, minute, second, millis;
  unsigned weekday;  // 0 = Sunday
};

Civil ToCivil(Instant t) {
  auto day = std::chrono::floor<days>(t);
  std::chrono::year_month_day ymd(day);
  auto rest = t - day;
  auto total_ms = std::chrono::duration_cast<std::chrono::milliseconds>(rest).count();
  Civil c{};
  c.year = int(ymd.year());
  c.month = int(unsigned(ymd.month()));
  c.day = int(unsigned(ymd.day()));
  c.hour = int(total_ms / 3'600'000);
  c.minute = int(total_ms / 60'000 % 60);
  c.second = int(total_ms / 1000 % 60);
  c.millis = int(total_ms % 1000);
  c.weekday = std::chrono::weekday(day).c_encoding();
  return c;
}

std::string YearText(int y) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04d", y);
  return buf;
}

}  // namespace

std::optional<ZonedTime> ParseRfc3339(std::string_view s, std::optional<int> default_offset) {
  int y, mo, d, h, mi, se;
  if (s.size() < 19 || !Digits(s, 0, 4, y) || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, h) ||
      s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' || !Digits(s, 17, 2, se)) {
    return std::nullopt;
  }
  if (h > 23 || mi > 59 || se > 60) return std::nullopt;
  auto day = MakeDay(y, mo, d);
  if (!day) return std::nullopt;
  size_t pos = 19;
  std::chrono::microseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t micros = 0;
    int scale = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale < 6) {
        micros = micros * 10 + (s[pos] - '0');
        ++scale;
      }
      ++pos;
    }
    if (pos == start) return std::nullopt;
    while (scale++ < 6) micros *= 10;
    frac = std::chrono::microseconds(micros);
  }
  int offset = 0;
  if (pos == s.size()) {
    if (!default_offset) return std::nullopt;
    offset = *default_offset;
  } else if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
    offset = 0;
  } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || !Digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  Instant local = Instant(*day) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                  seconds(std::min(se, 59)) + frac;
  return ZonedTime{local - seconds(offset), offset};
}

std::optional<Instant> ParseDate(std::string_view s) {
  int y, mo, d;
  if (s.size() != 10 || !Digits(s, 0, 4, y) || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  auto day = MakeDay(y, mo, d);
  if (!day) return std::nullopt;
  return Instant(*day);
}

std::string FormatRfc3339Millis(Instant t) {
  Civil c = ToCivil(t);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s-%02d-%02dT%02d:%02d:%02d.%03dZ", YearText(c.year).c_str(),
                c.month, c.day, c.hour, c.minute, c.second, c.millis);
  return buf;
}

std::string FormatRfc3339(Instant t, int offset_seconds) {
  Civil c = ToCivil(t + seconds(offset_seconds));
  std::string out = YearText(c.year) + "-" + Two(c.month) + "-" + Two(c.day) + "T" + Two(c.hour) +
                    ":" + Two(c.minute) + ":" + Two(c.second);
  if (offset_seconds == 0) return out + "Z";
  int a = std::abs(offset_seconds);
  return out + (offset_seconds < 0 ? "-" : "+") + Two(a / 3600) + ":" + Two(a / 60 % 60);
}

std::string FormatDate(Instant t) {
  Civil c = ToCivil(t);
  return YearText(c.year) + "-" + Two(c.month) + "-" + Two(c.day);
}

std::string FormatRfc1123(Instant t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  Civil c = ToCivil(t);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %s %02d:%02d:%02d GMT", kDays[c.weekday], c.day,
                kMonths[c.month - 1], YearText(c.year).c_str(), c.hour, c.minute, c.second);
  return buf;
}

std::string FormatBasicUtc(Instant t) {
  Civil c = ToCivil(t);
  return YearText(c.year) + Two(c.month) + Two(c.day) + "T" + Two(c.hour) + Two(c.minute) +
         Two(c.second) + "Z";
}

std::string FormatBasicDate(Instant t) {
  Civil c = ToCivil(t);
  return YearText(c.year) + Two(c.month) + Two(c.day);
}

namespace {

// "20260105T100000Z" (UTC), "20260105T100000" (local: minus offset), "20260105" (a local day).
struct BasicTime {
  Instant local;  // local wall time expressed as if it were UTC
  bool date_only = false;
  bool utc = false;
};

std::optional<BasicTime> ParseBasic(std::string_view s) {
  int y, mo, d;
  if (s.size() < 8 || !Digits(s, 0, 4, y) || !Digits(s, 4, 2, mo) || !Digits(s, 6, 2, d)) {
    return std::nullopt;
  }
  auto day = MakeDay(y, mo, d);
  if (!day) return std::nullopt;
  if (s.size() == 8) return BasicTime{Instant(*day), true, false};
  int h, mi, se;
  if ((s.size() != 15 && s.size() != 16) || s[8] != 'T' || !Digits(s, 9, 2, h) ||
      !Digits(s, 11, 2, mi) || !Digits(s, 13, 2, se) || h > 23 || mi > 59 || se > 59) {
    return std::nullopt;
  }
  if (s.size() == 16 && s[15] != 'Z') return std::nullopt;
  Instant local = Instant(*day) + std::chrono::hours(h) + std::chrono::minutes(mi) + seconds(se);
  return BasicTime{local, false, s.size() == 16};
}

std::optional<unsigned> WeekdayCode(std::string_view s) {
  static constexpr std::array<std::string_view, 7> kCodes = {"SU", "MO", "TU", "WE",
                                                             "TH", "FR", "SA"};
  for (unsigned i = 0; i < kCodes.size(); ++i) {
    if (s == kCodes[i]) return i;
  }
  return std::nullopt;
}

std::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

namespace {

const date::time_zone* FindZone(std::string_view name) {
  if (name.empty()) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

int OffsetSecondsAt(Instant t, std::string_view time_zone, int fallback) {
  const date::time_zone* zone = FindZone(time_zone);
  if (zone == nullptr) return fallback;
  auto info = zone->get_info(std::chrono::floor<seconds>(t));
  return int(std::chrono::duration_cast<seconds>(info.offset).count());
}

Result<std::vector<Instant>> ExpandRecurrence(const std::vector<std::string>& lines, Instant first,
                                              int offset_seconds, RecurrenceLimits limits,
                                              std::string_view time_zone) {
  enum class Freq { kNone, kDaily, kWeekly, kMonthly } freq = Freq::kNone;
  int interval = 1;
  std::optional<long> count;
  std::optional<BasicTime> until;
  std::set<unsigned> by_day;
  std::set<Instant> exdates, rdates;
  bool saw_rrule = false;
  const seconds offset(offset_seconds);
  const date::time_zone* zone = FindZone(time_zone);
  // A local wall time (held as an Instant) to the instant it names.
  auto to_utc = [&](Instant local) -> Instant {
    if (zone == nullptr) return local - offset;
    auto info =
        zone->get_info(date::local_seconds(std::chrono::floor<seconds>(local).time_since_epoch()));
    // Unique, or the earlier of two (fall back); in a gap the offset before it, which lands
    // past the gap.
    return local - info.first.offset;
  };

  auto add_dates = [&](std::string_view line, std::set<Instant>& into) -> Status {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return Invalid("missing ':'");
    for (auto v : Split(line.substr(colon + 1), ',')) {
      auto b = ParseBasic(Trim(v));
      if (!b) return Invalid("bad date in " + std::string(line.substr(0, colon)));
      if (b->date_only) {
        into.insert(to_utc(b->local + (first + offset - std::chrono::floor<days>(first + offset))));
      } else {
        into.insert(b->utc ? b->local : to_utc(b->local));
      }
    }
    return Ok();
  };

  for (const std::string& raw : lines) {
    std::string_view line = Trim(raw);
    std::string upper = line.size() >= 6 ? std::string(line.substr(0, 6)) : std::string(line);
    for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
    if (upper.starts_with("RRULE:")) {
      if (saw_rrule) return Invalid("two RRULEs");
      saw_rrule = true;
      for (auto part : Split(line.substr(6), ';')) {
        auto eq = part.find('=');
        if (eq == std::string_view::npos) return Invalid("bad RRULE part");
        std::string key(part.substr(0, eq));
        std::string_view value = part.substr(eq + 1);
        if (key == "FREQ") {
          if (value == "DAILY")
            freq = Freq::kDaily;
          else if (value == "WEEKLY")
            freq = Freq::kWeekly;
          else if (value == "MONTHLY")
            freq = Freq::kMonthly;
          else
            return Invalid("unsupported FREQ");
        } else if (key == "INTERVAL" || key == "COUNT") {
          int v = 0;
          if (value.empty() || value.size() > 6 || !Digits(value, 0, value.size(), v) || v < 1) {
            return Invalid("bad " + key);
          }
          if (key == "INTERVAL")
            interval = v;
          else
            count = v;
        } else if (key == "UNTIL") {
          until = ParseBasic(value);
          if (!until) return Invalid("bad UNTIL");
        } else if (key == "BYDAY") {
          for (auto d : Split(value, ',')) {
            auto code = WeekdayCode(d);
            if (!code) return Invalid("bad BYDAY");
            by_day.insert(*code);
          }
        } else if (key == "WKST") {
          if (!WeekdayCode(value)) {
            return Invalid("bad WKST");
          }
        } else {
          return Invalid("unsupported " + key);
        }
      }
      if (freq == Freq::kNone) return Invalid("no FREQ");
      if (count && until) {
        return Invalid("COUNT and UNTIL");
      }
      if (freq == Freq::kMonthly && !by_day.empty()) {
        return Invalid("BYDAY with MONTHLY");
      }
    } else if (upper.starts_with("EXDATE")) {
      if (auto s = add_dates(line, exdates); !s) return std::unexpected(s.error());
    } else if (upper.starts_with("RDATE")) {
      if (auto s = add_dates(line, rdates); !s) return std::unexpected(s.error());
    } else {
      return Invalid("unsupported recurrence line");
    }
  }

  std::set<Instant> starts;
  const Instant local_first = first + offset;
  const sys_days first_day = std::chrono::floor<days>(local_first);
  const auto time_of_day = local_first - Instant(first_day);
  long produced = 0;
  auto past_end = [&](Instant local_start) {
    if (count && produced >= *count) return true;
    if (until) {
      if (until->date_only) {
        if (std::chrono::floor<days>(local_start) > std::chrono::floor<days>(until->local)) {
          return true;
        }
      } else if ((until->utc ? to_utc(local_start) : local_start) > until->local) {
        return true;
      }
    }
    if (limits.horizon && to_utc(local_start) >= *limits.horizon) return true;
    return produced >= long(limits.max_instances);
  };
  // Days past the year 9999 end every series (and keep microsecond instants in range).
  const sys_days last_day = sys_days(std::chrono::year(9999) / 12 / 31);
  // Returns false once the series is over.
  auto emit = [&](sys_days day) {
    if (day > last_day) return false;
    Instant local_start = Instant(day) + time_of_day;
    if (past_end(local_start)) return false;
    ++produced;
    starts.insert(to_utc(local_start));
    return true;
  };

  if (!saw_rrule) {
    starts.insert(first);
  } else if (freq == Freq::kDaily) {
    for (long k = 0; k < 200'000; ++k) {
      sys_days day = first_day + days(k * interval);
      if (!by_day.empty() && !by_day.contains(std::chrono::weekday(day).c_encoding())) {
        if (day > last_day || past_end(Instant(day) + time_of_day)) break;
        continue;
      }
      if (!emit(day)) break;
    }
  } else if (freq == Freq::kWeekly) {
    if (by_day.empty()) by_day.insert(std::chrono::weekday(first_day).c_encoding());
    // Weeks start on Monday: iso index 0 = Monday ... 6 = Sunday.
    const sys_days week0 = first_day - days(std::chrono::weekday(first_day).iso_encoding() - 1);
    std::vector<unsigned> order;
    for (unsigned d : by_day) order.push_back((d + 6) % 7);
    std::sort(order.begin(), order.end());
    bool done = false;
    for (long w = 0; w < 30'000 && !done; ++w) {
      sys_days week = week0 + days(7 * w * interval);
      for (unsigned iso : order) {
        sys_days day = week + days(iso);
        if (day < first_day) continue;
        if (!emit(day)) {
          done = true;
          break;
        }
      }
    }
  } else {
    std::chrono::year_month_day ymd(first_day);
    for (long k = 0; k < 20'000; ++k) {
      if (int(ymd.year()) + k * interval / 12 > 9999) break;
      auto ym =
          std::chrono::year_month(ymd.year(), ymd.month()) + std::chrono::months(k * interval);
      std::chrono::year_month_day candidate(ym.year(), ym.month(), ymd.day());
      if (!candidate.ok()) continue;
      if (!emit(sys_days(candidate))) break;
    }
  }
  for (Instant r : rdates) starts.insert(r);
  for (Instant x : exdates) starts.erase(x);
  return std::vector<Instant>(starts.begin(), starts.end());
}

}  // namespace telemeet::emulator
