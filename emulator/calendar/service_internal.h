// Internals of CalendarService shared by its source files: the stored model (calendars, events,
// channels), request helpers (bearer check, query parameters, bodies) and the handler set.
// Not for use outside emulator/calendar.
//
//   Response State::GetEvent(Request& req, Outbox& out);   // runs under State::mu
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "emulator/calendar/calendar_service.h"
#include "emulator/calendar/event_resource.h"

namespace telemeet::emulator {
namespace calendar_internal {

inline constexpr size_t kMaxBodyBytes = 1 << 20;
inline constexpr int64_t kDefaultTtlSeconds = 604'800;  // params.ttl default (7 days)
inline constexpr int64_t kMaxTtlSeconds = 30 * 86'400;  // the emulator's cap
inline constexpr size_t kMaxInstances = 1000;           // per recurring event and query

enum class Access { kCalendarRead, kEventsRead, kEventsWrite, kFreeBusy, kAnyCalendar };

std::string Quote(uint64_t n);  // "\"123\"", the ETag form
bool Allows(const Principal& p, Access access);
// 401 authError or 403 insufficientPermissions (with WWW-Authenticate) as Google answers them.
std::expected<Principal, net::Response> Authenticate(const Authenticator& auth,
                                                     const net::Request& req, Access access,
                                                     std::string_view method);
// The body as a JSON object ({} when empty); 413 when too large, 400 parseError otherwise.
Api<nlohmann::json> ParseBody(const net::Request& req);
std::unexpected<Failure> InvalidParameter(std::string_view name, std::string message);

struct Params {
  KeyValues pairs;
  std::optional<std::string> Get(std::string_view name) const;
  std::vector<std::string> All(std::string_view name) const;
  Api<std::optional<int64_t>> Int(std::string_view name, int64_t min, int64_t max) const;
  Api<std::optional<bool>> Bool(std::string_view name) const;
  Api<std::optional<std::string>> Enum(std::string_view name,
                                       std::initializer_list<std::string_view> values) const;
};
Api<Params> ParseParams(const net::Request& req);

struct WriteParams {
  int conference_data_version = 0;
  std::optional<int> max_attendees;
  bool supports_attachments = false;  // attachments in the body count only with this
};
Api<WriteParams> ParseWriteParams(const Params& p);

struct Event {
  std::string id;
  nlohmann::json body;  // writable fields, normalized; conferenceData as stored
  Instant created;
  Instant updated;
  uint64_t etag = 0;
  int64_t sequence = 0;
  uint64_t change = 0;  // the service-wide change number of the last write
  uint64_t order = 0;   // insertion order
  EventTimes times;
  int conference_reads_left = 0;  // > 0: createRequest still shows "pending"
  // Occurrences of a recurring event changed on their own (patched, updated or deleted),
  // keyed by their original start: the occurrence's writable fields and its times.
  struct Exception {
    nlohmann::json body;
    EventTimes times;
    bool cancelled() const { return body.value("status", "confirmed") == "cancelled"; }
  };
  std::map<Instant, Exception> exceptions;

  bool cancelled() const { return body.value("status", "confirmed") == "cancelled"; }
  bool recurring() const { return body.contains("recurrence"); }
};

struct Calendar {
  std::string id;
  std::string summary;
  std::string time_zone = "UTC";
  ConferenceBehaviour conference;
  uint64_t sync_epoch = 0;
  uint64_t etag = 0;
  Instant updated;
  std::unordered_map<std::string, Event> events;
  std::vector<std::string> order;  // event ids in insertion order
};

struct Channel {
  std::string id;
  std::string resource_id;
  std::string resource_uri;
  std::string calendar_id;
  std::string address;
  std::string token;
  std::string client_id;
  std::string owner;
  Instant expiration;
  int64_t message_number = 1;
};

using Outbox = std::vector<PushMessage>;

}  // namespace calendar_internal

struct CalendarService::State {
  using Event = calendar_internal::Event;
  using Calendar = calendar_internal::Calendar;
  using Channel = calendar_internal::Channel;
  using Outbox = calendar_internal::Outbox;

  State(const Authenticator& a, Clock& c)
      : auth(a), clock(c), rng(std::random_device{}()), generation(rng() % 1'000'000) {}

  const Authenticator& auth;
  Clock& clock;
  mutable std::mutex mu;  // guards everything below
  std::mt19937_64 rng;
  uint64_t generation;  // changes on Reset(): older sync and page tokens stop working
  uint64_t change = 0;
  uint64_t last_etag = 0;
  uint64_t next_order = 0;
  std::map<std::string, Calendar, std::less<>> calendars;
  std::map<std::string, Channel> channels;  // key: client_id + '\n' + channel id
  std::function<void(PushMessage)> push;
  std::function<void(std::string_view, std::string_view)> meet_sink;  // SetMeetSpaceSink

  using ApiHandler = net::Response (State::*)(net::Request&, const Principal&, Outbox&);
  using ControlHandler = net::Response (State::*)(net::Request&, Outbox&);
  // Checks the bearer token (before taking `mu`: the Authenticator has locks of its own), runs
  // the handler under `mu`, then hands its push messages to `push` without the lock.
  net::Response Run(net::Request& req, calendar_internal::Access access, std::string_view method,
                    ApiHandler fn);
  net::Response RunControl(net::Request& req, ControlHandler fn);

  Calendar& CalendarFor(std::string_view id);
  const Calendar* FindCalendar(std::string_view id) const;
  // The principal's own calendar ("primary" or its email), else 404 notFound.
  Api<Calendar*> OwnCalendar(const Principal& who, const std::string& id);
  uint64_t NextEtag();
  // A write happened: new updated/etag/change number, and `exists` to the calendar's channels.
  void Touch(Calendar& cal, Event& ev, Outbox& out);
  void Notify(Calendar& cal, Outbox& out);
  PushMessage Message(const Channel& ch, std::string_view state, int64_t number) const;

  nlohmann::json Render(const Calendar& cal, const Event& ev,
                        std::optional<int> max_attendees) const;
  // Render with `body` in place of the event's own writable fields.
  nlohmann::json RenderBody(const Calendar& cal, const Event& ev, const nlohmann::json& body,
                            std::optional<int> max_attendees) const;
  // The writable fields of one occurrence of a recurring event, before any exception.
  nlohmann::json InstanceBody(const Event& ev, Instant start) const;
  // The occurrence's times and whether it is cancelled, exceptions applied.
  EventTimes InstanceTimes(const Event& ev, Instant start) const;
  bool InstanceCancelled(const Event& ev, Instant start) const;
  nlohmann::json RenderInstance(const Calendar& cal, const Event& ev, Instant start,
                                std::optional<int> max_attendees) const;
  nlohmann::json RenderCancelled(const Event& ev, const std::string& id) const;
  // A read of the event: counts down a pending conference, which turns "success" at zero.
  void CountRead(Calendar& cal, Event& ev, Outbox& out);
  std::vector<Instant> Starts(const Event& ev, std::optional<Instant> horizon) const;
  std::string InstanceId(const Event& ev, Instant start) const;
  // The recurring event and original start named by an instance id "<id>_<start>".
  std::optional<std::pair<Event*, Instant>> FindInstance(Calendar& cal, const std::string& id);

  struct ConferenceOutcome {
    nlohmann::json data;  // null: no conference
    int reads_left = 0;
    std::string new_meeting_code;  // a Meet conference made by this write
  };
  Api<ConferenceOutcome> ResolveConference(const Calendar& cal, const Event* existing,
                                           const nlohmann::json& requested, bool patch);

  nlohmann::json StateJson(std::string_view calendar_id) const;

  // Handlers (google-protocol.md §5-9) and control routes.
  net::Response GetCalendar(net::Request& req, const Principal& who, Outbox& out);
  net::Response InsertEvent(net::Request& req, const Principal& who, Outbox& out);
  net::Response GetEvent(net::Request& req, const Principal& who, Outbox& out);
  net::Response UpdateEvent(net::Request& req, const Principal& who, Outbox& out);
  net::Response PatchEvent(net::Request& req, const Principal& who, Outbox& out);
  net::Response WriteEvent(net::Request& req, const Principal& who, Outbox& out, bool patch);
  net::Response DeleteEvent(net::Request& req, const Principal& who, Outbox& out);
  net::Response WriteInstance(net::Request& req, Outbox& out, Calendar& cal, Event& ev,
                              Instant start, const calendar_internal::WriteParams& write,
                              bool patch);
  net::Response ListInstances(net::Request& req, const Principal& who, Outbox& out);
  net::Response ListEvents(net::Request& req, const Principal& who, Outbox& out);
  net::Response FreeBusy(net::Request& req, const Principal& who, Outbox& out);
  net::Response Watch(net::Request& req, const Principal& who, Outbox& out);
  net::Response StopChannel(net::Request& req, const Principal& who, Outbox& out);
  net::Response ControlGet(net::Request& req, Outbox& out);
  net::Response ControlSet(net::Request& req, Outbox& out);
  net::Response ControlConference(net::Request& req, Outbox& out);
  net::Response ControlInvalidate(net::Request& req, Outbox& out);
  net::Response ControlInsertEvent(net::Request& req, Outbox& out);
};

}  // namespace telemeet::emulator
