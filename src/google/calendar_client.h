// The Calendar v3 client (google-protocol.md §5-§10): events insert/get/patch/update/delete/
// list, freeBusy, watch/channels.stop, calendars/primary, conference polling and batches.
// Every call goes through the rate limiter, the retry policy and, on a 401, one forced token
// refresh and one retry; every HTTP exchange is reported to the observer.
//
//   CalendarClient calendar({.base_url = "https://www.googleapis.com"},
//                           {.transport = http, .tokens = provider, .retry = retry,
//                            .clock = clock, .sleeper = sleeper, .limiter = &limiter});
//   auto made = calendar.InsertEvent("doctor-42", "primary", spec, SendUpdates::kNone);
//   if (made && made->event.conference.status == ConferenceStatus::kPending)
//     made->event = *calendar.AwaitConference("doctor-42", "primary", made->event.id);
//
// Thread-safe: calls may run concurrently from many threads.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "google/event.h"
#include "google/google_error.h"
#include "google/observer.h"
#include "google/rate_limiter.h"
#include "google/retry.h"
#include "google/token_source.h"
#include "google/transport.h"

namespace telemeet::google {

struct CalendarOptions {
  std::string base_url = "https://www.googleapis.com";  // "/calendar/v3/..." is appended
  std::chrono::milliseconds timeout{30'000};            // per HTTP exchange
  size_t max_batch_parts = 50;                          // google-protocol.md §10
};

struct CalendarDeps {
  Transport& transport;
  AccessTokenSource& tokens;
  RetryPolicy& retry;
  const Clock& clock;
  Sleeper& sleeper;                  // conference polling waits
  RateLimiter* limiter = nullptr;    // optional
  CallObserver* observer = nullptr;  // optional
};

// What a guests patch sends (google-protocol.md §5): nullopt leaves the field out of the body.
struct GuestsPatch {
  std::optional<std::vector<Attendee>> attendees{};  // an empty list removes every attendee
  std::optional<Reminders> reminders{};
};

struct InsertResult {
  Event event{};
  bool adopted = false;  // the id existed (409): the existing event was fetched and is ours
};

enum class DeleteOutcome { kDeleted, kAlreadyGone };

struct ListQuery {
  std::string time_min{};  // RFC 3339 with offset; lower bound on event end
  std::string time_max{};  // upper bound on event start
  std::string sync_token{};
  std::string page_token{};
  std::map<std::string, std::string> private_properties{};  // all must match
  bool show_deleted = false;
  bool single_events = false;
  int max_results = 0;  // 0: Google's default
};

struct EventPage {
  std::vector<Event> items{};
  std::string next_page_token{};
  std::string next_sync_token{};  // only on the last page
};

struct BusyInterval {
  std::string start{};  // inclusive
  std::string end{};    // exclusive
};

struct CalendarBusy {
  std::vector<BusyInterval> busy{};
  std::vector<std::string> errors{};  // reasons: notFound, internalError, ...
};

struct FreeBusyQuery {
  std::string time_min{};
  std::string time_max{};
  std::string time_zone = "UTC";
  std::vector<std::string> calendar_ids{};
};

struct WatchRequest {
  std::string channel_id{};  // at most 64 characters, unique in the project
  std::string address{};     // https receiver
  std::string token{};       // optional, echoed in X-Goog-Channel-Token
  std::optional<std::chrono::seconds> ttl{};
};

struct Channel {
  std::string id{};
  std::string resource_id{};
  std::string resource_uri{};
  std::optional<Instant> expiration{};
};

struct CalendarInfo {
  std::string id{};  // the account email for "primary"
  std::string summary{};
  std::string time_zone{};
};

struct PollOptions {
  int max_polls = 8;
  std::chrono::milliseconds initial_delay{700};
  double multiplier = 1.5;
  std::chrono::milliseconds max_delay{5'000};
};

// One operation of a batch.
struct BatchOperation {
  enum class Kind { kInsert, kGet, kPatchTimes, kDelete };
  Kind kind = Kind::kGet;
  std::string calendar_id = "primary";
  EventSpec spec{};        // kInsert; spec.start/end for kPatchTimes
  std::string event_id{};  // kGet, kPatchTimes, kDelete
  SendUpdates send_updates = SendUpdates::kNone;
};

struct BatchItemResult {
  std::optional<Event> event{};  // insert, get, patch
  bool adopted = false;          // insert found its id taken and adopted the event
  std::optional<DeleteOutcome> deleted{};
};

class CalendarClient {
 public:
  CalendarClient(CalendarOptions options, CalendarDeps deps);

  // events.insert with conferenceDataVersion=1 and an explicit sendUpdates. The spec's id must
  // be valid base32hex. A 409 duplicate is answered by fetching the event and adopting it when
  // its private properties include the spec's (it is ours); otherwise kDuplicate.
  GoogleResult<InsertResult> InsertEvent(std::string_view doctor, std::string_view calendar_id,
                                         const EventSpec& spec, SendUpdates send_updates);

  // events.get (cancelled events are returned too). kNotFound, kGone.
  GoogleResult<Event> GetEvent(std::string_view doctor, std::string_view calendar_id,
                               std::string_view event_id);

  // events.patch of start and end only: the conference is never touched. `if_match` (an
  // etag) makes it conditional: kPreconditionFailed when the event changed.
  GoogleResult<Event> PatchEventTimes(std::string_view doctor, std::string_view calendar_id,
                                      std::string_view event_id, const EventDateTime& start,
                                      const EventDateTime& end, SendUpdates send_updates,
                                      std::string_view if_match = {});

  // events.patch of attendees and/or reminders only (M14, M23): times, status and the
  // conference stay as they are. With sendUpdates "all", Google invites added attendees and
  // tells removed ones.
  GoogleResult<Event> PatchEventGuests(std::string_view doctor, std::string_view calendar_id,
                                       std::string_view event_id, const GuestsPatch& patch,
                                       SendUpdates send_updates);

  // Puts back an event the doctor deleted in Google Calendar: events.patch of start and end
  // with status "confirmed" (a deleted event keeps its id, its conference and its link).
  GoogleResult<Event> RestoreEvent(std::string_view doctor, std::string_view calendar_id,
                                   std::string_view event_id, const EventDateTime& start,
                                   const EventDateTime& end, SendUpdates send_updates);

  // events.update with the full resource from `spec`. The existing conference (`current`'s
  // conferenceData) is carried over unchanged when it is pending or succeeded; a createRequest
  // from spec is sent only when `current` has none or it failed.
  GoogleResult<Event> UpdateEvent(std::string_view doctor, std::string_view calendar_id,
                                  const EventSpec& spec, const Event& current,
                                  SendUpdates send_updates, std::string_view if_match = {});

  // events.delete. 404 and 410 mean it is already gone: a success.
  GoogleResult<DeleteOutcome> DeleteEvent(std::string_view doctor, std::string_view calendar_id,
                                          std::string_view event_id, SendUpdates send_updates);

  // "Cancel instead of delete" (M12, cancel_mode = mark_cancelled): events.patch with
  // {"status": "cancelled"} and an explicit sendUpdates; the event stays readable by get, as a
  // deleted one does, with its conference untouched. 404 and 410 mean it is already gone.
  GoogleResult<DeleteOutcome> CancelEvent(std::string_view doctor, std::string_view calendar_id,
                                          std::string_view event_id, SendUpdates send_updates);

  // One page of events.list. A sync token cannot be combined with a time range or property
  // filter (kInvalidRequest before any call); an expired one gives kFullSyncRequired.
  GoogleResult<EventPage> ListEvents(std::string_view doctor, std::string_view calendar_id,
                                     const ListQuery& query);
  // Every page; the result's next_sync_token is the last page's.
  GoogleResult<EventPage> ListAllEvents(std::string_view doctor, std::string_view calendar_id,
                                        ListQuery query);

  GoogleResult<std::map<std::string, CalendarBusy>> FreeBusy(std::string_view doctor,
                                                             const FreeBusyQuery& query);

  GoogleResult<Channel> WatchEvents(std::string_view doctor, std::string_view calendar_id,
                                    const WatchRequest& request);
  // channels.stop; a channel Google no longer knows (404) counts as stopped.
  GoogleStatus StopChannel(std::string_view doctor, std::string_view channel_id,
                           std::string_view resource_id);

  // calendars/primary: the connected account's email is its id.
  GoogleResult<CalendarInfo> PrimaryCalendar(std::string_view doctor);
  // The same with a token in hand (the connect flow, before the grant is stored). No refresh.
  GoogleResult<CalendarInfo> PrimaryCalendarWithToken(std::string_view access_token);

  // Re-reads a pending conference with backoff until it is success or failure, or the polls
  // run out (then the last event, still pending, is returned).
  GoogleResult<Event> AwaitConference(std::string_view doctor, std::string_view calendar_id,
                                      std::string_view event_id, PollOptions options = {});

  // Sends operations in multipart/mixed batches of at most max_batch_parts; results in input
  // order. Parts that fail with a retriable error (conflict, rate limit, 5xx) or 401 are retried
  // alone through the single-call path.
  std::vector<GoogleResult<BatchItemResult>> ExecuteBatch(
      std::string_view doctor, const std::vector<BatchOperation>& operations);

 private:
  struct Call {
    std::string operation{};  // "events.insert"
    std::string method{};
    std::string target{};  // "/calendar/v3/...?..."
    std::optional<nlohmann::json> body{};
    std::string if_match{};
    bool idempotent = true;
    std::string raw_body{};  // a non-JSON body (batch), sent with content_type
    std::string content_type{};
    int quota_cost = 1;  // rate-limiter slots the call takes (a batch: one per part)
  };

  // Sends with rate limiting, retries and the 401 refresh; returns a 2xx response.
  GoogleResult<HttpResponse> Execute(std::string_view doctor, const Call& call);
  // One exchange with a given token; reports it to the observer.
  GoogleResult<HttpResponse> SendOnce(std::string_view doctor, const Call& call,
                                      std::string_view token, int attempt);
  GoogleResult<InsertResult> AdoptExisting(std::string_view doctor, std::string_view calendar_id,
                                           const EventSpec& spec);
  GoogleResult<BatchItemResult> RunSingle(std::string_view doctor, const BatchOperation& op);
  void Report(std::string_view doctor, const Call& call, int status,
              std::chrono::microseconds latency, int attempt, std::string_view outcome);

  static Call InsertCall(std::string_view calendar_id, const EventSpec& spec,
                         SendUpdates send_updates);
  static Call GetCall(std::string_view calendar_id, std::string_view event_id);
  static Call PatchTimesCall(std::string_view calendar_id, std::string_view event_id,
                             const EventDateTime& start, const EventDateTime& end,
                             SendUpdates send_updates);
  static Call DeleteCall(std::string_view calendar_id, std::string_view event_id,
                         SendUpdates send_updates);
  static Call CallFor(const BatchOperation& op);

  CalendarOptions options_;
  CalendarDeps deps_;
};

// Builds and parses the multipart/mixed bodies of a batch (google-protocol.md §10).
struct BatchPart {
  std::string method{};
  std::string target{};  // path-only URL with query
  std::string body{};    // JSON or empty
};
std::string EncodeBatch(const std::vector<BatchPart>& parts, std::string_view boundary);
// The responses of a batch answer, in order. kBadResponse when the body is not a valid
// multipart/mixed answer for `content_type`.
GoogleResult<std::vector<HttpResponse>> DecodeBatch(std::string_view content_type,
                                                    std::string_view body);

// The calendar calls' success answers as typed values, kBadResponse when a body is not that
// answer's shape (the clients call them after a 2xx; answers.cc, like the batch codec).
GoogleResult<EventPage> ParseEventPage(std::string_view body);  // any bad item fails the page
GoogleResult<std::map<std::string, CalendarBusy>> ParseFreeBusy(std::string_view body);
GoogleResult<Channel> ParseChannel(std::string_view body);  // kBadResponse without resourceId
GoogleResult<CalendarInfo> ParseCalendarInfo(std::string_view body);  // ... without an id

}  // namespace telemeet::google
