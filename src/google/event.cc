#include "google/event.h"

#include "google/json_util.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using namespace internal;

EventDateTime ParseDateTime(const json* t) {
  if (t == nullptr) return {};
  return EventDateTime{
      .date_time = Str(*t, "dateTime"), .time_zone = Str(*t, "timeZone"), .date = Str(*t, "date")};
}

ConferenceStatus StatusFromCode(const std::string& code) {
  if (code == "pending") return ConferenceStatus::kPending;
  if (code == "success") return ConferenceStatus::kSuccess;
  if (code == "failure") return ConferenceStatus::kFailure;
  return ConferenceStatus::kNone;
}

bool IsHttpsUrl(const std::string& s) { return s.rfind("https://", 0) == 0 && s.size() > 8; }

Conference ParseConference(const json& event) {
  Conference c;
  const json* data = Obj(event, "conferenceData");
  if (data == nullptr) return c;
  c.raw = *data;
  c.conference_id = Str(*data, "conferenceId");
  if (const json* solution = Obj(*data, "conferenceSolution")) {
    if (const json* key = Obj(*solution, "key")) c.solution_type = Str(*key, "type");
  }
  const json* entry_points = Arr(*data, "entryPoints");
  if (const json* create = Obj(*data, "createRequest")) {
    c.request_id = Str(*create, "requestId");
    if (c.solution_type.empty()) {
      if (const json* key = Obj(*create, "conferenceSolutionKey")) {
        c.solution_type = Str(*key, "type");
      }
    }
    if (const json* status = Obj(*create, "status")) {
      c.status = StatusFromCode(Str(*status, "statusCode"));
    }
  } else if (entry_points != nullptr && !entry_points->empty()) {
    // Conference data without a createRequest: an existing conference attached as is.
    c.status = ConferenceStatus::kSuccess;
  }
  if (c.status != ConferenceStatus::kSuccess) return c;
  if (entry_points != nullptr) {
    for (const json& ep : *entry_points) {
      if (Str(ep, "entryPointType") == "video" && IsHttpsUrl(Str(ep, "uri"))) {
        c.join_url = Str(ep, "uri");
        break;
      }
    }
  }
  if (c.join_url.empty() && IsHttpsUrl(Str(event, "hangoutLink"))) {
    c.join_url = Str(event, "hangoutLink");
  }
  return c;
}

}  // namespace

std::string_view SendUpdatesName(SendUpdates v) {
  switch (v) {
    case SendUpdates::kAll:
      return "all";
    case SendUpdates::kExternalOnly:
      return "externalOnly";
    case SendUpdates::kNone:
      return "none";
  }
  return "none";
}

std::string_view VisibilityName(Visibility v) {
  switch (v) {
    case Visibility::kDefault:
      return "default";
    case Visibility::kPublic:
      return "public";
    case Visibility::kPrivate:
      return "private";
    case Visibility::kConfidential:
      return "confidential";
  }
  return "default";
}

std::string_view ConferenceStatusName(ConferenceStatus s) {
  switch (s) {
    case ConferenceStatus::kNone:
      return "none";
    case ConferenceStatus::kPending:
      return "pending";
    case ConferenceStatus::kSuccess:
      return "success";
    case ConferenceStatus::kFailure:
      return "failure";
  }
  return "none";
}

bool ValidEventId(std::string_view id) {
  if (id.size() < 5 || id.size() > 1024) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'v') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

json EventDateTimeToJson(const EventDateTime& t) {
  json out = json::object();
  if (!t.date.empty()) {
    out["date"] = t.date;
  } else {
    out["dateTime"] = t.date_time;
  }
  if (!t.time_zone.empty()) out["timeZone"] = t.time_zone;
  return out;
}

json AttendeesToJson(const std::vector<Attendee>& attendees) {
  json out = json::array();
  for (const Attendee& a : attendees) {
    json item = {{"email", a.email}};
    if (!a.display_name.empty()) item["displayName"] = a.display_name;
    if (a.optional) item["optional"] = true;
    out.push_back(std::move(item));
  }
  return out;
}

json RemindersToJson(const Reminders& reminders) {
  json out = {{"useDefault", reminders.use_default}};
  if (!reminders.use_default) {
    json overrides = json::array();
    for (const ReminderOverride& r : reminders.overrides) {
      overrides.push_back({{"method", r.method}, {"minutes", r.minutes}});
    }
    out["overrides"] = std::move(overrides);
  }
  return out;
}

json EventSpecToJson(const EventSpec& spec) {
  json body = json::object();
  if (!spec.id.empty()) body["id"] = spec.id;
  if (!spec.summary.empty()) body["summary"] = spec.summary;
  if (!spec.description.empty()) body["description"] = spec.description;
  if (!spec.location.empty()) body["location"] = spec.location;
  body["start"] = EventDateTimeToJson(spec.start);
  body["end"] = EventDateTimeToJson(spec.end);
  if (!spec.attendees.empty()) body["attendees"] = AttendeesToJson(spec.attendees);
  if (spec.visibility != Visibility::kDefault) body["visibility"] = VisibilityName(spec.visibility);
  if (spec.reminders) body["reminders"] = RemindersToJson(*spec.reminders);
  if (!spec.private_properties.empty()) {
    body["extendedProperties"] = {{"private", spec.private_properties}};
  }
  if (!spec.recurrence.empty()) body["recurrence"] = spec.recurrence;
  if (!spec.conference_request_id.empty()) {
    body["conferenceData"] = {{"createRequest",
                               {{"requestId", spec.conference_request_id},
                                {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}}}}};
  }
  return body;
}

GoogleResult<Event> EventFromJson(const json& v) {
  if (!v.is_object() || Str(v, "id").empty()) {
    return GFail(ErrorKind::kBadResponse, "not an event resource");
  }
  Event e;
  e.id = Str(v, "id");
  e.status = Str(v, "status");
  e.etag = Str(v, "etag");
  e.html_link = Str(v, "htmlLink");
  e.ical_uid = Str(v, "iCalUID");
  e.updated = Str(v, "updated");
  e.summary = Str(v, "summary");
  e.description = Str(v, "description");
  e.location = Str(v, "location");
  e.start = ParseDateTime(Obj(v, "start"));
  e.end = ParseDateTime(Obj(v, "end"));
  e.visibility = Str(v, "visibility");
  e.hangout_link = Str(v, "hangoutLink");
  if (const json* attendees = Arr(v, "attendees")) {
    for (const json& a : *attendees) {
      e.attendees.push_back(Attendee{.email = Str(a, "email"),
                                     .display_name = Str(a, "displayName"),
                                     .optional = Bool(a, "optional"),
                                     .response_status = Str(a, "responseStatus"),
                                     .self = Bool(a, "self")});
    }
  }
  if (const json* reminders = Obj(v, "reminders")) {
    Reminders r;
    r.use_default = Bool(*reminders, "useDefault");
    if (const json* overrides = Arr(*reminders, "overrides")) {
      for (const json& o : *overrides) {
        // Google keeps 0..40320; anything else is read as 0 rather than trusted.
        std::optional<int64_t> minutes = Int(o, "minutes");
        const bool sane = minutes && *minutes >= 0 && *minutes <= 40320;
        r.overrides.push_back(ReminderOverride{.method = Str(o, "method"),
                                               .minutes = sane ? static_cast<int>(*minutes) : 0});
      }
    }
    e.reminders = std::move(r);
  }
  if (const json* ext = Obj(v, "extendedProperties")) {
    if (const json* priv = Obj(*ext, "private")) {
      for (auto it = priv->begin(); it != priv->end(); ++it) {
        if (it->is_string()) e.private_properties[it.key()] = it->get<std::string>();
      }
    }
  }
  e.conference = ParseConference(v);
  return e;
}

GoogleResult<Event> ParseEvent(std::string_view body) {
  json v = ParseOrDiscard(body);
  if (v.is_discarded()) return GFail(ErrorKind::kBadResponse, "event body is not JSON");
  return EventFromJson(v);
}

}  // namespace telemeet::google
