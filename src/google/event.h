// Calendar v3 events as typed values (google-protocol.md §5, §7), and their JSON both ways.
// An EventSpec is what we ask for; an Event is what Google answered, with the conference state
// read the safe way: a join URL only when the conference is `success`, taken from the video
// entry point, else from hangoutLink.
//
//   EventSpec spec{.id = "a1b2c3d4e5", .summary = "Consultation", .start = {...}, .end = {...},
//                  .conference_request_id = "appt-42-1"};
//   nlohmann::json body = EventSpecToJson(spec);          // for insert
//   GoogleResult<Event> e = ParseEvent(response_body);
//   if (e->conference.status == ConferenceStatus::kSuccess) publish(e->conference.join_url);
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "google/google_error.h"

namespace telemeet::google {

enum class SendUpdates { kAll, kExternalOnly, kNone };
std::string_view SendUpdatesName(SendUpdates v);  // "all", "externalOnly", "none"

enum class Visibility { kDefault, kPublic, kPrivate, kConfidential };
std::string_view VisibilityName(Visibility v);

// RFC 3339 with an offset plus the IANA zone, or an all-day `date` (YYYY-MM-DD).
struct EventDateTime {
  std::string date_time{};  // "2026-03-01T09:00:00+01:00"
  std::string time_zone{};  // "Europe/Paris"
  std::string date{};       // all-day events only
  friend bool operator==(const EventDateTime&, const EventDateTime&) = default;
};

struct Attendee {
  std::string email{};
  std::string display_name{};
  bool optional = false;
  std::string response_status{};  // read only: needsAction, accepted, ...
  bool self = false;              // read only: the calendar's owner (Google lists the organizer)
  friend bool operator==(const Attendee&, const Attendee&) = default;
};

struct ReminderOverride {
  std::string method{};  // "email" | "popup"
  int minutes = 0;       // 0..40320
  friend bool operator==(const ReminderOverride&, const ReminderOverride&) = default;
};

struct Reminders {
  bool use_default = true;
  std::vector<ReminderOverride> overrides{};  // at most 5
  friend bool operator==(const Reminders&, const Reminders&) = default;
};

// What we ask Google to hold.
struct EventSpec {
  std::string id;  // base32hex (a-v, 0-9), 5..1024 characters, chosen by us
  std::string summary{};
  std::string description{};
  std::string location{};
  EventDateTime start{};
  EventDateTime end{};
  std::vector<Attendee> attendees{};
  Visibility visibility = Visibility::kPrivate;
  std::optional<Reminders> reminders{};
  std::map<std::string, std::string> private_properties{};  // extendedProperties.private
  // Non-empty: ask for a Google Meet (createRequest, hangoutsMeet) under this requestId.
  std::string conference_request_id{};
  // RFC 5545 lines ("RRULE:FREQ=WEEKLY;COUNT=10") making this a recurring event; start and end
  // are then the first occurrence and must carry timeZone (google-protocol.md §15).
  std::vector<std::string> recurrence{};
};

enum class ConferenceStatus { kNone, kPending, kSuccess, kFailure };
std::string_view ConferenceStatusName(ConferenceStatus s);

struct Conference {
  ConferenceStatus status = ConferenceStatus::kNone;
  std::string request_id{};
  std::string conference_id{};  // "aaa-bbbb-ccc" for Meet
  std::string solution_type{};  // "hangoutsMeet"
  std::string join_url{};       // set only when status is kSuccess and a https link exists
  nlohmann::json raw;           // conferenceData as Google sent it (null when absent)
};

// What Google holds.
struct Event {
  std::string id{};
  std::string status{};  // "confirmed", "tentative", "cancelled"
  std::string etag{};
  std::string html_link{};
  std::string ical_uid{};
  std::string updated{};
  std::string summary{};
  std::string description{};
  std::string location{};
  EventDateTime start{};
  EventDateTime end{};
  std::string visibility{};
  std::vector<Attendee> attendees{};
  std::optional<Reminders> reminders{};  // nullopt when the answer has none
  std::map<std::string, std::string> private_properties{};
  Conference conference{};
  std::string hangout_link{};

  bool cancelled() const { return status == "cancelled"; }
};

// True when `id` is a valid client-chosen event id.
bool ValidEventId(std::string_view id);

// The body for insert (and the base of update): every spec field, and a createRequest when
// spec.conference_request_id is set.
nlohmann::json EventSpecToJson(const EventSpec& spec);
nlohmann::json EventDateTimeToJson(const EventDateTime& t);
// `attendees` (an array, possibly empty) and `reminders` ({"useDefault": ...}) as Google reads
// them in insert, update and patch bodies.
nlohmann::json AttendeesToJson(const std::vector<Attendee>& attendees);
nlohmann::json RemindersToJson(const Reminders& reminders);

// Parses an event resource. kBadResponse when the body is not an event.
GoogleResult<Event> ParseEvent(std::string_view body);
GoogleResult<Event> EventFromJson(const nlohmann::json& value);

}  // namespace telemeet::google
