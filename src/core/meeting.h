// The meeting side of reconciliation (DESIGN.md "The heart"): whether an appointment wants a
// Google Meet, the ids we choose for Google, the legal meeting state transitions, and the one
// pure decision the worker acts on: given what is desired and what exists, which single call
// closes the gap.
//
//   Desired d = DesiredFor(service, appointment, policy, grant_status_or_nullopt);
//   Decision next = NextAction(d, meeting);
//   switch (next.action) { case Action::kInsert: ... }    // then record next.state
//
// Event ids are ours: EventIdFor(appointment.uid) is stable, so a repeated insert answers 409
// and the worker adopts the event instead of creating a second one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/types.h"

namespace telemeet::core {

// The event's own reminders (M23): the calendar's defaults, or at most 5 overrides, each a
// method ("popup" or "email") and 0..40320 minutes before the start (Google's limits).
struct ReminderOverride {
  std::string method;
  int minutes = 0;
  friend bool operator==(const ReminderOverride&, const ReminderOverride&) = default;
};
struct EventReminders {
  bool use_default = true;
  std::vector<ReminderOverride> overrides;  // empty when use_default
  friend bool operator==(const EventReminders&, const EventReminders&) = default;
};
inline constexpr size_t kMaxReminderOverrides = 5;
inline constexpr int kMaxReminderMinutes = 40320;

// The text form kept in settings and the config file: "default", or overrides such as
// "popup:10,email:60". kInvalidArgument naming `field` for anything else (an unknown method,
// minutes out of range, more than 5 overrides).
Result<EventReminders> ParseEventReminders(std::string_view text, std::string_view field);
std::string FormatEventReminders(const EventReminders& reminders);

struct MeetingPolicy {
  // false: a meeting is wanted once the appointment is confirmed; true: already when booked.
  bool create_at_booking = false;
  // M14: the patient (when they have an email) is an attendee of the event, so Google's
  // invitation and update emails (sendUpdates) reach them.
  bool invite_patient = false;
  EventReminders reminders{};
};

// An attendee of the event as we want it.
struct Guest {
  std::string email;
  std::string name;
  friend bool operator==(const Guest&, const Guest&) = default;
};

// The event's attendees under `policy`: the patient when invitations are on and they have an
// email; else none.
std::vector<Guest> GuestsFor(const Patient& patient, const MeetingPolicy& policy);

// Stable short digests that tell whether an event's attendees or reminders need a patch
// (Meeting::attendees_fingerprint, reminders_fingerprint). Emails are not kept in the meeting
// row, only a digest; the order of guests and the case of emails do not matter. No guests and
// the calendar's defaults give "" (what meetings made before these existed hold).
std::string GuestsFingerprint(const std::vector<Guest>& guests);
std::string RemindersFingerprint(const EventReminders& reminders);

// Telemedicine service, appointment not cancelled, and confirmed (or booked when the policy
// says so). Completed appointments keep the meeting they have, so they count as wanted.
bool WantsMeeting(const Service& service, const Appointment& appointment,
                  const MeetingPolicy& policy);

// Google event id for an appointment: base32hex of "tm" + uid; only a-v and 0-9, 5-1024
// characters, as Calendar requires. Stable for the appointment's life.
std::string EventIdFor(std::string_view appointment_uid);

// True when `id` is acceptable to Google as an event id.
bool IsValidEventId(std::string_view id);

// conferenceData.createRequest.requestId: stable across retries of one attempt, new when a
// failed conference is deliberately retried ("<uid>-<attempt>").
std::string RequestIdFor(std::string_view appointment_uid, int32_t conference_attempt);

// Self-transitions are allowed; see meeting.cc for the table.
bool CanTransition(MeetingState from, MeetingState to);
// kFailedPrecondition naming "meeting.state" when !CanTransition.
Status CheckMeetingTransition(MeetingState from, MeetingState to);

// States in which an event with our id may exist at Google (deleting it is then due when the
// meeting is no longer wanted; a 404 answer just means it did not).
bool MayHaveEvent(MeetingState s);

// What the appointment side wants.
struct Desired {
  bool wanted = false;     // WantsMeeting()
  bool cancelled = false;  // the appointment is cancelled
  Instant start{};
  Instant end{};
  int64_t revision = 0;
  // The doctor's grant: nullopt = never connected.
  std::optional<GrantStatus> grant;
  // The event's attendees and reminders, and their fingerprints.
  std::vector<Guest> guests;
  EventReminders reminders;
  std::string attendees_fingerprint;
  std::string reminders_fingerprint;
};

// Without a patient: no guests.
Desired DesiredFor(const Service& service, const Appointment& appointment,
                   const MeetingPolicy& policy, std::optional<GrantStatus> grant);
Desired DesiredFor(const Service& service, const Appointment& appointment, const Patient& patient,
                   const MeetingPolicy& policy, std::optional<GrantStatus> grant);

enum class Action {
  kNothing,  // in step (or waiting for a person: doctor to connect, admin to retry)
  kInsert,   // events.insert with our event id and a createRequest (409 → adopt)
  kPoll,     // events.get until the conference leaves "pending"
  kPatch,    // events.patch start/end
  // events.patch of attendees and/or reminders only (the patient's email or the policy
  // changed); the times and the conference are not touched.
  kPatchGuests,
  kDelete,  // events.delete (404/410 = done)
  kPark,    // Google work is due but the grant is gone: park until reconnect
};
std::string_view Name(Action a);

struct Decision {
  Action action = Action::kNothing;
  // The state to record now: for kNothing the settled state; for a call, the state while it
  // is due or in flight (creating, conference_pending, updating, cancelling); for kPark
  // needs_reconnect.
  MeetingState state = MeetingState::kNotNeeded;
};

// Pure: the one step that closes the gap between `desired` and `actual`. A meeting whose event
// drifted in Google (actual.drift: moved or deleted there by hand) is left as it is until the
// appointment changes (a new revision); then it is patched back (restored) like a reschedule.
// Attendees and reminders are patched once the times are in step and there is no drift.
Decision NextAction(const Desired& desired, const Meeting& actual);

}  // namespace telemeet::core
