// The Calendar v3 side of fake-google: calendars/primary, events (insert/get/patch/update/
// delete/list with sync tokens, ETags, recurrence and Meet conferences), freeBusy, events.watch
// and channels.stop, answering with the status codes and bodies of google-protocol.md.
//
//   FakeClock clock;
//   CalendarService calendar(authenticator, clock);
//   calendar.SetPushSender([&](PushMessage m) { deliver.Post(m.address, m.headers); });
//   net::Router router;
//   calendar.Register(router);   // /calendar/v3/... and /_emulator/calendars/...
//   calendar.SetConferenceBehaviour("doc@example.com", {.mode = ConferenceMode::kPending,
//                                                       .pending_reads = 2});
//
// Thread safety: a CalendarService is safe for concurrent use. One mutex guards all of its
// state (calendars, events, channels). Bearer tokens are checked with the Authenticator before
// that mutex is taken (so the two never nest), and push messages are handed to the PushSender
// after it is released, so the sender may call back into the service. Register() must run
// before the router serves requests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "emulator/principal.h"
#include "net/http.h"
#include "net/router.h"

namespace telemeet::emulator {

// OAuth scopes the Calendar routes check (google-protocol.md §6, §8).
inline constexpr std::string_view kScopeCalendar = "https://www.googleapis.com/auth/calendar";
inline constexpr std::string_view kScopeCalendarReadonly =
    "https://www.googleapis.com/auth/calendar.readonly";
inline constexpr std::string_view kScopeCalendarEvents =
    "https://www.googleapis.com/auth/calendar.events";
inline constexpr std::string_view kScopeCalendarEventsReadonly =
    "https://www.googleapis.com/auth/calendar.events.readonly";
inline constexpr std::string_view kScopeCalendarFreebusy =
    "https://www.googleapis.com/auth/calendar.freebusy";

// A push notification to deliver: POST to `address` with these headers and an empty body.
struct PushMessage {
  std::string address;
  net::Headers headers;
};

// What happens to a conferenceData.createRequest on a calendar.
enum class ConferenceMode {
  kSuccess,  // the conference exists at once (the default)
  kPending,  // statusCode "pending" for `pending_reads` reads of the event, then "success"
  kFailure,  // statusCode "failure": no entry points, no hangoutLink
  kRefuse,   // the calendar allows no conference type: 400 "Invalid conference type value."
};

struct ConferenceBehaviour {
  ConferenceMode mode = ConferenceMode::kSuccess;
  int pending_reads = 0;  // only for kPending
};

// "success", "pending", "failure", "refuse"; and back (nullopt for anything else).
std::string_view ConferenceModeName(ConferenceMode mode);
std::optional<ConferenceMode> ParseConferenceMode(std::string_view name);

class CalendarService {
 public:
  // `auth` and `clock` must outlive the service.
  CalendarService(const Authenticator& auth, Clock& clock);
  ~CalendarService();
  CalendarService(const CalendarService&) = delete;
  CalendarService& operator=(const CalendarService&) = delete;

  // Adds every /calendar/v3/... route and the control routes:
  //   GET  /_emulator/calendars/{id}                          the calendar's state (JSON)
  //   POST /_emulator/calendars/{id}                          {"timeZone","summary"}: create/set
  //   POST /_emulator/calendars/{id}/conference               {"mode","pendingReads"}
  //   POST /_emulator/calendars/{id}/invalidate-sync-tokens   later syncTokens give 410
  // Control routes take no bearer token; errors use net::JsonError's shape.
  void Register(net::Router& router);

  // Forgets all calendars, events, channels and settings. Sync tokens issued before fail (410).
  void Reset();

  // Watch notifications go out through `send`, called without the service lock held, possibly
  // from a request handler thread: it must not block for long.
  void SetPushSender(std::function<void(PushMessage)> send);

  // Meet conferences made from now on are announced to `sink` with the calendar's id (its
  // owner's email) and the meeting code, under the service's lock: `sink` must not call back
  // into the service (the Meet service keeps the space behind each conference).
  void SetMeetSpaceSink(
      std::function<void(std::string_view owner_email, std::string_view meeting_code)> sink);

  // Control. A calendar is named by its id (the owner's email); it is created when missing.
  void SetConferenceBehaviour(std::string_view calendar_id, ConferenceBehaviour behaviour);
  void SetTimeZone(std::string_view calendar_id, std::string_view time_zone);
  // Makes every sync token issued so far for the calendar answer 410 fullSyncRequired.
  void InvalidateSyncTokens(std::string_view calendar_id);
  // {id, summary, timeZone, conference{mode, pendingReads}, syncEpoch, events[...], channels[...]}
  // with every event as stored (cancelled ones too); nullopt when the calendar does not exist.
  std::optional<nlohmann::json> CalendarState(std::string_view calendar_id) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace telemeet::emulator
