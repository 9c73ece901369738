// CalendarService::State: events.watch, channels.stop (push notifications,
// google-protocol.md §9) and the /_emulator/calendars/... control routes.
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

// Google wants HTTPS with a valid certificate; the emulator also takes plain HTTP to a loopback
// host so tests can receive notifications.
bool AcceptableAddress(std::string_view address) {
  std::string lower = ToLower(address);
  if (lower.starts_with("https://")) return lower.size() > 8;
  if (!lower.starts_with("http://")) return false;
  std::string_view rest = std::string_view(lower).substr(7);
  for (std::string_view host : {"127.0.0.1", "localhost", "[::1]"}) {
    if (rest.starts_with(host) &&
        (rest.size() == host.size() || rest[host.size()] == ':' || rest[host.size()] == '/')) {
      return true;
    }
  }
  return false;
}

std::unexpected<Failure> Required(std::string_view field) {
  return Reject(400, {.reason = "required",
                      .message = "Required parameter: " + std::string(field),
                      .location_type = "parameter",
                      .location = std::string(field)});
}

// A number of milliseconds or seconds given as a JSON number or a decimal string.
std::optional<int64_t> Int64Value(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return std::nullopt;
  const std::string s = v;
  if (s.empty() || s.size() > 18 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(s);
}

std::string RandomResourceId(std::mt19937_64& rng) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id(27, 'A');
  for (char& c : id) c = kAlphabet[rng() % kAlphabet.size()];
  return id;
}

}  // namespace

Response CalendarService::State::Watch(Request& req, const Principal& who, Outbox& out) {
  auto cal = OwnCalendar(who, req.Param("calendarId"));
  if (!cal) return ToResponse(cal.error());
  Calendar& c = **cal;
  auto body = ParseBody(req);
  if (!body) return ToResponse(body.error());
  const json& b = *body;

  if (!b.contains("id") || b["id"].is_null()) return ToResponse(Required("id").error());
  if (!b["id"].is_string() || b["id"].get<std::string>().empty() ||
      b["id"].get<std::string>().size() > 64) {
    return ToResponse(InvalidField("id").error());
  }
  const std::string type = b.value("type", json()).is_string() ? b["type"].get<std::string>() : "";
  if (type != "web_hook" && type != "webhook") {
    return ApiError(
        400, {.domain = "push",
              .reason = "invalid",
              .message = "Invalid value for field 'type': '" + type + "'. Expected web_hook."});
  }
  if (!b.contains("address") || b["address"].is_null()) {
    return ToResponse(Required("address").error());
  }
  if (!b["address"].is_string()) return ToResponse(InvalidField("address").error());
  const std::string address = b["address"];
  if (!AcceptableAddress(address)) {
    return ApiError(400, {.domain = "push",
                          .reason = "push.webhookUrlNotHttps",
                          .message = "WebHook callback must be HTTPS: " + address});
  }
  std::string token;
  if (b.contains("token") && !b["token"].is_null()) {
    if (!b["token"].is_string() || b["token"].get<std::string>().size() > 256) {
      return ToResponse(InvalidField("token").error());
    }
    token = b["token"];
  }
  const Instant now = clock.Now();
  int64_t ttl = kDefaultTtlSeconds;
  if (b.contains("params") && b["params"].is_object() && b["params"].contains("ttl")) {
    auto v = Int64Value(b["params"]["ttl"]);
    if (!v) return ToResponse(InvalidField("params.ttl").error());
    ttl = std::min(*v, kMaxTtlSeconds);
  }
  Instant expiration = now + std::chrono::seconds(ttl);
  if (b.contains("expiration") && !b["expiration"].is_null()) {
    auto v = Int64Value(b["expiration"]);
    if (!v) return ToResponse(InvalidField("expiration").error());
    if (*v < ToUnixMillis(expiration)) expiration = Instant(std::chrono::milliseconds(*v));
  }
  expiration = std::chrono::floor<std::chrono::milliseconds>(expiration);

  const std::string key = who.client_id + "\n" + b["id"].get<std::string>();
  if (auto it = channels.find(key); it != channels.end() && it->second.expiration > now) {
    return ApiError(400, {.reason = "channelIdNotUnique",
                          .message = "Channel id " + b["id"].get<std::string>() + " not unique"});
  }
  Channel ch;
  ch.id = b["id"];
  ch.resource_id = RandomResourceId(rng);
  ch.resource_uri =
      "https://www.googleapis.com/calendar/v3/calendars/" + UrlEncode(c.id) + "/events?alt=json";
  ch.calendar_id = c.id;
  ch.address = address;
  ch.token = token;
  ch.client_id = who.client_id;
  ch.owner = who.email;
  ch.expiration = expiration;
  ch.message_number = 1;
  json response = {{"kind", "api#channel"},
                   {"id", ch.id},
                   {"resourceId", ch.resource_id},
                   {"resourceUri", ch.resource_uri},
                   {"expiration", std::to_string(ToUnixMillis(expiration))}};
  if (!token.empty()) response["token"] = token;
  out.push_back(Message(ch, "sync", 1));
  channels[key] = std::move(ch);
  return net::JsonResponse(200, response);
}

Response CalendarService::State::StopChannel(Request& req, const Principal& who, Outbox&) {
  auto body = ParseBody(req);
  if (!body) return ToResponse(body.error());
  for (const char* field : {"id", "resourceId"}) {
    if (!body->contains(field) || (*body)[field].is_null()) {
      return ToResponse(Required(field).error());
    }
    if (!(*body)[field].is_string()) return ToResponse(InvalidField(field).error());
  }
  const std::string id = (*body)["id"];
  auto it = channels.find(who.client_id + "\n" + id);
  if (it == channels.end() ||
      it->second.resource_id != (*body)["resourceId"].get_ref<const std::string&>() ||
      it->second.owner != who.email) {
    return ApiError(
        404, {.reason = "notFound",
              .message = "Channel '" + id + "' not found for project '" + who.client_id + "'"});
  }
  channels.erase(it);
  return Response::Empty(204);
}

Response CalendarService::State::ControlGet(Request& req, Outbox&) {
  json state = StateJson(req.Param("calendarId"));
  if (state.is_null()) return net::JsonError(404, "not_found", "no such calendar", "calendarId");
  return net::JsonResponse(200, state);
}

Response CalendarService::State::ControlSet(Request& req, Outbox&) {
  json body = json::object();
  if (!Trim(req.body).empty()) {
    auto parsed = net::ParseJson(req.body);
    if (!parsed || !parsed->is_object()) {
      return net::JsonError(400, "invalid_argument", "the body must be a JSON object");
    }
    body = std::move(*parsed);
  }
  for (const char* key : {"timeZone", "summary"}) {
    if (body.contains(key) && (!body[key].is_string() || body[key].get<std::string>().empty())) {
      return net::JsonError(400, "invalid_argument", std::string(key) + " must be a string", key);
    }
  }
  Calendar& c = CalendarFor(req.Param("calendarId"));
  if (body.contains("timeZone")) c.time_zone = body["timeZone"];
  if (body.contains("summary")) c.summary = body["summary"];
  return net::JsonResponse(200, StateJson(c.id));
}

Response CalendarService::State::ControlConference(Request& req, Outbox&) {
  auto parsed = net::ParseJson(req.body);
  if (!parsed || !parsed->is_object()) {
    return net::JsonError(400, "invalid_argument", "the body must be a JSON object");
  }
  const json& b = *parsed;
  auto mode = b.contains("mode") && b["mode"].is_string()
                  ? ParseConferenceMode(b["mode"].get<std::string>())
                  : std::nullopt;
  if (!mode) {
    return net::JsonError(400, "invalid_argument",
                          "mode must be one of success, pending, failure, refuse", "mode");
  }
  ConferenceBehaviour behaviour{*mode, 0};
  if (b.contains("pendingReads")) {
    if (!b["pendingReads"].is_number_integer() || b["pendingReads"].get<int64_t>() < 0 ||
        b["pendingReads"].get<int64_t>() > 1'000'000) {
      return net::JsonError(400, "invalid_argument", "pendingReads must be 0..1000000",
                            "pendingReads");
    }
    behaviour.pending_reads = b["pendingReads"].get<int>();
  }
  Calendar& c = CalendarFor(req.Param("calendarId"));
  c.conference = behaviour;
  return net::JsonResponse(200, {{"mode", ConferenceModeName(behaviour.mode)},
                                 {"pendingReads", behaviour.pending_reads}});
}

// The calendar's owner adds an event by hand (a private appointment that makes them busy):
// events.insert as that account, with its push notifications, but no token and no quota.
Response CalendarService::State::ControlInsertEvent(Request& req, Outbox& out) {
  Principal owner;
  owner.email = req.Param("calendarId");
  return InsertEvent(req, owner, out);
}

Response CalendarService::State::ControlInvalidate(Request& req, Outbox&) {
  Calendar& c = CalendarFor(req.Param("calendarId"));
  ++c.sync_epoch;
  return net::JsonResponse(200, {{"syncEpoch", c.sync_epoch}});
}

}  // namespace telemeet::emulator
