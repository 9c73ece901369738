// CalendarService::State: events.list (filters, paging, sync tokens, recurring expansion) and
// freeBusy.query.
#include <algorithm>

#include "base/strings.h"
#include "emulator/calendar/event_time.h"
#include "emulator/calendar/service_internal.h"
#include "net/json.h"

namespace telemeet::emulator {

using namespace calendar_internal;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {

// Opaque tokens: base64url of "kind|generation|a|b|sync_base|calendar". Tokens from before a
// Reset() (another generation) or of another calendar are refused.
struct Token {
  char kind = 0;  // 's' sync, 'p' page of events.list, 'i' page of events.instances
  uint64_t generation = 0;
  uint64_t a = 0;          // sync: epoch; page: offset
  uint64_t b = 0;          // the change number the listing started from
  int64_t sync_base = -1;  // page tokens of an incremental listing: its base change number
  std::string calendar;
};

std::string Encode(const Token& t) {
  return Base64UrlEncode(std::string(1, t.kind) + "|" + std::to_string(t.generation) + "|" +
                         std::to_string(t.a) + "|" + std::to_string(t.b) + "|" +
                         std::to_string(t.sync_base) + "|" + t.calendar);
}

std::optional<Token> Decode(std::string_view text, char kind) {
  auto raw = Base64UrlDecode(text);
  if (!raw || raw->size() < 2 || (*raw)[0] != kind || (*raw)[1] != '|') return std::nullopt;
  auto parts = Split(std::string_view(*raw).substr(2), '|');
  if (parts.size() < 5) return std::nullopt;
  Token t;
  t.kind = kind;
  try {
    t.generation = std::stoull(std::string(parts[0]));
    t.a = std::stoull(std::string(parts[1]));
    t.b = std::stoull(std::string(parts[2]));
    t.sync_base = std::stoll(std::string(parts[3]));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string_view rest(*raw);
  for (int i = 0; i < 5; ++i) rest.remove_prefix(rest.find('|') + 1);
  t.calendar = std::string(rest);
  return t;
}

std::unexpected<Failure> BadTime(std::string_view name) {
  return Reject(400, {.reason = "badRequest",
                      .message = "Bad Request",
                      .location_type = "parameter",
                      .location = std::string(name)});
}

Api<std::optional<Instant>> TimeParam(const Params& p, std::string_view name) {
  auto v = p.Get(name);
  if (!v) return std::optional<Instant>();
  auto t = ParseRfc3339(*v);
  if (!t) return BadTime(name);
  return std::optional<Instant>(t->instant);
}

std::unexpected<Failure> TimeRangeEmpty() {
  return Reject(400, {.domain = "calendar",
                      .reason = "timeRangeEmpty",
                      .message = "The specified time range is empty.",
                      .location_type = "parameter",
                      .location = "timeMax"});
}

struct PropertyFilter {
  std::string scope;  // "private" / "shared"
  std::string name;
  std::string value;
};

struct Query {
  std::optional<Token> sync;  // incremental listing from this token
  uint64_t offset = 0;
  uint64_t snapshot = 0;
  bool has_snapshot = false;
  int64_t max_results = 250;
  bool show_deleted = false;
  bool single_events = false;
  std::string order_by;
  std::optional<Instant> time_min, time_max, updated_min;
  std::vector<std::string> terms;
  std::optional<std::string> ical_uid;
  std::vector<std::string> event_types;
  std::vector<PropertyFilter> properties;
  std::optional<int> max_attendees;
};

std::string Lower(std::string_view s) { return ToLower(s); }

bool MatchesTerms(const json& body, const std::vector<std::string>& terms) {
  if (terms.empty()) return true;
  std::string text;
  for (const char* key : {"summary", "description", "location"}) {
    if (body.contains(key)) text += Lower(body[key].get<std::string>()) + "\n";
  }
  if (body.contains("attendees")) {
    for (const json& a : body["attendees"]) {
      text += Lower(a.value("email", "")) + " " + Lower(a.value("displayName", "")) + "\n";
    }
  }
  return std::all_of(terms.begin(), terms.end(),
                     [&](const std::string& t) { return text.find(t) != std::string::npos; });
}

bool MatchesProperties(const json& body, const std::vector<PropertyFilter>& filters) {
  for (const PropertyFilter& f : filters) {
    if (!body.contains("extendedProperties")) return false;
    const json& ep = body["extendedProperties"];
    if (!ep.contains(f.scope) || !ep[f.scope].contains(f.name) || ep[f.scope][f.name] != f.value) {
      return false;
    }
  }
  return true;
}

}  // namespace

Response CalendarService::State::ListEvents(Request& req, const Principal& who, Outbox& out) {
  auto cal = OwnCalendar(who, req.Param("calendarId"));
  if (!cal) return ToResponse(cal.error());
  Calendar& c = **cal;
  auto params = ParseParams(req);
  if (!params) return ToResponse(params.error());
  const Params& p = *params;

  Query q;
  auto max_results = p.Int("maxResults", 1, 1'000'000'000);
  if (!max_results) return ToResponse(max_results.error());
  q.max_results = std::min<int64_t>(max_results->value_or(250), 2500);
  auto max_attendees = p.Int("maxAttendees", 1, 1'000'000);
  if (!max_attendees) return ToResponse(max_attendees.error());
  if (*max_attendees) q.max_attendees = int(**max_attendees);
  auto show_deleted = p.Bool("showDeleted");
  if (!show_deleted) return ToResponse(show_deleted.error());
  auto single = p.Bool("singleEvents");
  if (!single) return ToResponse(single.error());
  q.single_events = single->value_or(false);
  if (auto b = p.Bool("showHiddenInvitations"); !b) return ToResponse(b.error());
  if (auto b = p.Bool("alwaysIncludeEmail"); !b) return ToResponse(b.error());
  auto order = p.Enum("orderBy", {"startTime", "updated"});
  if (!order) return ToResponse(order.error());
  q.order_by = order->value_or("");
  if (q.order_by == "startTime" && !q.single_events) {
    return ApiError(400, {.reason = "badRequest",
                          .message = "The requested ordering is not available for the particular "
                                     "query."});
  }
  for (auto [name, into] : {std::pair{"timeMin", &q.time_min}, std::pair{"timeMax", &q.time_max},
                            std::pair{"updatedMin", &q.updated_min}}) {
    auto t = TimeParam(p, name);
    if (!t) return ToResponse(t.error());
    *into = *t;
  }
  if (q.time_min && q.time_max && *q.time_min >= *q.time_max) {
    return ToResponse(TimeRangeEmpty().error());
  }
  if (auto text = p.Get("q")) {
    for (auto term : Split(*text, ' ')) {
      if (!Trim(term).empty()) q.terms.push_back(Lower(Trim(term)));
    }
  }
  q.ical_uid = p.Get("iCalUID");
  for (const std::string& types : p.All("eventTypes")) {
    for (auto t : Split(types, ',')) q.event_types.emplace_back(Trim(t));
  }
  for (auto [param, scope] : {std::pair{"privateExtendedProperty", "private"},
                              std::pair{"sharedExtendedProperty", "shared"}}) {
    for (const std::string& f : p.All(param)) {
      auto eq = f.find('=');
      if (eq == std::string::npos || eq == 0) {
        return ToResponse(InvalidParameter(param, "Invalid extended property filter: '" + f +
                                                      "'. Expected name=value.")
                              .error());
      }
      q.properties.push_back({scope, f.substr(0, eq), f.substr(eq + 1)});
    }
  }

  if (auto text = p.Get("syncToken")) {
    for (const char* forbidden : {"iCalUID", "orderBy", "privateExtendedProperty", "q",
                                  "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin"}) {
      if (p.Get(forbidden)) {
        return ApiError(400, {.reason = "invalid",
                              .message = std::string("The syncToken parameter cannot be used "
                                                     "together with ") +
                                         forbidden + ".",
                              .location_type = "parameter",
                              .location = forbidden});
      }
    }
    if (*show_deleted == false) {
      return ApiError(400, {.reason = "invalid",
                            .message = "The syncToken parameter cannot be used with "
                                       "showDeleted=false; deletions are always included.",
                            .location_type = "parameter",
                            .location = "showDeleted"});
    }
    q.sync = Decode(*text, 's');
    if (!q.sync) {
      return ApiError(400, {.reason = "invalid",
                            .message = "Invalid sync token value.",
                            .location_type = "parameter",
                            .location = "syncToken"});
    }
    if (q.sync->generation != generation || q.sync->calendar != c.id || q.sync->a != c.sync_epoch) {
      return ApiError(410, {.domain = "calendar",
                            .reason = "fullSyncRequired",
                            .message = "Sync token is no longer valid, a full sync is required.",
                            .location_type = "parameter",
                            .location = "syncToken"});
    }
  }
  if (auto text = p.Get("pageToken")) {
    auto page = Decode(*text, 'p');
    if (!page || page->generation != generation || page->calendar != c.id) {
      return ApiError(400, {.reason = "invalid",
                            .message = "Invalid page token value.",
                            .location_type = "parameter",
                            .location = "pageToken"});
    }
    q.offset = page->a;
    q.snapshot = page->b;
    q.has_snapshot = true;
    if (page->sync_base >= 0 && !q.sync) {
      q.sync = Token{'s', generation, c.sync_epoch, uint64_t(page->sync_base), -1, c.id};
    }
  }
  if (!q.has_snapshot) q.snapshot = change;
  // Cancelled events appear with showDeleted, updatedMin or in an incremental listing.
  q.show_deleted = show_deleted->value_or(false) || q.updated_min || q.sync;

  struct Row {
    Event* ev;
    std::optional<Instant> instance;  // set for an expanded occurrence
    Instant start;
  };
  std::vector<Row> rows;
  for (const std::string& id : c.order) {
    Event& ev = c.events.at(id);
    if (q.sync && ev.change <= q.sync->b) continue;
    if (ev.cancelled() && !q.show_deleted) continue;
    if (q.updated_min && ev.updated < *q.updated_min) continue;
    if (q.ical_uid && *q.ical_uid != ev.id + "@google.com") continue;
    if (!q.event_types.empty() &&
        std::find(q.event_types.begin(), q.event_types.end(),
                  ev.body.value("eventType", "default")) == q.event_types.end()) {
      continue;
    }
    if (!MatchesTerms(ev.body, q.terms) || !MatchesProperties(ev.body, q.properties)) continue;
    auto overlaps = [&](const EventTimes& t) {
      return (!q.time_min || t.end > *q.time_min) && (!q.time_max || t.start < *q.time_max);
    };
    if (!ev.recurring() || ev.cancelled()) {
      if (overlaps(ev.times)) rows.push_back({&ev, std::nullopt, ev.times.start});
      continue;
    }
    std::vector<Instant> starts = Starts(ev, q.time_max);
    // With singleEvents every occurrence is an item; without, the series is one item and
    // occurrences changed on their own are items of their own (as Google lists exceptions).
    bool series_listed = false;
    for (Instant s : starts) {
      const bool exception = ev.exceptions.contains(s);
      if (!q.single_events && !exception) {
        if (!series_listed && overlaps(InstanceTimes(ev, s))) {
          rows.push_back({&ev, std::nullopt, ev.times.start});
          series_listed = true;
        }
        continue;
      }
      if (InstanceCancelled(ev, s) && !q.show_deleted) continue;
      EventTimes t = InstanceTimes(ev, s);
      if (overlaps(t)) rows.push_back({&ev, s, t.start});
    }
  }
  if (q.order_by == "startTime") {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.start < b.start; });
  } else if (q.order_by == "updated") {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.ev->updated < b.ev->updated; });
  } else if (q.sync) {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.ev->change < b.ev->change; });
  }

  json items = json::array();
  std::vector<Event*> read;
  const size_t begin = std::min<size_t>(q.offset, rows.size());
  const size_t end = std::min<size_t>(begin + size_t(q.max_results), rows.size());
  for (size_t i = begin; i < end; ++i) {
    const Row& row = rows[i];
    if (row.instance ? InstanceCancelled(*row.ev, *row.instance) : row.ev->cancelled()) {
      items.push_back(
          RenderCancelled(*row.ev, row.instance ? InstanceId(*row.ev, *row.instance) : row.ev->id));
      continue;
    }
    items.push_back(row.instance ? RenderInstance(c, *row.ev, *row.instance, q.max_attendees)
                                 : Render(c, *row.ev, q.max_attendees));
    if (std::find(read.begin(), read.end(), row.ev) == read.end()) read.push_back(row.ev);
  }
  json body = {{"kind", "calendar#events"},
               {"etag", Quote(c.etag)},
               {"summary", c.summary},
               {"description", ""},
               {"updated", FormatRfc3339Millis(c.updated)},
               {"timeZone", c.time_zone},
               {"accessRole", "owner"},
               {"defaultReminders", json::array({{{"method", "popup"}, {"minutes", 10}}})},
               {"items", std::move(items)}};
  if (end < rows.size()) {
    body["nextPageToken"] =
        Encode({'p', generation, end, q.snapshot, q.sync ? int64_t(q.sync->b) : -1, c.id});
  } else {
    body["nextSyncToken"] = Encode({'s', generation, c.sync_epoch, q.snapshot, -1, c.id});
  }
  Response r = net::JsonResponse(200, body);
  for (Event* ev : read) CountRead(c, *ev, out);
  return r;
}

Response CalendarService::State::ListInstances(Request& req, const Principal& who, Outbox& out) {
  auto cal = OwnCalendar(who, req.Param("calendarId"));
  if (!cal) return ToResponse(cal.error());
  Calendar& c = **cal;
  auto params = ParseParams(req);
  if (!params) return ToResponse(params.error());
  const Params& p = *params;
  auto max_results = p.Int("maxResults", 1, 1'000'000'000);
  if (!max_results) return ToResponse(max_results.error());
  const size_t page_size = size_t(std::min<int64_t>(max_results->value_or(250), 2500));
  auto max_attendees = p.Int("maxAttendees", 1, 1'000'000);
  if (!max_attendees) return ToResponse(max_attendees.error());
  std::optional<int> attendees_cap;
  if (*max_attendees) attendees_cap = int(**max_attendees);
  auto show_deleted = p.Bool("showDeleted");
  if (!show_deleted) return ToResponse(show_deleted.error());
  std::optional<Instant> time_min, time_max;
  for (auto [name, into] : {std::pair{"timeMin", &time_min}, std::pair{"timeMax", &time_max}}) {
    auto t = TimeParam(p, name);
    if (!t) return ToResponse(t.error());
    *into = *t;
  }
  if (time_min && time_max && *time_min >= *time_max) return ToResponse(TimeRangeEmpty().error());
  size_t offset = 0;
  if (auto text = p.Get("pageToken")) {
    auto page = Decode(*text, 'i');
    if (!page || page->generation != generation || page->calendar != c.id) {
      return ApiError(400, {.reason = "invalid",
                            .message = "Invalid page token value.",
                            .location_type = "parameter",
                            .location = "pageToken"});
    }
    offset = page->a;
  }
  auto it = c.events.find(req.Param("eventId"));
  if (it == c.events.end()) {
    return ApiError(404, {.reason = "notFound", .message = "Not Found"});
  }
  Event& ev = it->second;
  if (ev.cancelled() && !show_deleted->value_or(false)) {
    return ApiError(410, {.reason = "deleted", .message = "Resource has been deleted"});
  }
  std::vector<Instant> starts;
  for (Instant s : Starts(ev, time_max)) {
    if (InstanceCancelled(ev, s) && !show_deleted->value_or(false)) continue;
    EventTimes t = InstanceTimes(ev, s);
    if ((time_min && t.end <= *time_min) || (time_max && t.start >= *time_max)) continue;
    starts.push_back(s);
  }
  json items = json::array();
  const size_t begin = std::min(offset, starts.size());
  const size_t end = std::min(begin + page_size, starts.size());
  for (size_t i = begin; i < end; ++i) {
    if (!ev.recurring()) {
      items.push_back(Render(c, ev, attendees_cap));
    } else if (InstanceCancelled(ev, starts[i])) {
      items.push_back(RenderCancelled(ev, InstanceId(ev, starts[i])));
    } else {
      items.push_back(RenderInstance(c, ev, starts[i], attendees_cap));
    }
  }
  json body = {{"kind", "calendar#events"},
               {"etag", Quote(ev.etag)},
               {"summary", c.summary},
               {"updated", FormatRfc3339Millis(ev.updated)},
               {"timeZone", c.time_zone},
               {"accessRole", "owner"},
               {"defaultReminders", json::array({{{"method", "popup"}, {"minutes", 10}}})},
               {"items", std::move(items)}};
  if (end < starts.size()) body["nextPageToken"] = Encode({'i', generation, end, 0, -1, c.id});
  Response r = net::JsonResponse(200, body);
  CountRead(c, ev, out);
  return r;
}

Response CalendarService::State::FreeBusy(Request& req, const Principal& who, Outbox&) {
  auto body = ParseBody(req);
  if (!body) return ToResponse(body.error());
  Instant range[2];
  const char* names[2] = {"timeMin", "timeMax"};
  for (int i = 0; i < 2; ++i) {
    if (!body->contains(names[i]) || (*body)[names[i]].is_null()) {
      return ApiError(400, {.reason = "required",
                            .message = std::string("Missing ") + names[i] + ".",
                            .location_type = "parameter",
                            .location = names[i]});
    }
    const json& v = (*body)[names[i]];
    auto t = v.is_string() ? ParseRfc3339(v.get<std::string>()) : std::nullopt;
    if (!t) return ToResponse(InvalidField(names[i]).error());
    range[i] = t->instant;
  }
  if (range[0] >= range[1]) return ToResponse(TimeRangeEmpty().error());
  for (auto [name, limit] :
       {std::pair{"calendarExpansionMax", 50}, std::pair{"groupExpansionMax", 100}}) {
    if (!body->contains(name)) continue;
    const json& v = (*body)[name];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > limit) {
      return ToResponse(InvalidField(name).error());
    }
  }
  if (body->contains("timeZone") && !(*body)["timeZone"].is_string()) {
    return ToResponse(InvalidField("timeZone").error());
  }
  json items = body->value("items", json::array());
  if (!items.is_array()) return ToResponse(InvalidField("items").error());

  json calendars_out = json::object();
  size_t index = 0;
  for (const json& item : items) {
    if (!item.is_object() || !item.contains("id") || !item["id"].is_string()) {
      return ToResponse(InvalidField("items.id").error());
    }
    const std::string requested = item["id"];
    const std::string id = requested == "primary" ? who.email : requested;
    json entry = {{"busy", json::array()}};
    if (index++ >= 50) {
      entry["errors"] =
          json::array({{{"domain", "global"}, {"reason", "tooManyCalendarsRequested"}}});
      calendars_out[requested] = entry;
      continue;
    }
    const Calendar* cal = id == who.email ? &CalendarFor(id) : FindCalendar(id);
    if (!cal) {
      entry["errors"] = json::array({{{"domain", "global"}, {"reason", "notFound"}}});
      calendars_out[requested] = entry;
      continue;
    }
    std::vector<std::pair<Instant, Instant>> busy;
    for (const auto& [eid, ev] : cal->events) {
      if (ev.cancelled() || ev.body.value("transparency", "opaque") == "transparent") continue;
      for (Instant original : Starts(ev, range[1])) {
        if (InstanceCancelled(ev, original)) continue;
        const EventTimes t = InstanceTimes(ev, original);
        const Instant s = t.start, e = t.end;
        if (s < range[1] && e > range[0]) {
          busy.emplace_back(std::max(s, range[0]), std::min(e, range[1]));
        }
      }
    }
    std::sort(busy.begin(), busy.end());
    json merged = json::array();
    for (size_t i = 0; i < busy.size();) {
      Instant s = busy[i].first, e = busy[i].second;
      size_t j = i + 1;
      while (j < busy.size() && busy[j].first <= e) e = std::max(e, busy[j++].second);
      merged.push_back({{"start", FormatRfc3339(s)}, {"end", FormatRfc3339(e)}});
      i = j;
    }
    entry["busy"] = std::move(merged);
    calendars_out[requested] = entry;
  }
  return net::JsonResponse(200, {{"kind", "calendar#freeBusy"},
                                 {"timeMin", FormatRfc3339Millis(range[0])},
                                 {"timeMax", FormatRfc3339Millis(range[1])},
                                 {"calendars", calendars_out}});
}

}  // namespace telemeet::emulator
