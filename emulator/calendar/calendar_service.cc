#include "emulator/calendar/calendar_service.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "base/strings.h"
#include "emulator/calendar/event_resource.h"
#include "emulator/calendar/event_time.h"
#include "emulator/calendar/service_internal.h"
#include "net/json.h"

namespace telemeet::emulator {

using net::Request;
using net::Response;
using nlohmann::json;

std::string_view ConferenceModeName(ConferenceMode mode) {
  switch (mode) {
    case ConferenceMode::kSuccess:
      return "success";
    case ConferenceMode::kPending:
      return "pending";
    case ConferenceMode::kFailure:
      return "failure";
    case ConferenceMode::kRefuse:
      return "refuse";
  }
  return "success";
}

std::optional<ConferenceMode> ParseConferenceMode(std::string_view name) {
  for (auto m : {ConferenceMode::kSuccess, ConferenceMode::kPending, ConferenceMode::kFailure,
                 ConferenceMode::kRefuse}) {
    if (ConferenceModeName(m) == name) return m;
  }
  return std::nullopt;
}

namespace calendar_internal {

std::string Quote(uint64_t n) { return "\"" + std::to_string(n) + "\""; }

bool Allows(const Principal& p, Access access) {
  auto any = [&](std::initializer_list<std::string_view> scopes) {
    return std::any_of(scopes.begin(), scopes.end(), [&](auto s) { return p.HasScope(s); });
  };
  switch (access) {
    case Access::kCalendarRead:
      return any({kScopeCalendar, kScopeCalendarReadonly});
    case Access::kEventsRead:
      return any({kScopeCalendar, kScopeCalendarReadonly, kScopeCalendarEvents,
                  kScopeCalendarEventsReadonly});
    case Access::kEventsWrite:
      return any({kScopeCalendar, kScopeCalendarEvents});
    case Access::kFreeBusy:
      return any({kScopeCalendar, kScopeCalendarReadonly, kScopeCalendarFreebusy});
    case Access::kAnyCalendar:
      return any({kScopeCalendar, kScopeCalendarReadonly, kScopeCalendarEvents,
                  kScopeCalendarEventsReadonly, kScopeCalendarFreebusy});
  }
  return false;
}

std::string RequiredScopes(Access access) {
  switch (access) {
    case Access::kCalendarRead:
      return std::string(kScopeCalendar) + " " + std::string(kScopeCalendarReadonly);
    case Access::kEventsWrite:
      return std::string(kScopeCalendar) + " " + std::string(kScopeCalendarEvents);
    case Access::kFreeBusy:
      return std::string(kScopeCalendar) + " " + std::string(kScopeCalendarReadonly) + " " +
             std::string(kScopeCalendarFreebusy);
    case Access::kEventsRead:
    case Access::kAnyCalendar:
      return std::string(kScopeCalendar) + " " + std::string(kScopeCalendarReadonly) + " " +
             std::string(kScopeCalendarEvents) + " " + std::string(kScopeCalendarEventsReadonly);
  }
  return {};
}

Response Unauthenticated() {
  Response r = ApiError(401,
                        {.reason = "authError",
                         .message = "Invalid Credentials",
                         .location_type = "header",
                         .location = "Authorization"},
                        "Request had invalid authentication credentials. Expected OAuth 2 access "
                        "token, login cookie or other valid authentication credential. See "
                        "https://developers.google.com/identity/sign-in/web/devconsole-project.");
  r.headers.Set("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\"");
  return r;
}

Response InsufficientScope(Access access, std::string_view method) {
  Response r =
      ApiError(403, {.reason = "insufficientPermissions", .message = "Insufficient Permission"},
               "Request had insufficient authentication scopes.");
  json body = json::parse(r.body);
  body["error"]["details"] = json::array(
      {{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
        {"reason", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"},
        {"domain", "googleapis.com"},
        {"metadata",
         {{"service", "calendar-json.googleapis.com"}, {"method", std::string(method)}}}}});
  r.body = body.dump();
  r.headers.Set("WWW-Authenticate",
                "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", "
                "scope=\"" +
                    RequiredScopes(access) + "\"");
  return r;
}

std::expected<Principal, Response> Authenticate(const Authenticator& auth, const Request& req,
                                                Access access, std::string_view method) {
  std::optional<std::string> token;
  if (auto h = req.Header("Authorization")) {
    std::string_view v = Trim(*h);
    if (v.size() > 7 && EqualsIgnoreCase(v.substr(0, 7), "Bearer ")) {
      token = std::string(Trim(v.substr(7)));
    }
  } else {
    token = req.Query("access_token");
  }
  if (!token || token->empty()) return std::unexpected(Unauthenticated());
  auto who = auth.FromAccessToken(*token);
  if (!who) return std::unexpected(Unauthenticated());
  if (!Allows(*who, access)) return std::unexpected(InsufficientScope(access, method));
  return *who;
}

Api<json> ParseBody(const Request& req) {
  if (req.body.size() > kMaxBodyBytes) {
    return Reject(413, {.reason = "requestTooLarge",
                        .message = "Request payload size exceeds the limit: " +
                                   std::to_string(kMaxBodyBytes) + " bytes."});
  }
  if (auto type = req.Header("Content-Type");
      type && ToLower(*type).find("application/x-www-form-urlencoded") != std::string::npos) {
    return Reject(400, {.reason = "parseError",
                        .message = "This API does not support parsing form-encoded input."});
  }
  if (Trim(req.body).empty()) return json::object();
  auto parsed = net::ParseJson(req.body);
  if (!parsed || !parsed->is_object()) {
    return Reject(400, {.reason = "parseError", .message = "Parse Error"});
  }
  return std::move(*parsed);
}

Api<Params> ParseParams(const Request& req) {
  auto q = req.QueryParams();
  if (!q) return Reject(400, {.reason = "badRequest", .message = "Bad Request"});
  return Params{std::move(*q)};
}

std::unexpected<Failure> InvalidParameter(std::string_view name, std::string message) {
  return Reject(400, {.reason = "invalidParameter",
                      .message = std::move(message),
                      .location_type = "parameter",
                      .location = std::string(name)});
}

Api<std::optional<int64_t>> Params::Int(std::string_view name, int64_t min, int64_t max) const {
  auto v = Get(name);
  if (!v) return std::optional<int64_t>();
  int64_t n = 0;
  bool ok = !v->empty() && v->size() < 12;
  size_t i = 0;
  bool negative = ok && (*v)[0] == '-';
  if (negative) i = 1;
  ok = ok && i < v->size();
  for (; ok && i < v->size(); ++i) {
    ok = (*v)[i] >= '0' && (*v)[i] <= '9';
    n = n * 10 + ((*v)[i] - '0');
  }
  if (!ok) return InvalidParameter(name, "Invalid integer value: '" + *v + "'.");
  if (negative) n = -n;
  if (n < min || n > max) {
    return InvalidParameter(name, "Invalid value '" + *v + "'. Values must be within the range: [" +
                                      std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return std::optional<int64_t>(n);
}

Api<std::optional<bool>> Params::Bool(std::string_view name) const {
  auto v = Get(name);
  if (!v) return std::optional<bool>();
  if (*v == "true") return std::optional<bool>(true);
  if (*v == "false") return std::optional<bool>(false);
  return InvalidParameter(name, "Invalid boolean value: '" + *v + "'.");
}

Api<std::optional<std::string>> Params::Enum(std::string_view name,
                                             std::initializer_list<std::string_view> values) const {
  auto v = Get(name);
  if (!v) return std::optional<std::string>();
  if (std::find(values.begin(), values.end(), *v) == values.end()) {
    std::string allowed;
    for (auto a : values) allowed += (allowed.empty() ? "" : "|") + std::string(a);
    return InvalidParameter(name, "Invalid value '" + *v +
                                      "'. Values must match the following regular expression: '(" +
                                      allowed + ")'");
  }
  return v;
}

std::optional<std::string> Params::Get(std::string_view name) const {
  return FindValue(pairs, name);
}

std::vector<std::string> Params::All(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : pairs) {
    if (k == name) out.push_back(v);
  }
  return out;
}

// Parameters every event write takes (google-protocol.md §6).
Api<WriteParams> ParseWriteParams(const Params& p) {
  WriteParams out;
  auto version = p.Int("conferenceDataVersion", 0, 1);
  if (!version) return std::unexpected(version.error());
  out.conference_data_version = int(version->value_or(0));
  if (auto s = p.Enum("sendUpdates", {"all", "externalOnly", "none"}); !s) {
    return std::unexpected(s.error());
  }
  if (auto b = p.Bool("sendNotifications"); !b) return std::unexpected(b.error());
  auto attachments = p.Bool("supportsAttachments");
  if (!attachments) return std::unexpected(attachments.error());
  out.supports_attachments = attachments->value_or(false);
  auto max = p.Int("maxAttendees", 1, 1'000'000);
  if (!max) return std::unexpected(max.error());
  if (*max) out.max_attendees = int(**max);
  return out;
}

}  // namespace calendar_internal

using namespace calendar_internal;

CalendarService::CalendarService(const Authenticator& auth, Clock& clock)
    : state_(std::make_unique<State>(auth, clock)) {}

CalendarService::~CalendarService() = default;

void CalendarService::Reset() {
  std::lock_guard lock(state_->mu);
  state_->calendars.clear();
  state_->channels.clear();
  ++state_->generation;
}

void CalendarService::SetPushSender(std::function<void(PushMessage)> send) {
  std::lock_guard lock(state_->mu);
  state_->push = std::move(send);
}

void CalendarService::SetMeetSpaceSink(
    std::function<void(std::string_view owner_email, std::string_view meeting_code)> sink) {
  std::lock_guard lock(state_->mu);
  state_->meet_sink = std::move(sink);
}

void CalendarService::SetConferenceBehaviour(std::string_view calendar_id,
                                             ConferenceBehaviour behaviour) {
  std::lock_guard lock(state_->mu);
  state_->CalendarFor(calendar_id).conference = behaviour;
}

void CalendarService::SetTimeZone(std::string_view calendar_id, std::string_view time_zone) {
  std::lock_guard lock(state_->mu);
  state_->CalendarFor(calendar_id).time_zone = std::string(time_zone);
}

void CalendarService::InvalidateSyncTokens(std::string_view calendar_id) {
  std::lock_guard lock(state_->mu);
  ++state_->CalendarFor(calendar_id).sync_epoch;
}

std::optional<json> CalendarService::CalendarState(std::string_view calendar_id) const {
  std::lock_guard lock(state_->mu);
  json state = state_->StateJson(calendar_id);
  if (state.is_null()) return std::nullopt;
  return state;
}

void CalendarService::Register(net::Router& router) {
  State* s = state_.get();
  auto api = [s](Access access, std::string_view method, State::ApiHandler fn) {
    return [s, access, method, fn](Request& req) { return s->Run(req, access, method, fn); };
  };
  auto control = [s](State::ControlHandler fn) {
    return [s, fn](Request& req) { return s->RunControl(req, fn); };
  };
  const std::string base = "/calendar/v3/calendars/{calendarId}";
  const std::string event = base + "/events/{eventId}";
  router.Get(base, api(Access::kCalendarRead, "calendar.v3.Calendars.Get", &State::GetCalendar));
  router.Post(base + "/events",
              api(Access::kEventsWrite, "calendar.v3.Events.Insert", &State::InsertEvent));
  router.Get(base + "/events",
             api(Access::kEventsRead, "calendar.v3.Events.List", &State::ListEvents));
  router.Post(base + "/events/watch",
              api(Access::kEventsRead, "calendar.v3.Events.Watch", &State::Watch));
  router.Get(event, api(Access::kEventsRead, "calendar.v3.Events.Get", &State::GetEvent));
  router.Get(event + "/instances",
             api(Access::kEventsRead, "calendar.v3.Events.Instances", &State::ListInstances));
  router.Put(event, api(Access::kEventsWrite, "calendar.v3.Events.Update", &State::UpdateEvent));
  router.Patch(event, api(Access::kEventsWrite, "calendar.v3.Events.Patch", &State::PatchEvent));
  router.Delete(event, api(Access::kEventsWrite, "calendar.v3.Events.Delete", &State::DeleteEvent));
  router.Post("/calendar/v3/freeBusy",
              api(Access::kFreeBusy, "calendar.v3.Freebusy.Query", &State::FreeBusy));
  router.Post("/calendar/v3/channels/stop",
              api(Access::kAnyCalendar, "calendar.v3.Channels.Stop", &State::StopChannel));

  const std::string prefix = "/_emulator/calendars/{calendarId}";
  router.Get(prefix, control(&State::ControlGet));
  router.Post(prefix, control(&State::ControlSet));
  router.Post(prefix + "/conference", control(&State::ControlConference));
  router.Post(prefix + "/invalidate-sync-tokens", control(&State::ControlInvalidate));
  router.Post(prefix + "/events", control(&State::ControlInsertEvent));
}

}  // namespace telemeet::emulator
