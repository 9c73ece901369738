// CalendarService::State: the stored model's core and the single-event handlers
// (calendars.get, events.insert/get/update/patch/delete).
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

Response CalendarService::State::Run(Request& req, Access access, std::string_view method,
                                     ApiHandler fn) {
  auto who = Authenticate(auth, req, access, method);
  if (!who) return who.error();
  Outbox out;
  Response response;
  std::function<void(PushMessage)> send;
  {
    std::lock_guard lock(mu);
    response = (this->*fn)(req, *who, out);
    if (!out.empty()) send = push;
  }
  if (send) {
    for (PushMessage& m : out) send(std::move(m));
  }
  return response;
}

Response CalendarService::State::RunControl(Request& req, ControlHandler fn) {
  Outbox out;  // a change made by control (an owner's event) is pushed like any other
  Response response;
  std::function<void(PushMessage)> send;
  {
    std::lock_guard lock(mu);
    response = (this->*fn)(req, out);
    if (!out.empty()) send = push;
  }
  if (send) {
    for (PushMessage& m : out) send(std::move(m));
  }
  return response;
}

CalendarService::State::Calendar& CalendarService::State::CalendarFor(std::string_view id) {
  auto it = calendars.find(id);
  if (it != calendars.end()) return it->second;
  Calendar& cal = calendars[std::string(id)];
  cal.id = std::string(id);
  cal.summary = cal.id;
  cal.updated = clock.Now();
  cal.etag = NextEtag();
  return cal;
}

const CalendarService::State::Calendar* CalendarService::State::FindCalendar(
    std::string_view id) const {
  auto it = calendars.find(id);
  return it == calendars.end() ? nullptr : &it->second;
}

Api<CalendarService::State::Calendar*> CalendarService::State::OwnCalendar(const Principal& who,
                                                                           const std::string& id) {
  if (id != "primary" && id != who.email) {
    return Reject(404, {.reason = "notFound", .message = "Not Found"});
  }
  return &CalendarFor(who.email);
}

uint64_t CalendarService::State::NextEtag() {
  auto now_us = uint64_t(clock.Now().time_since_epoch().count());
  last_etag = std::max(last_etag + 1, now_us);
  return last_etag;
}

void CalendarService::State::Touch(Calendar& cal, Event& ev, Outbox& out) {
  ev.updated = clock.Now();
  ev.etag = NextEtag();
  ev.change = ++change;
  cal.updated = ev.updated;
  cal.etag = ev.etag;
  Notify(cal, out);
}

PushMessage CalendarService::State::Message(const Channel& ch, std::string_view state,
                                            int64_t number) const {
  PushMessage m;
  m.address = ch.address;
  m.headers.Set("User-Agent",
                "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)");
  m.headers.Set("X-Goog-Channel-ID", ch.id);
  m.headers.Set("X-Goog-Channel-Expiration", FormatRfc1123(ch.expiration));
  if (!ch.token.empty()) m.headers.Set("X-Goog-Channel-Token", ch.token);
  m.headers.Set("X-Goog-Message-Number", std::to_string(number));
  m.headers.Set("X-Goog-Resource-ID", ch.resource_id);
  m.headers.Set("X-Goog-Resource-URI", ch.resource_uri);
  m.headers.Set("X-Goog-Resource-State", state);
  return m;
}

void CalendarService::State::Notify(Calendar& cal, Outbox& out) {
  const Instant now = clock.Now();
  for (auto it = channels.begin(); it != channels.end();) {
    Channel& ch = it->second;
    if (ch.expiration <= now) {
      it = channels.erase(it);
      continue;
    }
    if (ch.calendar_id == cal.id) out.push_back(Message(ch, "exists", ++ch.message_number));
    ++it;
  }
}

namespace {

// The event's start.timeZone, or empty.
std::string StartZone(const json& body) {
  auto start = body.find("start");
  if (start == body.end() || !start->is_object()) return {};
  auto zone = start->find("timeZone");
  return zone != start->end() && zone->is_string() ? zone->get<std::string>() : std::string();
}

}  // namespace

std::vector<Instant> CalendarService::State::Starts(const Event& ev,
                                                    std::optional<Instant> horizon) const {
  if (!ev.recurring()) return {ev.times.start};
  auto lines = ev.body["recurrence"].get<std::vector<std::string>>();
  auto r =
      ExpandRecurrence(lines, ev.times.start, ev.times.offset_seconds,
                       {.max_instances = kMaxInstances, .horizon = horizon}, StartZone(ev.body));
  return r ? *r : std::vector<Instant>{};
}

std::string CalendarService::State::InstanceId(const Event& ev, Instant start) const {
  return ev.id + "_" + (ev.times.all_day ? FormatBasicDate(start) : FormatBasicUtc(start));
}

json CalendarService::State::RenderCancelled(const Event& ev, const std::string& id) const {
  return {
      {"kind", "calendar#event"}, {"etag", Quote(ev.etag)}, {"id", id}, {"status", "cancelled"}};
}

json CalendarService::State::Render(const Calendar& cal, const Event& ev,
                                    std::optional<int> max_attendees) const {
  return RenderBody(cal, ev, ev.body, max_attendees);
}

json CalendarService::State::RenderBody(const Calendar& cal, const Event& ev, const json& body,
                                        std::optional<int> max_attendees) const {
  json out = body;
  out["kind"] = "calendar#event";
  out["etag"] = Quote(ev.etag);
  out["id"] = ev.id;
  if (!out.contains("status")) out["status"] = "confirmed";
  out["htmlLink"] =
      "https://www.google.com/calendar/event?eid=" + Base64UrlEncode(ev.id + " " + cal.id);
  out["created"] = FormatRfc3339Millis(ev.created);
  out["updated"] = FormatRfc3339Millis(ev.updated);
  out["creator"] = {{"email", cal.id}, {"self", true}};
  out["organizer"] = {{"email", cal.id}, {"self", true}};
  out["iCalUID"] = ev.id + "@google.com";
  out["sequence"] = ev.sequence;
  if (!out.contains("reminders")) out["reminders"] = {{"useDefault", true}};
  if (!out.contains("eventType")) out["eventType"] = "default";
  if (out.contains("attendees")) {
    json& attendees = out["attendees"];
    for (json& a : attendees) {
      if (!a.contains("responseStatus")) a["responseStatus"] = "needsAction";
      if (a["email"] == cal.id) {
        a["organizer"] = true;
        a["self"] = true;
      }
    }
    if (max_attendees && attendees.size() > size_t(*max_attendees)) {
      attendees.erase(attendees.begin() + *max_attendees, attendees.end());
      out["attendeesOmitted"] = true;
    }
  }
  if (out.contains("conferenceData")) {
    json& conf = out["conferenceData"];
    if (ev.conference_reads_left > 0) {
      json pending = conf["createRequest"];
      pending["status"] = {{"statusCode", "pending"}};
      conf = {{"createRequest", pending}};
    } else {
      bool failed = conf.contains("createRequest") &&
                    conf["createRequest"]["status"]["statusCode"] != "success";
      bool meet = conf.contains("conferenceSolution") &&
                  conf["conferenceSolution"]["key"].value("type", "") == "hangoutsMeet";
      if (!failed && meet && conf.contains("entryPoints")) {
        for (const json& e : conf["entryPoints"]) {
          if (e.value("entryPointType", "") == "video" && e.contains("uri")) {
            out["hangoutLink"] = e["uri"];
          }
        }
      }
    }
  }
  return out;
}

json CalendarService::State::InstanceBody(const Event& ev, Instant start) const {
  json body = ev.body;
  body.erase("recurrence");
  const Instant end = start + (ev.times.end - ev.times.start);
  auto when = [&](Instant t, const char* key) {
    json w = json::object();
    if (ev.times.all_day) {
      w["date"] = FormatDate(t);
    } else {
      // The offset in force at the instance in the event's zone (summer or winter time).
      w["dateTime"] =
          FormatRfc3339(t, OffsetSecondsAt(t, StartZone(ev.body), ev.times.offset_seconds));
    }
    if (ev.body[key].contains("timeZone")) w["timeZone"] = ev.body[key]["timeZone"];
    return w;
  };
  body["start"] = when(start, "start");
  body["end"] = when(end, "end");
  return body;
}

EventTimes CalendarService::State::InstanceTimes(const Event& ev, Instant start) const {
  if (auto it = ev.exceptions.find(start); it != ev.exceptions.end()) return it->second.times;
  EventTimes t = ev.times;
  t.end = start + (ev.times.end - ev.times.start);
  t.start = start;
  return t;
}

bool CalendarService::State::InstanceCancelled(const Event& ev, Instant start) const {
  auto it = ev.exceptions.find(start);
  return ev.cancelled() || (it != ev.exceptions.end() && it->second.cancelled());
}

json CalendarService::State::RenderInstance(const Calendar& cal, const Event& ev, Instant start,
                                            std::optional<int> max_attendees) const {
  auto it = ev.exceptions.find(start);
  json out =
      RenderBody(cal, ev, it != ev.exceptions.end() ? it->second.body : InstanceBody(ev, start),
                 max_attendees);
  out["id"] = InstanceId(ev, start);
  out["recurringEventId"] = ev.id;
  out["originalStartTime"] = InstanceBody(ev, start)["start"];
  if (ev.cancelled()) out["status"] = "cancelled";
  return out;
}

std::optional<std::pair<CalendarService::State::Event*, Instant>>
CalendarService::State::FindInstance(Calendar& cal, const std::string& id) {
  auto underscore = id.rfind('_');
  if (underscore == std::string::npos) return std::nullopt;
  auto master = cal.events.find(id.substr(0, underscore));
  if (master == cal.events.end() || !master->second.recurring()) return std::nullopt;
  Event& ev = master->second;
  for (Instant s : Starts(ev, std::nullopt)) {
    if (InstanceId(ev, s) == id) return std::pair{&ev, s};
  }
  return std::nullopt;
}

void CalendarService::State::CountRead(Calendar& cal, Event& ev, Outbox& out) {
  if (ev.conference_reads_left <= 0) return;
  if (--ev.conference_reads_left == 0) Touch(cal, ev, out);
}

Api<CalendarService::State::ConferenceOutcome> CalendarService::State::ResolveConference(
    const Calendar& cal, const Event* existing, const json& requested, bool patch) {
  ConferenceOutcome kept;
  if (existing && existing->body.contains("conferenceData")) {
    kept = {existing->body["conferenceData"], existing->conference_reads_left};
  }
  if (requested.is_null()) return ConferenceOutcome{};
  if (!requested.is_object()) return InvalidField("conferenceData");
  auto refused = [] {
    return Reject(400, {.reason = "invalid", .message = "Invalid conference type value."});
  };
  if (requested.contains("createRequest") && !requested["createRequest"].is_null()) {
    const json& create = requested["createRequest"];
    if (!create.is_object()) return InvalidField("conferenceData.createRequest");
    if (!create.contains("requestId") || !create["requestId"].is_string() ||
        create["requestId"].get<std::string>().empty()) {
      return Reject(400, {.reason = "required", .message = "Missing conference request id."});
    }
    const std::string request_id = create["requestId"];
    // A requestId the event already used is ignored (google-protocol.md §5, §7).
    if (!kept.data.is_null() && kept.data.contains("createRequest") &&
        kept.data["createRequest"].value("requestId", "") == request_id) {
      return kept;
    }
    std::string type;
    if (create.contains("conferenceSolutionKey") && create["conferenceSolutionKey"].is_object() &&
        create["conferenceSolutionKey"].contains("type") &&
        create["conferenceSolutionKey"]["type"].is_string()) {
      type = create["conferenceSolutionKey"]["type"];
    }
    if (type != "hangoutsMeet" || cal.conference.mode == ConferenceMode::kRefuse) return refused();
    ConferenceOutcome made;
    if (cal.conference.mode == ConferenceMode::kFailure) {
      made.data = {{"createRequest",
                    {{"requestId", request_id},
                     {"conferenceSolutionKey", {{"type", type}}},
                     {"status", {{"statusCode", "failure"}}}}}};
      return made;
    }
    made.data = MeetConference(request_id, rng);
    made.new_meeting_code = made.data["conferenceId"];
    if (cal.conference.mode == ConferenceMode::kPending) {
      made.reads_left = std::max(0, cal.conference.pending_reads);
    }
    return made;
  }
  // Conference data given as such (copied from another event, or edited by a patch).
  json data = patch && !kept.data.is_null() ? kept.data : json::object();
  MergePatch(data, requested);
  json clean = json::object();
  for (const char* key : {"createRequest", "conferenceSolution", "conferenceId", "entryPoints",
                          "notes", "signature", "parameters"}) {
    if (data.contains(key) && !data[key].is_null()) clean[key] = data[key];
  }
  if (clean.empty()) return ConferenceOutcome{};
  if (clean.contains("conferenceSolution")) {
    const json& s = clean["conferenceSolution"];
    if (!s.is_object() || !s.contains("key") || !s["key"].is_object() ||
        !s["key"].contains("type") || s["key"]["type"] != "hangoutsMeet" ||
        cal.conference.mode == ConferenceMode::kRefuse) {
      return refused();
    }
  }
  if (clean.contains("entryPoints")) {
    if (!clean["entryPoints"].is_array()) return InvalidField("conferenceData.entryPoints");
    int videos = 0;
    for (const json& e : clean["entryPoints"]) {
      if (!e.is_object() || !e.contains("entryPointType") || !e["entryPointType"].is_string()) {
        return InvalidField("conferenceData.entryPoints");
      }
      const std::string type = e["entryPointType"];
      if (type == "video") ++videos;
      if (!e.contains("uri")) continue;
      if (!e["uri"].is_string()) return InvalidField("conferenceData.entryPoints.uri");
      const std::string uri = e["uri"];
      // At most 1300 characters; video entry points are https:, phone ones tel: (§5).
      if (uri.size() > 1300 || (type == "video" && !uri.starts_with("https:")) ||
          (type == "phone" && !uri.starts_with("tel:"))) {
        return InvalidField("conferenceData.entryPoints.uri");
      }
    }
    if (videos > 1) return InvalidField("conferenceData.entryPoints");
  }
  if (clean.contains("notes") &&
      (!clean["notes"].is_string() || clean["notes"].get<std::string>().size() > 2048)) {
    return InvalidField("conferenceData.notes");
  }
  bool same_request = !kept.data.is_null() && clean.contains("createRequest") &&
                      kept.data.contains("createRequest") &&
                      clean["createRequest"] == kept.data["createRequest"];
  return ConferenceOutcome{clean, same_request ? kept.reads_left : 0};
}

Response CalendarService::State::GetCalendar(Request& req, const Principal& who, Outbox&) {
  auto cal = OwnCalendar(who, req.Param("calendarId"));
  if (!cal) return ToResponse(cal.error());
  Calendar& c = **cal;
  json types = json::array();
  if (c.conference.mode != ConferenceMode::kRefuse) types.push_back("hangoutsMeet");
  return net::JsonResponse(200,
                           {{"kind", "calendar#calendar"},
                            {"etag", Quote(c.etag)},
                            {"id", c.id},
                            {"summary", c.summary},
                            {"timeZone", c.time_zone},
                            {"conferenceProperties", {{"allowedConferenceSolutionTypes", types}}}});
}

namespace {

bool EtagMatches(const std::optional<std::string>& header, uint64_t etag) {
  if (!header) return true;
  const std::string current = Quote(etag);
  for (auto part : Split(*header, ',')) {
    std::string_view p = Trim(part);
    if (p == "*" || p == current) return true;
  }
  return false;
}

Response PreconditionFailed() {
  return ApiError(412, {.reason = "conditionNotMet",
                        .message = "Precondition Failed",
                        .location_type = "header",
                        .location = "If-Match"});
}

Response NotFound() { return ApiError(404, {.reason = "notFound", .message = "Not Found"}); }

bool SignificantChange(const json& before, const json& after) {
  for (const char* key : {"start", "end", "recurrence", "location", "status"}) {
    if (before.value(key, json()) != after.value(key, json())) return true;
  }
  return false;
}

}  // namespace

Response CalendarService::State::InsertEvent(Request& req, const Principal& who, Outbox& out) {
  auto cal = OwnCalendar(who, req.Param("calendarId"));
  if (!cal) return ToResponse(cal.error());
  Calendar& c = **cal;
  auto params = ParseParams(req);
  if (!params) return ToResponse(params.error());
  auto write = ParseWriteParams(*params);
  if (!write) return ToResponse(write.error());
  auto body = ParseBody(req);
  if (!body) return ToResponse(body.error());

  std::string id;
  if (body->contains("id") && !(*body)["id"].is_null()) {
    const json& given = (*body)["id"];
    if (!given.is_string() || !ValidEventId(given.get<std::string>())) {
      return ApiError(400, {.reason = "invalid", .message = "Invalid resource id value."});
    }
    id = given;
    if (c.events.contains(id)) {
      return ApiError(
          409, {.reason = "duplicate", .message = "The requested identifier already exists."});
    }
  } else {
    do {
      id = NewEventId(rng);
    } while (c.events.contains(id));
  }
  if (!write->supports_attachments) body->erase("attachments");
  auto normalized = NormalizeEvent(*body);
  if (!normalized) return ToResponse(normalized.error());
  auto times = ParseEventTimes(*normalized);
  if (!times) return ToResponse(times.error());
  ConferenceOutcome conference;
  if (write->conference_data_version == 1 && body->contains("conferenceData")) {
    auto resolved = ResolveConference(c, nullptr, (*body)["conferenceData"], false);
    if (!resolved) return ToResponse(resolved.error());
    conference = std::move(*resolved);
  }
  if (!conference.data.is_null()) (*normalized)["conferenceData"] = conference.data;

  Event ev;
  ev.id = id;
  ev.body = std::move(*normalized);
  ev.created = clock.Now();
  ev.order = next_order++;
  ev.times = *times;
  ev.conference_reads_left = conference.reads_left;
  Event& stored = c.events.emplace(id, std::move(ev)).first->second;
  c.order.push_back(id);
  Touch(c, stored, out);
  if (!conference.new_meeting_code.empty() && meet_sink) {
    meet_sink(c.id, conference.new_meeting_code);
  }
  return net::JsonResponse(200, Render(c, stored, write->max_attendees));
}

Response CalendarService::State::GetEvent(Request& req, const Principal& who, Outbox& out) {
  auto cal = OwnCalendar(who, req.Param("calendarId"));
  if (!cal) return ToResponse(cal.error());
  Calendar& c = **cal;
  auto params = ParseParams(req);
  if (!params) return ToResponse(params.error());
  auto max = params->Int("maxAttendees", 1, 1'000'000);
  if (!max) return ToResponse(max.error());
  std::optional<int> max_attendees;
  if (*max) max_attendees = int(**max);

  const std::string& id = req.Param("eventId");
  auto it = c.events.find(id);
  if (it == c.events.end()) {
    // An occurrence of a recurring event: "<id>_<start>".
    auto instance = FindInstance(c, id);
    if (!instance) return NotFound();
    auto [master, start] = *instance;
    Response r = net::JsonResponse(200, RenderInstance(c, *master, start, max_attendees));
    CountRead(c, *master, out);
    return r;
  }
  Event& ev = it->second;
  // get returns cancelled events too (google-protocol.md §5).
  if (auto none_match = req.Header("If-None-Match");
      none_match && EtagMatches(none_match, ev.etag) && Trim(*none_match) != "*") {
    Response r = Response::Empty(304);
    r.headers.Set("ETag", Quote(ev.etag));
    return r;
  }
  Response r = net::JsonResponse(200, Render(c, ev, max_attendees));
  CountRead(c, ev, out);
  return r;
}

Response CalendarService::State::UpdateEvent(Request& req, const Principal& who, Outbox& out) {
  return WriteEvent(req, who, out, false);
}

Response CalendarService::State::PatchEvent(Request& req, const Principal& who, Outbox& out) {
  return WriteEvent(req, who, out, true);
}

Response CalendarService::State::WriteEvent(Request& req, const Principal& who, Outbox& out,
                                            bool patch) {
  auto cal = OwnCalendar(who, req.Param("calendarId"));
  if (!cal) return ToResponse(cal.error());
  Calendar& c = **cal;
  auto params = ParseParams(req);
  if (!params) return ToResponse(params.error());
  auto write = ParseWriteParams(*params);
  if (!write) return ToResponse(write.error());
  auto it = c.events.find(req.Param("eventId"));
  if (it == c.events.end()) {
    auto instance = FindInstance(c, req.Param("eventId"));
    if (!instance) return NotFound();
    return WriteInstance(req, out, c, *instance->first, instance->second, *write, patch);
  }
  Event& ev = it->second;
  if (!EtagMatches(req.Header("If-Match"), ev.etag)) return PreconditionFailed();
  auto body = ParseBody(req);
  if (!body) return ToResponse(body.error());

  json requested_conference = body->value("conferenceData", json());
  const bool conference_given = body->contains("conferenceData");
  body->erase("conferenceData");
  // Without supportsAttachments=true the event keeps the attachments it has.
  if (!write->supports_attachments) {
    body->erase("attachments");
    if (!patch && ev.body.contains("attachments")) (*body)["attachments"] = ev.body["attachments"];
  }
  json merged;
  if (patch) {
    merged = ev.body;
    merged.erase("conferenceData");
    MergePatch(merged, *body);
  } else {
    merged = std::move(*body);
  }
  auto normalized = NormalizeEvent(merged);
  if (!normalized) return ToResponse(normalized.error());
  auto times = ParseEventTimes(*normalized);
  if (!times) return ToResponse(times.error());

  // Conference changes persist only with conferenceDataVersion=1 (google-protocol.md §6).
  ConferenceOutcome conference;
  if (ev.body.contains("conferenceData")) {
    conference = {ev.body["conferenceData"], ev.conference_reads_left};
  }
  if (write->conference_data_version == 1 && (conference_given || !patch)) {
    auto resolved = ResolveConference(c, &ev, requested_conference, patch);
    if (!resolved) return ToResponse(resolved.error());
    conference = std::move(*resolved);
  }
  if (!conference.data.is_null()) (*normalized)["conferenceData"] = conference.data;

  if (SignificantChange(ev.body, *normalized)) ++ev.sequence;
  // Changed occurrences are keyed by their original start: a new series timing drops them.
  for (const char* key : {"start", "end", "recurrence"}) {
    if (ev.body.value(key, json()) != normalized->value(key, json())) ev.exceptions.clear();
  }
  ev.body = std::move(*normalized);
  ev.times = *times;
  ev.conference_reads_left = conference.reads_left;
  Touch(c, ev, out);
  if (!conference.new_meeting_code.empty() && meet_sink) {
    meet_sink(c.id, conference.new_meeting_code);
  }
  return net::JsonResponse(200, Render(c, ev, write->max_attendees));
}

Response CalendarService::State::DeleteEvent(Request& req, const Principal& who, Outbox& out) {
  auto cal = OwnCalendar(who, req.Param("calendarId"));
  if (!cal) return ToResponse(cal.error());
  Calendar& c = **cal;
  auto params = ParseParams(req);
  if (!params) return ToResponse(params.error());
  if (auto s = params->Enum("sendUpdates", {"all", "externalOnly", "none"}); !s) {
    return ToResponse(s.error());
  }
  if (auto b = params->Bool("sendNotifications"); !b) return ToResponse(b.error());
  auto it = c.events.find(req.Param("eventId"));
  if (it == c.events.end()) {
    // Deleting one occurrence of a recurring event cancels just that occurrence.
    auto instance = FindInstance(c, req.Param("eventId"));
    if (!instance) return NotFound();
    auto [master, start] = *instance;
    if (InstanceCancelled(*master, start)) {
      return ApiError(410, {.reason = "deleted", .message = "Resource has been deleted"});
    }
    if (!EtagMatches(req.Header("If-Match"), master->etag)) return PreconditionFailed();
    Event::Exception& ex = master->exceptions[start];
    if (ex.body.is_null()) ex = {InstanceBody(*master, start), InstanceTimes(*master, start)};
    ex.body["status"] = "cancelled";
    Touch(c, *master, out);
    return Response::Empty(204);
  }
  Event& ev = it->second;
  if (ev.cancelled()) {
    return ApiError(410, {.reason = "deleted", .message = "Resource has been deleted"});
  }
  if (!EtagMatches(req.Header("If-Match"), ev.etag)) return PreconditionFailed();
  ev.body["status"] = "cancelled";
  ++ev.sequence;
  Touch(c, ev, out);
  return Response::Empty(204);
}

Response CalendarService::State::WriteInstance(Request& req, Outbox& out, Calendar& cal, Event& ev,
                                               Instant start, const WriteParams& write,
                                               bool patch) {
  if (!EtagMatches(req.Header("If-Match"), ev.etag)) return PreconditionFailed();
  auto body = ParseBody(req);
  if (!body) return ToResponse(body.error());
  // An occurrence keeps the series' conference and cannot carry its own recurrence.
  body->erase("conferenceData");
  body->erase("recurrence");
  json merged;
  if (patch) {
    auto ex = ev.exceptions.find(start);
    merged = ex != ev.exceptions.end() ? ex->second.body : InstanceBody(ev, start);
    MergePatch(merged, *body);
  } else {
    merged = std::move(*body);
  }
  auto normalized = NormalizeEvent(merged);
  if (!normalized) return ToResponse(normalized.error());
  normalized->erase("recurrence");
  auto times = ParseEventTimes(*normalized);
  if (!times) return ToResponse(times.error());
  if (ev.body.contains("conferenceData"))
    (*normalized)["conferenceData"] = ev.body["conferenceData"];
  ev.exceptions[start] = {std::move(*normalized), *times};
  Touch(cal, ev, out);
  return net::JsonResponse(200, RenderInstance(cal, ev, start, write.max_attendees));
}

json CalendarService::State::StateJson(std::string_view calendar_id) const {
  const Calendar* c = FindCalendar(calendar_id);
  if (!c) return json();
  json events = json::array();
  std::vector<const Event*> ordered;
  for (const auto& id : c->order) ordered.push_back(&c->events.at(id));
  for (const Event* ev : ordered) {
    json e = Render(*c, *ev, std::nullopt);
    if (ev->body.contains("conferenceData")) e["conferenceData"] = ev->body["conferenceData"];
    e["_pendingReads"] = ev->conference_reads_left;
    if (ev->recurring()) {
      // A series' first instances as events.instances shows them (moved, cancelled or not).
      json instances = json::array();
      for (Instant start : Starts(*ev, std::nullopt)) {
        if (instances.size() == 100) break;
        json i = RenderInstance(*c, *ev, start, std::nullopt);
        if (InstanceCancelled(*ev, start)) i["status"] = "cancelled";
        instances.push_back(std::move(i));
      }
      e["_instances"] = std::move(instances);
    }
    events.push_back(std::move(e));
  }
  json chans = json::array();
  for (const auto& [key, ch] : channels) {
    if (ch.calendar_id != c->id) continue;
    chans.push_back({{"id", ch.id},
                     {"resourceId", ch.resource_id},
                     {"address", ch.address},
                     {"expiration", std::to_string(ToUnixMillis(ch.expiration))},
                     {"messageNumber", ch.message_number}});
  }
  return {{"id", c->id},
          {"summary", c->summary},
          {"timeZone", c->time_zone},
          {"conference",
           {{"mode", ConferenceModeName(c->conference.mode)},
            {"pendingReads", c->conference.pending_reads}}},
          {"syncEpoch", c->sync_epoch},
          {"events", events},
          {"channels", chans}};
}

}  // namespace telemeet::emulator
