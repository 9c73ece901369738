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

#include "base/error.h"
#include "core/types.h"

namespace telemeet::core {

struct MeetingPolicy {
  // false: a meeting is wanted once the appointment is confirmed; true: already when booked.
  bool create_at_booking = false;
};

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
};

Desired DesiredFor(const Service& service, const Appointment& appointment,
                   const MeetingPolicy& policy, std::optional<GrantStatus> grant);

enum class Action {
  kNothing,  // in step (or waiting for a person: doctor to connect, admin to retry)
  kInsert,   // events.insert with our event id and a createRequest (409 → adopt)
  kPoll,     // events.get until the conference leaves "pending"
  kPatch,    // events.patch start/end
  kDelete,   // events.delete (404/410 = done)
  kPark,     // Google work is due but the grant is gone: park until reconnect
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
Decision NextAction(const Desired& desired, const Meeting& actual);

}  // namespace telemeet::core
