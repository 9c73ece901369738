#include "emulator/calendar/event_resource.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "emulator/calendar/event_time.h"

namespace telemeet::emulator {

using nlohmann::json;

net::Response ToResponse(const Failure& failure) { return ApiError(failure.status, failure.item); }

std::unexpected<Failure> InvalidField(std::string_view name) {
  return Reject(400, {.reason = "invalid",
                      .message = "Invalid value for field '" + std::string(name) + "'."});
}

namespace {

constexpr std::array kStringFields = {"summary", "description", "location", "colorId"};
constexpr std::array kBoolFields = {"anyoneCanAddSelf",   "guestsCanInviteOthers",
                                    "guestsCanModify",    "guestsCanSeeOtherGuests",
                                    "privateCopy",        "locked",
                                    "endTimeUnspecified", "attendeesOmitted"};
// Objects kept as given (their inner rules are outside what the emulator checks).
constexpr std::array kObjectFields = {"source",
                                      "gadget",
                                      "workingLocationProperties",
                                      "outOfOfficeProperties",
                                      "focusTimeProperties",
                                      "birthdayProperties"};

bool OneOf(const std::string& v, const std::vector<std::string_view>& allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

bool Present(const json& in, const char* key) {
  auto it = in.find(key);
  return it != in.end() && !it->is_null();
}

Api<json> NormalizeTime(const json& v, const char* name) {
  if (!v.is_object()) return InvalidField(name);
  json out = json::object();
  for (const char* key : {"date", "dateTime", "timeZone"}) {
    if (!Present(v, key)) continue;
    if (!v[key].is_string()) return InvalidField(std::string(name) + "." + key);
    out[key] = v[key];
  }
  return out;
}

Api<json> NormalizeAttendees(const json& v) {
  if (!v.is_array()) return InvalidField("attendees");
  json out = json::array();
  for (const json& a : v) {
    if (!a.is_object()) return InvalidField("attendees");
    json kept = json::object();
    if (!Present(a, "email")) {
      return Reject(400, {.reason = "required", .message = "Missing attendee email."});
    }
    for (const char* key : {"email", "displayName", "comment", "responseStatus"}) {
      if (!Present(a, key)) continue;
      if (!a[key].is_string()) return InvalidField(std::string("attendees.") + key);
      kept[key] = a[key];
    }
    const std::string email = kept["email"];
    if (email.find('@') == std::string::npos || email.front() == '@' || email.back() == '@') {
      return Reject(400, {.reason = "invalid", .message = "Invalid attendee email."});
    }
    if (kept.contains("responseStatus") &&
        !OneOf(kept["responseStatus"].get<std::string>(),
               {"needsAction", "declined", "tentative", "accepted"})) {
      return InvalidField("attendees.responseStatus");
    }
    for (const char* key : {"optional", "resource"}) {
      if (!Present(a, key)) continue;
      if (!a[key].is_boolean()) return InvalidField(std::string("attendees.") + key);
      kept[key] = a[key];
    }
    if (Present(a, "additionalGuests")) {
      if (!a["additionalGuests"].is_number_integer() || a["additionalGuests"].get<int64_t>() < 0) {
        return InvalidField("attendees.additionalGuests");
      }
      kept["additionalGuests"] = a["additionalGuests"];
    }
    out.push_back(std::move(kept));
  }
  return out;
}

Api<json> NormalizeReminders(const json& v) {
  if (!v.is_object()) return InvalidField("reminders");
  json out = json::object();
  if (Present(v, "useDefault")) {
    if (!v["useDefault"].is_boolean()) return InvalidField("reminders.useDefault");
    out["useDefault"] = v["useDefault"];
  }
  if (Present(v, "overrides")) {
    const json& o = v["overrides"];
    if (!o.is_array()) return InvalidField("reminders.overrides");
    if (o.size() > 5) {
      return Reject(
          400, {.reason = "invalid", .message = "The maximum number of override reminders is 5."});
    }
    json overrides = json::array();
    for (const json& r : o) {
      if (!r.is_object() || !Present(r, "method") || !r["method"].is_string() ||
          !OneOf(r["method"].get<std::string>(), {"email", "popup"})) {
        return InvalidField("reminders.overrides.method");
      }
      if (!Present(r, "minutes") || !r["minutes"].is_number_integer() ||
          r["minutes"].get<int64_t>() < 0 || r["minutes"].get<int64_t>() > 40320) {
        return InvalidField("reminders.overrides.minutes");
      }
      overrides.push_back({{"method", r["method"]}, {"minutes", r["minutes"]}});
    }
    if (!overrides.empty()) out["overrides"] = std::move(overrides);
  }
  if (out.value("useDefault", false) && out.contains("overrides")) {
    return Reject(400,
                  {.reason = "cannotUseDefaultRemindersAndSpecifyOverride",
                   .message = "Cannot specify both default reminders and overrides at the same "
                              "time."});
  }
  return out;
}

Api<json> NormalizeExtendedProperties(const json& v) {
  if (!v.is_object()) return InvalidField("extendedProperties");
  json out = json::object();
  for (const char* scope : {"private", "shared"}) {
    if (!Present(v, scope)) continue;
    const json& props = v[scope];
    if (!props.is_object()) return InvalidField(std::string("extendedProperties.") + scope);
    json kept = json::object();
    for (const auto& [key, value] : props.items()) {
      if (value.is_null()) continue;
      if (!value.is_string()) return InvalidField(std::string("extendedProperties.") + scope);
      kept[key] = value;
    }
    out[scope] = std::move(kept);
  }
  return out;
}

}  // namespace

Api<json> NormalizeEvent(const json& in) {
  json out = json::object();
  for (const char* key : kStringFields) {
    if (!Present(in, key)) continue;
    if (!in[key].is_string()) return InvalidField(key);
    out[key] = in[key];
  }
  for (const char* key : kBoolFields) {
    if (!Present(in, key)) continue;
    if (!in[key].is_boolean()) return InvalidField(key);
    out[key] = in[key];
  }
  for (const char* key : kObjectFields) {
    if (!Present(in, key)) continue;
    if (!in[key].is_object()) return InvalidField(key);
    out[key] = in[key];
  }
  struct Enum {
    const char* key;
    std::vector<std::string_view> values;
  };
  for (const Enum& e :
       {Enum{"status", {"confirmed", "tentative", "cancelled"}},
        Enum{"transparency", {"opaque", "transparent"}},
        Enum{"visibility", {"default", "public", "private", "confidential"}},
        Enum{"eventType", {"default", "outOfOffice", "focusTime", "workingLocation"}}}) {
    if (!Present(in, e.key)) continue;
    if (!in[e.key].is_string() || !OneOf(in[e.key].get<std::string>(), e.values))
      return InvalidField(e.key);
    out[e.key] = in[e.key];
  }
  for (const char* key : {"start", "end", "originalStartTime"}) {
    if (!Present(in, key)) continue;
    auto t = NormalizeTime(in[key], key);
    if (!t) return std::unexpected(t.error());
    out[key] = std::move(*t);
  }
  if (Present(in, "recurrence")) {
    const json& r = in["recurrence"];
    if (!r.is_array()) return InvalidField("recurrence");
    for (const json& line : r) {
      if (!line.is_string()) return InvalidField("recurrence");
    }
    if (!r.empty()) out["recurrence"] = r;
  }
  if (Present(in, "attendees")) {
    auto a = NormalizeAttendees(in["attendees"]);
    if (!a) return std::unexpected(a.error());
    if (!a->empty()) out["attendees"] = std::move(*a);
  }
  if (Present(in, "reminders")) {
    auto r = NormalizeReminders(in["reminders"]);
    if (!r) return std::unexpected(r.error());
    out["reminders"] = std::move(*r);
  }
  if (Present(in, "extendedProperties")) {
    auto p = NormalizeExtendedProperties(in["extendedProperties"]);
    if (!p) return std::unexpected(p.error());
    out["extendedProperties"] = std::move(*p);
  }
  if (Present(in, "attachments")) {
    if (!in["attachments"].is_array()) return InvalidField("attachments");
    if (in["attachments"].size() > 25) {
      return Reject(400, {.reason = "invalid", .message = "Too many attachments."});
    }
    out["attachments"] = in["attachments"];
  }
  return out;
}

namespace {

struct OneTime {
  std::optional<ZonedTime> at;
  bool date = false;
};

Api<OneTime> ParseOne(const json& event, const char* name) {
  const std::string which(name);
  auto missing = [&] {
    return Reject(400, {.reason = "required", .message = "Missing " + which + " time."});
  };
  if (!event.contains(name)) return missing();
  const json& t = event[name];
  const bool has_date = t.contains("date");
  const bool has_date_time = t.contains("dateTime");
  if (!has_date && !has_date_time) return missing();
  if (has_date && has_date_time) {
    return Reject(400, {.reason = "invalid", .message = "Invalid " + which + " time."});
  }
  if (t.contains("timeZone")) {
    const std::string tz = t["timeZone"];
    bool ok = !tz.empty() && tz.size() < 64 && std::isalpha(static_cast<unsigned char>(tz[0]));
    for (char c : tz) {
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
                  c == '+');
    }
    if (!ok) {
      return Reject(400, {.reason = "invalid",
                          .message = "Invalid time zone definition for " + which + " time."});
    }
  }
  OneTime out;
  if (has_date) {
    auto d = ParseDate(t["date"].get<std::string>());
    if (!d) return Reject(400, {.reason = "invalid", .message = "Invalid " + which + " time."});
    out.at = ZonedTime{*d, 0};
    out.date = true;
    return out;
  }
  const std::string text = t["dateTime"];
  // Without an offset the API needs a timeZone; the emulator has no zone database and reads
  // such a local time as UTC.
  std::optional<int> fallback;
  if (t.contains("timeZone")) fallback = 0;
  out.at = ParseRfc3339(text, fallback);
  if (!out.at) {
    if (!fallback && ParseRfc3339(text, 0)) {
      return Reject(400, {.reason = "required",
                          .message = "Missing time zone definition for " + which + " time."});
    }
    return Reject(400, {.reason = "invalid", .message = "Invalid " + which + " time."});
  }
  return out;
}

}  // namespace

Api<EventTimes> ParseEventTimes(const json& event) {
  // Google names the end first when both are missing (an empty body says "Missing end time.").
  auto end = ParseOne(event, "end");
  if (!end) return std::unexpected(end.error());
  auto start = ParseOne(event, "start");
  if (!start) return std::unexpected(start.error());
  if (start->date != end->date) {
    return Reject(400, {.reason = "invalid",
                        .message = "Start and end times must either both be date or both be "
                                   "dateTime."});
  }
  if (end->at->instant < start->at->instant) {
    return Reject(400, {.domain = "calendar",
                        .reason = "timeRangeEmpty",
                        .message = "The specified time range is empty."});
  }
  EventTimes out{start->at->instant, end->at->instant, start->at->offset_seconds, start->date};
  if (event.contains("recurrence")) {
    if (!start->date && !event["start"].contains("timeZone")) {
      return Reject(
          400, {.reason = "required", .message = "Missing time zone definition for start time."});
    }
    std::vector<std::string> lines = event["recurrence"].get<std::vector<std::string>>();
    auto expanded = ExpandRecurrence(lines, out.start, out.offset_seconds, {.max_instances = 1});
    if (!expanded) {
      return Reject(400, {.reason = "invalid", .message = "Invalid recurrence rule."});
    }
  }
  return out;
}

void MergePatch(json& target, const json& patch) {
  if (!patch.is_object() || !target.is_object()) {
    target = patch;
    return;
  }
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      target.erase(key);
    } else if (value.is_object() && target.contains(key) && target[key].is_object()) {
      if (key == "start" || key == "end" || key == "originalStartTime") {
        if (value.contains("dateTime")) target[key].erase("date");
        if (value.contains("date")) target[key].erase("dateTime");
      }
      MergePatch(target[key], value);
    } else {
      target[key] = value;
    }
  }
}

bool ValidEventId(std::string_view id) {
  if (id.size() < 5 || id.size() > 1024) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'a' && c <= 'v') || (c >= '0' && c <= '9'); });
}

std::string NewEventId(std::mt19937_64& rng) {
  static constexpr std::string_view kAlphabet = "0123456789abcdefghijklmnopqrstuv";
  std::string id(26, '0');
  for (char& c : id) c = kAlphabet[rng() % 32];
  return id;
}

namespace {

std::string RandomLetters(std::mt19937_64& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(char('a' + rng() % 26));
  return s;
}

std::string RandomDigits(std::mt19937_64& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(char('0' + rng() % 10));
  return s;
}

}  // namespace

json MeetConference(std::string_view request_id, std::mt19937_64& rng) {
  const std::string code =
      RandomLetters(rng, 3) + "-" + RandomLetters(rng, 4) + "-" + RandomLetters(rng, 3);
  const std::string area = "2" + RandomDigits(rng, 2);
  const std::string line = RandomDigits(rng, 3) + "-" + RandomDigits(rng, 4);
  const std::string phone_pin = RandomDigits(rng, 9);
  const std::string more_pin = RandomDigits(rng, 13);
  return {
      {"createRequest",
       {{"requestId", request_id},
        {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}},
        {"status", {{"statusCode", "success"}}}}},
      {"entryPoints", json::array({{{"entryPointType", "video"},
                                    {"uri", "https://meet.google.com/" + code},
                                    {"label", "meet.google.com/" + code}},
                                   {{"entryPointType", "more"},
                                    {"uri", "https://tel.meet/" + code + "?pin=" + more_pin},
                                    {"pin", more_pin}},
                                   {{"entryPointType", "phone"},
                                    {"uri", "tel:+1-" + area + "-" + line},
                                    {"label", "+1 " + area + "-" + line},
                                    {"pin", phone_pin},
                                    {"regionCode", "US"}}})},
      {"conferenceSolution",
       {{"key", {{"type", "hangoutsMeet"}}},
        {"name", "Google Meet"},
        {"iconUri",
         "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
         "logo_meet_2020q4_color_2x_web_512dp.png"}}},
      {"conferenceId", code},
  };
}

namespace {
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}  // namespace

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : data) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    auto pos = kBase64Url.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | uint32_t(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace telemeet::emulator
