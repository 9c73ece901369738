#include "google/calendar_client.h"

#include <algorithm>
#include <utility>

#include "base/redact.h"
#include "base/strings.h"
#include "crypto/random.h"
#include "google/as_doctor.h"
#include "google/json_util.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using namespace internal;

constexpr std::string_view kApi = "/calendar/v3";

std::string EventsPath(std::string_view calendar_id) {
  return std::string(kApi) + "/calendars/" + UrlEncode(calendar_id) + "/events";
}

std::string EventPath(std::string_view calendar_id, std::string_view event_id) {
  return EventsPath(calendar_id) + "/" + UrlEncode(event_id);
}

std::string WithQuery(std::string path, const KeyValues& query) {
  if (query.empty()) return path;
  return path + "?" + FormEncode(query);
}

bool Is2xx(int status) { return status >= 200 && status < 300; }

bool PropertiesInclude(const std::map<std::string, std::string>& have,
                       const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

CalendarClient::CalendarClient(CalendarOptions options, CalendarDeps deps)
    : options_(std::move(options)), deps_(deps) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
  options_.max_batch_parts = std::clamp<size_t>(options_.max_batch_parts, 1, 50);
}

// ---- Transport plumbing ----

void CalendarClient::Report(std::string_view doctor, const Call& call, int status,
                            std::chrono::microseconds latency, int attempt,
                            std::string_view outcome) {
  if (deps_.observer == nullptr) return;
  deps_.observer->OnCall(CallRecord{.operation = call.operation,
                                    .doctor_id = std::string(doctor),
                                    .method = call.method,
                                    .path = RedactTarget(call.target),
                                    .status = status,
                                    .latency = latency,
                                    .attempt = attempt,
                                    .outcome = std::string(outcome)});
}

GoogleResult<HttpResponse> CalendarClient::SendOnce(std::string_view doctor, const Call& call,
                                                    std::string_view token, int attempt) {
  HttpRequest req{.method = call.method,
                  .url = options_.base_url + call.target,
                  .headers = {},
                  .body = {},
                  .timeout = options_.timeout};
  req.headers.Set("Authorization", "Bearer " + std::string(token));
  req.headers.Set("Accept", "application/json");
  if (!call.raw_body.empty() || !call.content_type.empty()) {
    req.body = call.raw_body;
    req.headers.Set("Content-Type", call.content_type);
  } else if (call.body) {
    req.body = Dump(*call.body);
    req.headers.Set("Content-Type", "application/json");
  }
  if (!call.if_match.empty()) req.headers.Set("If-Match", call.if_match);

  const auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> res = deps_.transport.Send(req);
  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  if (!res) {
    GoogleError e = GoogleError::FromTransport(res.error());
    Report(doctor, call, 0, latency, attempt, ErrorKindName(e.kind()));
    return std::unexpected(std::move(e));
  }
  if (!Is2xx(res->status)) {
    GoogleError e = GoogleError::FromResponse(*res, deps_.clock.Now());
    Report(doctor, call, res->status, latency, attempt, ErrorKindName(e.kind()));
    return std::unexpected(std::move(e));
  }
  Report(doctor, call, res->status, latency, attempt, "ok");
  return std::move(*res);
}

GoogleResult<HttpResponse> CalendarClient::Execute(std::string_view doctor, const Call& call) {
  GoogleResult<HttpResponse> r =
      CallAsDoctor(deps_.tokens, deps_.retry, deps_.limiter, doctor, call.idempotent,
                   call.quota_cost, [&](const std::string& token, int attempt) {
                     return SendOnce(doctor, call, token, attempt);
                   });
  if (!r && r.error().kind() == ErrorKind::kScopeNotGranted) {
    deps_.tokens.MarkNeedsReconnect(doctor, r.error());
  }
  return r;
}

// ---- Request builders ----

CalendarClient::Call CalendarClient::InsertCall(std::string_view calendar_id, const EventSpec& spec,
                                                SendUpdates send_updates) {
  return Call{.operation = "events.insert",
              .method = "POST",
              .target = WithQuery(EventsPath(calendar_id),
                                  {{"conferenceDataVersion", "1"},
                                   {"sendUpdates", std::string(SendUpdatesName(send_updates))}}),
              .body = EventSpecToJson(spec)};
}

CalendarClient::Call CalendarClient::GetCall(std::string_view calendar_id,
                                             std::string_view event_id) {
  return Call{
      .operation = "events.get", .method = "GET", .target = EventPath(calendar_id, event_id)};
}

CalendarClient::Call CalendarClient::PatchTimesCall(std::string_view calendar_id,
                                                    std::string_view event_id,
                                                    const EventDateTime& start,
                                                    const EventDateTime& end,
                                                    SendUpdates send_updates) {
  // Only start and end: no conferenceData, so the meeting and its link stay as they are.
  return Call{
      .operation = "events.patch",
      .method = "PATCH",
      .target = WithQuery(EventPath(calendar_id, event_id),
                          {{"conferenceDataVersion", "1"},
                           {"sendUpdates", std::string(SendUpdatesName(send_updates))}}),
      .body = json{{"start", EventDateTimeToJson(start)}, {"end", EventDateTimeToJson(end)}}};
}

CalendarClient::Call CalendarClient::DeleteCall(std::string_view calendar_id,
                                                std::string_view event_id,
                                                SendUpdates send_updates) {
  return Call{.operation = "events.delete",
              .method = "DELETE",
              .target = WithQuery(EventPath(calendar_id, event_id),
                                  {{"sendUpdates", std::string(SendUpdatesName(send_updates))}})};
}

// ---- Events ----

GoogleResult<InsertResult> CalendarClient::InsertEvent(std::string_view doctor,
                                                       std::string_view calendar_id,
                                                       const EventSpec& spec,
                                                       SendUpdates send_updates) {
  if (!ValidEventId(spec.id)) {
    return GFail(ErrorKind::kInvalidRequest,
                 "event id must be 5-1024 base32hex characters (a-v, 0-9)");
  }
  GoogleResult<HttpResponse> res = Execute(doctor, InsertCall(calendar_id, spec, send_updates));
  if (!res) {
    if (res.error().kind() == ErrorKind::kDuplicate) {
      return AdoptExisting(doctor, calendar_id, spec);
    }
    return std::unexpected(res.error());
  }
  GoogleResult<Event> event = ParseEvent(res->body);
  if (!event) return std::unexpected(event.error());
  return InsertResult{.event = std::move(*event), .adopted = false};
}

GoogleResult<InsertResult> CalendarClient::AdoptExisting(std::string_view doctor,
                                                         std::string_view calendar_id,
                                                         const EventSpec& spec) {
  GoogleResult<Event> existing = GetEvent(doctor, calendar_id, spec.id);
  if (!existing) return std::unexpected(existing.error());
  if (!PropertiesInclude(existing->private_properties, spec.private_properties)) {
    return GFail(ErrorKind::kDuplicate,
                 "event id " + spec.id + " exists and is not ours (private properties differ)",
                 409);
  }
  return InsertResult{.event = std::move(*existing), .adopted = true};
}

GoogleResult<Event> CalendarClient::GetEvent(std::string_view doctor, std::string_view calendar_id,
                                             std::string_view event_id) {
  GoogleResult<HttpResponse> res = Execute(doctor, GetCall(calendar_id, event_id));
  if (!res) return std::unexpected(res.error());
  return ParseEvent(res->body);
}

GoogleResult<Event> CalendarClient::PatchEventTimes(
    std::string_view doctor, std::string_view calendar_id, std::string_view event_id,
    const EventDateTime& start, const EventDateTime& end, SendUpdates send_updates,
    std::string_view if_match) {
  Call call = PatchTimesCall(calendar_id, event_id, start, end, send_updates);
  call.if_match = std::string(if_match);
  GoogleResult<HttpResponse> res = Execute(doctor, call);
  if (!res) return std::unexpected(res.error());
  return ParseEvent(res->body);
}

GoogleResult<Event> CalendarClient::PatchEventGuests(std::string_view doctor,
                                                     std::string_view calendar_id,
                                                     std::string_view event_id,
                                                     const GuestsPatch& patch,
                                                     SendUpdates send_updates) {
  json body = json::object();
  if (patch.attendees) body["attendees"] = AttendeesToJson(*patch.attendees);
  if (patch.reminders) {
    body["reminders"] = RemindersToJson(*patch.reminders);
    // A patch merges objects: back to the defaults, the stored overrides must be emptied too,
    // or Google refuses both at once (400 cannotUseDefaultRemindersAndSpecifyOverride).
    if (patch.reminders->use_default) body["reminders"]["overrides"] = json::array();
  }
  Call call{.operation = "events.patch",
            .method = "PATCH",
            .target = WithQuery(EventPath(calendar_id, event_id),
                                {{"sendUpdates", std::string(SendUpdatesName(send_updates))}}),
            .body = std::move(body)};
  GoogleResult<HttpResponse> res = Execute(doctor, call);
  if (!res) return std::unexpected(res.error());
  return ParseEvent(res->body);
}

GoogleResult<Event> CalendarClient::RestoreEvent(
    std::string_view doctor, std::string_view calendar_id, std::string_view event_id,
    const EventDateTime& start, const EventDateTime& end, SendUpdates send_updates) {
  Call call = PatchTimesCall(calendar_id, event_id, start, end, send_updates);
  (*call.body)["status"] = "confirmed";
  GoogleResult<HttpResponse> res = Execute(doctor, call);
  if (!res) return std::unexpected(res.error());
  return ParseEvent(res->body);
}

GoogleResult<Event> CalendarClient::UpdateEvent(std::string_view doctor,
                                                std::string_view calendar_id, const EventSpec& spec,
                                                const Event& current, SendUpdates send_updates,
                                                std::string_view if_match) {
  json body = EventSpecToJson(spec);
  body["id"] = current.id;
  const ConferenceStatus existing = current.conference.status;
  if (existing == ConferenceStatus::kPending || existing == ConferenceStatus::kSuccess) {
    // update replaces the whole resource: carry the conference over, never ask for a new one.
    body["conferenceData"] = current.conference.raw;
  }
  Call call{.operation = "events.update",
            .method = "PUT",
            .target = WithQuery(EventPath(calendar_id, current.id),
                                {{"conferenceDataVersion", "1"},
                                 {"sendUpdates", std::string(SendUpdatesName(send_updates))}}),
            .body = std::move(body),
            .if_match = std::string(if_match)};
  GoogleResult<HttpResponse> res = Execute(doctor, call);
  if (!res) return std::unexpected(res.error());
  return ParseEvent(res->body);
}

GoogleResult<DeleteOutcome> CalendarClient::DeleteEvent(std::string_view doctor,
                                                        std::string_view calendar_id,
                                                        std::string_view event_id,
                                                        SendUpdates send_updates) {
  GoogleResult<HttpResponse> res = Execute(doctor, DeleteCall(calendar_id, event_id, send_updates));
  if (!res) {
    ErrorKind k = res.error().kind();
    if (k == ErrorKind::kNotFound || k == ErrorKind::kGone) return DeleteOutcome::kAlreadyGone;
    return std::unexpected(res.error());
  }
  return DeleteOutcome::kDeleted;
}

GoogleResult<DeleteOutcome> CalendarClient::CancelEvent(std::string_view doctor,
                                                        std::string_view calendar_id,
                                                        std::string_view event_id,
                                                        SendUpdates send_updates) {
  Call call{.operation = "events.patch",
            .method = "PATCH",
            .target = WithQuery(EventPath(calendar_id, event_id),
                                {{"sendUpdates", std::string(SendUpdatesName(send_updates))}}),
            .body = json{{"status", "cancelled"}}};
  GoogleResult<HttpResponse> res = Execute(doctor, call);
  if (!res) {
    ErrorKind k = res.error().kind();
    if (k == ErrorKind::kNotFound || k == ErrorKind::kGone) return DeleteOutcome::kAlreadyGone;
    return std::unexpected(res.error());
  }
  return DeleteOutcome::kDeleted;
}

GoogleResult<EventPage> CalendarClient::ListEvents(std::string_view doctor,
                                                   std::string_view calendar_id,
                                                   const ListQuery& query) {
  KeyValues q;
  if (!query.sync_token.empty()) {
    if (!query.time_min.empty() || !query.time_max.empty() || !query.private_properties.empty()) {
      return GFail(ErrorKind::kInvalidRequest,
                   "syncToken cannot be combined with timeMin, timeMax or property filters");
    }
    q.emplace_back("syncToken", query.sync_token);
  } else {
    if (!query.time_min.empty()) q.emplace_back("timeMin", query.time_min);
    if (!query.time_max.empty()) q.emplace_back("timeMax", query.time_max);
    for (const auto& [k, v] : query.private_properties) {
      q.emplace_back("privateExtendedProperty", k + "=" + v);
    }
    if (query.show_deleted) q.emplace_back("showDeleted", "true");
  }
  if (query.single_events) q.emplace_back("singleEvents", "true");
  if (query.max_results > 0) q.emplace_back("maxResults", std::to_string(query.max_results));
  if (!query.page_token.empty()) q.emplace_back("pageToken", query.page_token);

  GoogleResult<HttpResponse> res =
      Execute(doctor, Call{.operation = "events.list",
                           .method = "GET",
                           .target = WithQuery(EventsPath(calendar_id), q)});
  if (!res) return std::unexpected(res.error());
  return ParseEventPage(res->body);
}

GoogleResult<EventPage> CalendarClient::ListAllEvents(std::string_view doctor,
                                                      std::string_view calendar_id,
                                                      ListQuery query) {
  EventPage all;
  for (int pages = 0; pages < 10'000; ++pages) {
    GoogleResult<EventPage> page = ListEvents(doctor, calendar_id, query);
    if (!page) return std::unexpected(page.error());
    std::move(page->items.begin(), page->items.end(), std::back_inserter(all.items));
    all.next_sync_token = page->next_sync_token;
    if (page->next_page_token.empty()) return all;
    if (page->next_page_token == query.page_token) {
      return GFail(ErrorKind::kBadResponse, "events.list repeated its page token");
    }
    query.page_token = page->next_page_token;
  }
  return GFail(ErrorKind::kBadResponse, "events.list did not end");
}

// ---- freeBusy, watch, calendars ----

GoogleResult<std::map<std::string, CalendarBusy>> CalendarClient::FreeBusy(
    std::string_view doctor, const FreeBusyQuery& query) {
  json items = json::array();
  for (const std::string& id : query.calendar_ids) items.push_back({{"id", id}});
  json body = {{"timeMin", query.time_min},
               {"timeMax", query.time_max},
               {"timeZone", query.time_zone},
               {"items", std::move(items)}};
  GoogleResult<HttpResponse> res = Execute(doctor, Call{.operation = "freebusy.query",
                                                        .method = "POST",
                                                        .target = std::string(kApi) + "/freeBusy",
                                                        .body = std::move(body)});
  if (!res) return std::unexpected(res.error());
  return ParseFreeBusy(res->body);
}

GoogleResult<Channel> CalendarClient::WatchEvents(std::string_view doctor,
                                                  std::string_view calendar_id,
                                                  const WatchRequest& request) {
  if (request.channel_id.empty() || request.channel_id.size() > 64) {
    return GFail(ErrorKind::kInvalidRequest, "channel id must be 1-64 characters");
  }
  json body = {{"id", request.channel_id}, {"type", "web_hook"}, {"address", request.address}};
  if (!request.token.empty()) body["token"] = request.token;
  if (request.ttl) body["params"] = {{"ttl", std::to_string(request.ttl->count())}};
  GoogleResult<HttpResponse> res =
      Execute(doctor, Call{.operation = "events.watch",
                           .method = "POST",
                           .target = EventsPath(calendar_id) + "/watch",
                           .body = std::move(body)});
  if (!res) return std::unexpected(res.error());
  return ParseChannel(res->body);
}

GoogleStatus CalendarClient::StopChannel(std::string_view doctor, std::string_view channel_id,
                                         std::string_view resource_id) {
  GoogleResult<HttpResponse> res =
      Execute(doctor, Call{.operation = "channels.stop",
                           .method = "POST",
                           .target = std::string(kApi) + "/channels/stop",
                           .body = json{{"id", channel_id}, {"resourceId", resource_id}}});
  if (!res && res.error().kind() != ErrorKind::kNotFound) return std::unexpected(res.error());
  return {};
}

GoogleResult<CalendarInfo> CalendarClient::PrimaryCalendar(std::string_view doctor) {
  GoogleResult<HttpResponse> res =
      Execute(doctor, Call{.operation = "calendars.get",
                           .method = "GET",
                           .target = std::string(kApi) + "/calendars/primary"});
  if (!res) return std::unexpected(res.error());
  return ParseCalendarInfo(res->body);
}

GoogleResult<CalendarInfo> CalendarClient::PrimaryCalendarWithToken(std::string_view access_token) {
  Call call{.operation = "calendars.get",
            .method = "GET",
            .target = std::string(kApi) + "/calendars/primary"};
  GoogleResult<HttpResponse> res =
      deps_.retry.Run(true, [&](int attempt) { return SendOnce({}, call, access_token, attempt); });
  if (!res) return std::unexpected(res.error());
  return ParseCalendarInfo(res->body);
}

GoogleResult<Event> CalendarClient::AwaitConference(std::string_view doctor,
                                                    std::string_view calendar_id,
                                                    std::string_view event_id,
                                                    PollOptions options) {
  std::chrono::microseconds delay = options.initial_delay;
  const std::chrono::microseconds cap = options.max_delay;
  GoogleResult<Event> last = GFail(ErrorKind::kInvalidRequest, "max_polls must be positive");
  for (int poll = 0; poll < options.max_polls; ++poll) {
    deps_.sleeper.SleepFor(delay);
    last = GetEvent(doctor, calendar_id, event_id);
    if (!last || last->conference.status != ConferenceStatus::kPending) return last;
    delay = std::min(cap, std::chrono::microseconds(static_cast<int64_t>(
                              static_cast<double>(delay.count()) * options.multiplier)));
  }
  return last;
}

}  // namespace telemeet::google
