#include "core/recurrence.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <exception>

#include "core/meeting.h"
#include "core/time.h"

namespace telemeet::core {
namespace {

using std::chrono::seconds;

constexpr std::array<std::string_view, 7> kDayNames = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
constexpr int kMaxInterval = 1000;
// Periods (days, weeks or months) looked at before giving up: far more than 100 occurrences of
// any rule of the subset need (a monthly series on the 31st needs under 200 months), and a
// bound on the work a rule that matches almost nothing can cause.
constexpr int kMaxPeriods = 5000;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::unexpected<Error> Bad(std::string_view field, std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), std::string(field));
}

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  if (s.empty() || s.size() > 9) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<WeekdayRule> ParseDay(std::string_view item, std::string_view field) {
  if (item.size() < 2) return Bad(field, fmt::format("BYDAY entry \"{}\" is not a day", item));
  std::string_view name = item.substr(item.size() - 2);
  std::string_view ordinal = item.substr(0, item.size() - 2);
  WeekdayRule out;
  auto it = std::find(kDayNames.begin(), kDayNames.end(), name);
  if (it == kDayNames.end()) {
    return Bad(field, fmt::format("BYDAY entry \"{}\" is not one of MO TU WE TH FR SA SU", item));
  }
  out.weekday = static_cast<int>(it - kDayNames.begin());
  if (!ordinal.empty()) {
    bool negative = ordinal.front() == '-';
    if (ordinal.front() == '+' || negative) ordinal.remove_prefix(1);
    auto n = ParseInt(ordinal);
    if (!n || *n < 1 || *n > 5) {
      return Bad(field, fmt::format("BYDAY entry \"{}\" has an ordinal outside 1..5", item));
    }
    out.ordinal = negative ? -*n : *n;
  }
  return out;
}

// "20260630" or "20260630T080000Z".
Status ParseUntil(std::string_view v, Recurrence& rule, std::string_view field) {
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > v.size()) return std::nullopt;
    return ParseInt(v.substr(pos, n));
  };
  auto y = digits(0, 4), m = digits(4, 2), d = digits(6, 2);
  auto bad = [&] {
    return Bad(field, fmt::format("UNTIL \"{}\" must be a date like 20260630 or a UTC time like "
                                  "20260630T080000Z",
                                  v));
  };
  if (!y || !m || !d) return bad();
  std::string date_text = fmt::format("{:04}-{:02}-{:02}", *y, *m, *d);
  if (v.size() == 8) {
    date::year_month_day ymd{date::year(*y), date::month(static_cast<unsigned>(*m)),
                             date::day(static_cast<unsigned>(*d))};
    if (!ymd.ok()) return bad();
    rule.until_date = date_text;
    return Ok();
  }
  if (v.size() != 16 || v[8] != 'T' || v[15] != 'Z') {
    if (v.size() == 15 && v[8] == 'T') {
      return Bad(field, fmt::format("UNTIL \"{}\" must be in UTC (end with Z) or a date", v));
    }
    return bad();
  }
  auto hh = digits(9, 2), mm = digits(11, 2), ss = digits(13, 2);
  if (!hh || !mm || !ss) return bad();
  auto t = ParseRfc3339(fmt::format("{}T{:02}:{:02}:{:02}Z", date_text, *hh, *mm, *ss), field);
  if (!t) return bad();
  rule.until = *t;
  return Ok();
}

// Days since the epoch of a local date, and back.
date::local_days LocalDay(const date::year_month_day& ymd) { return date::local_days(ymd); }

int WeekdayOf(date::local_days d) {
  return static_cast<int>(date::weekday(d).iso_encoding()) - 1;  // Monday = 0
}

std::string DateText(date::local_days d) {
  date::year_month_day ymd(d);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

// The candidate days of period `k` (sorted), before the first-start and UNTIL cut.
std::vector<date::local_days> PeriodDays(const Recurrence& rule, date::local_days first, int k) {
  std::vector<date::local_days> out;
  const int64_t step = static_cast<int64_t>(k) * rule.interval;
  auto wanted = [&](date::local_days d) {
    if (rule.by_day.empty()) return true;
    int wd = WeekdayOf(d);
    return std::any_of(rule.by_day.begin(), rule.by_day.end(),
                       [&](const WeekdayRule& r) { return r.weekday == wd; });
  };
  switch (rule.frequency) {
    case Frequency::kDaily: {
      date::local_days d = first + date::days(step);
      if (wanted(d)) out.push_back(d);
      break;
    }
    case Frequency::kWeekly: {
      date::local_days monday = first - date::days(WeekdayOf(first)) + date::days(7 * step);
      if (rule.by_day.empty()) {
        out.push_back(monday + date::days(WeekdayOf(first)));
      } else {
        for (const WeekdayRule& r : rule.by_day) out.push_back(monday + date::days(r.weekday));
      }
      break;
    }
    case Frequency::kMonthly: {
      date::year_month_day f(first);
      date::year_month ym = date::year_month(f.year(), f.month()) + date::months(step);
      if (rule.by_day.empty()) {
        date::year_month_day d{ym.year(), ym.month(), f.day()};
        if (d.ok()) out.push_back(LocalDay(d));  // no 31st in April: no occurrence
        break;
      }
      date::local_days begin = LocalDay(ym.year() / ym.month() / date::day(1));
      date::local_days end = LocalDay(ym.year() / ym.month() / date::last) + date::days(1);
      for (const WeekdayRule& r : rule.by_day) {
        std::vector<date::local_days> all;
        for (date::local_days d = begin; d < end; d += date::days(1)) {
          if (WeekdayOf(d) == r.weekday) all.push_back(d);
        }
        if (r.ordinal == 0) {
          out.insert(out.end(), all.begin(), all.end());
        } else if (r.ordinal > 0 && static_cast<size_t>(r.ordinal) <= all.size()) {
          out.push_back(all[static_cast<size_t>(r.ordinal - 1)]);
        } else if (r.ordinal < 0 && static_cast<size_t>(-r.ordinal) <= all.size()) {
          out.push_back(all[all.size() - static_cast<size_t>(-r.ordinal)]);
        }
      }
      break;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<const date::time_zone*> Zone(std::string_view zone) {
  if (auto s = ValidateTimeZone(zone, "time_zone"); !s) return std::unexpected(s.error());
  try {
    return date::locate_zone(zone);
  } catch (const std::exception&) {
    return Bad("time_zone", fmt::format("time_zone \"{}\" is not a known IANA time zone", zone));
  }
}

}  // namespace

Result<Recurrence> ParseRecurrence(std::string_view text, std::string_view field) {
  std::string upper = Upper(text);
  std::string_view s = upper;
  if (s.starts_with("RRULE:")) s.remove_prefix(6);
  if (s.empty())
    return Bad(field, fmt::format("{} is empty; give e.g. FREQ=WEEKLY;COUNT=10", field));
  Recurrence rule;
  bool have_freq = false, have_interval = false, have_by_day = false;
  while (!s.empty()) {
    size_t semi = s.find(';');
    std::string_view part = s.substr(0, semi);
    s = semi == std::string_view::npos ? std::string_view{} : s.substr(semi + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Bad(field, fmt::format("{} part \"{}\" is not NAME=VALUE", field, part));
    }
    std::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
    auto twice = [&]() { return Bad(field, fmt::format("{} gives {} twice", field, name)); };
    if (name == "FREQ") {
      if (have_freq) return twice();
      have_freq = true;
      if (value == "DAILY") {
        rule.frequency = Frequency::kDaily;
      } else if (value == "WEEKLY") {
        rule.frequency = Frequency::kWeekly;
      } else if (value == "MONTHLY") {
        rule.frequency = Frequency::kMonthly;
      } else {
        return Bad(field,
                   fmt::format("FREQ={} is not supported; use DAILY, WEEKLY or MONTHLY", value));
      }
    } else if (name == "INTERVAL") {
      if (have_interval) return twice();
      have_interval = true;
      auto n = ParseInt(value);
      if (!n || *n < 1 || *n > kMaxInterval) {
        return Bad(field,
                   fmt::format("INTERVAL must be a whole number from 1 to {}", kMaxInterval));
      }
      rule.interval = *n;
    } else if (name == "COUNT") {
      if (rule.count) return twice();
      auto n = ParseInt(value);
      if (!n || *n < 1 || *n > kMaxOccurrences) {
        return Bad(field, fmt::format("COUNT must be a whole number from 1 to {} (a series has at "
                                      "most {} occurrences)",
                                      kMaxOccurrences, kMaxOccurrences));
      }
      rule.count = *n;
    } else if (name == "UNTIL") {
      if (rule.until || rule.until_date) return twice();
      if (auto st = ParseUntil(value, rule, field); !st) return std::unexpected(st.error());
    } else if (name == "BYDAY") {
      if (have_by_day) return twice();
      have_by_day = true;
      std::string_view list = value;
      while (true) {
        size_t comma = list.find(',');
        auto day = ParseDay(list.substr(0, comma), field);
        if (!day) return std::unexpected(day.error());
        if (std::find(rule.by_day.begin(), rule.by_day.end(), *day) == rule.by_day.end()) {
          rule.by_day.push_back(*day);
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    } else {
      return Bad(field, fmt::format("{} is not supported in {}; telemeet takes FREQ, INTERVAL, "
                                    "COUNT, UNTIL and BYDAY",
                                    name, field));
    }
  }
  if (!have_freq) return Bad(field, fmt::format("{} needs FREQ (DAILY, WEEKLY or MONTHLY)", field));
  if (rule.count && (rule.until || rule.until_date)) {
    return Bad(field, fmt::format("{} gives both COUNT and UNTIL; give one", field));
  }
  if (!rule.count && !rule.until && !rule.until_date) {
    return Bad(field, fmt::format("{} needs COUNT or UNTIL: a series has at most {} occurrences",
                                  field, kMaxOccurrences));
  }
  if (rule.frequency != Frequency::kMonthly) {
    for (const WeekdayRule& d : rule.by_day) {
      if (d.ordinal != 0) {
        return Bad(field, "BYDAY ordinals (like 1MO or -1FR) are allowed with FREQ=MONTHLY only");
      }
    }
  }
  return rule;
}

std::string FormatRecurrence(const Recurrence& rule) {
  std::string out = "RRULE:FREQ=";
  switch (rule.frequency) {
    case Frequency::kDaily:
      out += "DAILY";
      break;
    case Frequency::kWeekly:
      out += "WEEKLY";
      break;
    case Frequency::kMonthly:
      out += "MONTHLY";
      break;
  }
  if (rule.interval != 1) out += fmt::format(";INTERVAL={}", rule.interval);
  if (rule.count) out += fmt::format(";COUNT={}", *rule.count);
  if (rule.until) {
    std::string t = FormatRfc3339(std::chrono::floor<seconds>(*rule.until));  // ...T08:00:00Z
    std::erase(t, '-');
    std::erase(t, ':');
    out += ";UNTIL=" + t;
  }
  if (rule.until_date) {
    std::string d = *rule.until_date;
    std::erase(d, '-');
    out += ";UNTIL=" + d;
  }
  if (!rule.by_day.empty()) {
    out += ";BYDAY=";
    for (size_t i = 0; i < rule.by_day.size(); ++i) {
      if (i) out += ',';
      if (rule.by_day[i].ordinal != 0) out += std::to_string(rule.by_day[i].ordinal);
      out += kDayNames[static_cast<size_t>(rule.by_day[i].weekday)];
    }
  }
  return out;
}

Result<std::vector<Occurrence>> ExpandRecurrence(const Recurrence& rule, Instant first_start,
                                                 Instant first_end, std::string_view zone,
                                                 std::string_view field) {
  const date::time_zone* tz = TM_TRY(Zone(zone));
  if (first_end <= first_start) return Bad("end", "end must be after start");
  const auto duration = first_end - first_start;
  const auto local = tz->to_local(std::chrono::floor<seconds>(first_start));
  const date::local_days first_day = std::chrono::floor<date::days>(local);
  const date::hh_mm_ss<seconds> tod(local - first_day);
  const std::string time_text = fmt::format("{:02}:{:02}:{:02}", tod.hours().count(),
                                            tod.minutes().count(), tod.seconds().count());
  std::optional<date::local_days> until_day;
  if (rule.until_date) {
    auto u = ParseRfc3339(*rule.until_date + "T00:00:00Z");
    if (u) until_day = date::local_days(std::chrono::floor<date::days>(*u).time_since_epoch());
  }

  std::vector<Occurrence> out;
  for (int k = 0; k < kMaxPeriods; ++k) {
    for (date::local_days day : PeriodDays(rule, first_day, k)) {
      if (day < first_day) continue;
      if (out.empty() && day != first_day) {
        return Bad("start", fmt::format("start ({}, a {}) is not an occurrence of {} {}; the "
                                        "first start must match the rule",
                                        DateText(first_day),
                                        kDayNames[static_cast<size_t>(WeekdayOf(first_day))], field,
                                        FormatRecurrence(rule).substr(6)));
      }
      if (until_day && day > *until_day) return out;
      const std::string day_text = DateText(day);
      Instant start = first_start;
      if (day != first_day) {
        auto at = LocalToInstant(day_text + "T" + time_text, zone, "start");
        if (!at) {
          return Bad("start", fmt::format("occurrence {} of the series: {}", out.size() + 1,
                                          at.error().message()));
        }
        start = *at;
      }
      if (rule.until && start > *rule.until) return out;
      if (static_cast<int>(out.size()) == kMaxOccurrences) {
        return Bad(field, fmt::format("{} gives more than {} occurrences; a series has at most {} "
                                      "(end it sooner with COUNT or UNTIL)",
                                      field, kMaxOccurrences, kMaxOccurrences));
      }
      out.push_back({.start = start, .end = start + duration, .local_date = day_text});
      if (rule.count && static_cast<int>(out.size()) == *rule.count) return out;
    }
  }
  if (out.empty()) return Bad(field, fmt::format("{} gives no occurrence", field));
  return out;
}

Result<Instant> AtLocalTimeOfDay(Instant t, std::string_view zone, std::string_view hh_mm,
                                 std::string_view field) {
  const date::time_zone* tz = TM_TRY(Zone(zone));
  auto h = hh_mm.size() == 5 && hh_mm[2] == ':' ? ParseInt(hh_mm.substr(0, 2)) : std::nullopt;
  auto m = hh_mm.size() == 5 && hh_mm[2] == ':' ? ParseInt(hh_mm.substr(3, 2)) : std::nullopt;
  if (!h || !m || *h > 23 || *m > 59) {
    return Bad(field, fmt::format("{} must be a local time like 10:30", field));
  }
  const date::local_days day =
      std::chrono::floor<date::days>(tz->to_local(std::chrono::floor<seconds>(t)));
  return LocalToInstant(fmt::format("{}T{:02}:{:02}", DateText(day), *h, *m), zone, field);
}

Result<Instant> ShiftWallTime(Instant t, std::string_view zone, std::chrono::minutes by,
                              std::string_view field) {
  const date::time_zone* tz = TM_TRY(Zone(zone));
  const auto local = tz->to_local(std::chrono::floor<seconds>(t)) + by;
  return LocalToInstant(date::format("%Y-%m-%dT%H:%M:%S", local), zone, field);
}

std::string SeriesEventIdFor(std::string_view series_uid) {
  return EventIdFor("series-" + std::string(series_uid));
}

std::string InstanceEventId(std::string_view series_event_id, Instant original_start) {
  std::string t = FormatRfc3339(std::chrono::floor<seconds>(original_start));
  std::erase(t, '-');
  std::erase(t, ':');
  return std::string(series_event_id) + "_" + t;
}

bool IsInstanceEventId(std::string_view id) {
  size_t underscore = id.rfind('_');
  if (underscore == std::string_view::npos) return false;
  std::string_view t = id.substr(underscore + 1);
  if (t.size() != 16 || t[8] != 'T' || t[15] != 'Z') return false;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && (t[i] < '0' || t[i] > '9')) return false;
  }
  return IsValidEventId(id.substr(0, underscore));
}

}  // namespace telemeet::core
