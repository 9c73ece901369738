#include "core/meeting.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/base32hex.h"
#include "core/time.h"

namespace telemeet::core {

using S = MeetingState;

bool WantsMeeting(const Service& service, const Appointment& appointment,
                  const MeetingPolicy& policy) {
  if (!service.telemedicine) return false;
  switch (appointment.status) {
    case AppointmentStatus::kBooked:
      return policy.create_at_booking;
    case AppointmentStatus::kConfirmed:
    case AppointmentStatus::kCompleted:
      return true;
    case AppointmentStatus::kCancelled:
      return false;
  }
  return false;
}

std::string EventIdFor(std::string_view appointment_uid) {
  return Base32HexEncode(std::string("tm") + std::string(appointment_uid));
}

bool IsValidEventId(std::string_view id) {
  if (id.size() < 5 || id.size() > 1024) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'v') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string RequestIdFor(std::string_view appointment_uid, int32_t conference_attempt) {
  return fmt::format("{}-{}", appointment_uid, conference_attempt);
}

bool MayHaveEvent(MeetingState s) {
  switch (s) {
    case S::kCreating:
    case S::kConferencePending:
    case S::kReady:
    case S::kUpdating:
    case S::kCancelling:
    case S::kFailed:
    case S::kNeedsReconnect:
      return true;
    case S::kNotNeeded:
    case S::kAwaitingDoctor:
    case S::kCancelled:
      return false;
  }
  return true;
}

bool CanTransition(MeetingState from, MeetingState to) {
  if (from == to) return true;
  // Parking and giving up on a meeting that is no longer wanted are possible from anywhere.
  if (to == S::kNeedsReconnect || to == S::kNotNeeded) return true;
  switch (from) {
    case S::kNotNeeded:
      return to == S::kAwaitingDoctor || to == S::kCreating || to == S::kCancelled;
    case S::kAwaitingDoctor:
      return to == S::kCreating || to == S::kCancelled;
    case S::kCreating:
      return to == S::kConferencePending || to == S::kReady || to == S::kFailed ||
             to == S::kCancelling || to == S::kCancelled || to == S::kUpdating;
    case S::kConferencePending:
      return to == S::kReady || to == S::kFailed || to == S::kCancelling || to == S::kUpdating ||
             to == S::kCreating;
    case S::kReady:
      // kCreating: the event vanished at Google (404 on patch) and is made again.
      return to == S::kUpdating || to == S::kCancelling || to == S::kCreating ||
             to == S::kConferencePending;
    case S::kUpdating:
      return to == S::kReady || to == S::kFailed || to == S::kCancelling || to == S::kCreating ||
             to == S::kConferencePending;
    case S::kCancelling:
      return to == S::kCancelled || to == S::kFailed || to == S::kCreating;
    case S::kCancelled:
      return to == S::kCreating || to == S::kAwaitingDoctor;
    case S::kFailed:
      // Admin retry starts again; a cancel still cleans up.
      return to == S::kCreating || to == S::kCancelling || to == S::kCancelled;
    case S::kNeedsReconnect:
      return to == S::kCreating || to == S::kCancelling || to == S::kCancelled ||
             to == S::kAwaitingDoctor || to == S::kConferencePending || to == S::kReady ||
             to == S::kUpdating;
  }
  return false;
}

Status CheckMeetingTransition(MeetingState from, MeetingState to) {
  if (CanTransition(from, to)) return Ok();
  return Fail(ErrorCode::kFailedPrecondition,
              fmt::format("a meeting that is {} cannot become {}", Name(from), Name(to)),
              "meeting.state");
}

namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// FNV-1a, 64 bits: stable across builds and platforms (std::hash is not), and enough to tell
// a change; nothing relies on it being secret.
uint64_t Fnv1a(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

Result<EventReminders> ParseEventReminders(std::string_view text, std::string_view field) {
  const std::string_view kShape =
      "is \"default\" or up to 5 overrides such as \"popup:10,email:60\" (method popup or email, "
      "minutes 0..40320)";
  auto bad = [&](std::string_view why) -> Result<EventReminders> {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{} {}: {}", field, kShape, why),
                std::string(field));
  };
  EventReminders out;
  text = TrimSpaces(text);
  if (text == "default") return out;
  if (text.empty()) return bad("it is empty");
  out.use_default = false;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = TrimSpaces(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) return bad(fmt::format("\"{}\" has no minutes", item));
    std::string_view method = TrimSpaces(item.substr(0, colon));
    std::string_view minutes = TrimSpaces(item.substr(colon + 1));
    if (method != "popup" && method != "email") {
      return bad(fmt::format("\"{}\" is not a reminder method", method));
    }
    int value = -1;
    auto [end, ec] = std::from_chars(minutes.data(), minutes.data() + minutes.size(), value);
    if (ec != std::errc() || end != minutes.data() + minutes.size() || minutes.empty() ||
        value < 0 || value > kMaxReminderMinutes) {
      return bad(fmt::format("\"{}\" is not a number of minutes in 0..40320", minutes));
    }
    out.overrides.push_back({std::string(method), value});
    if (out.overrides.size() > kMaxReminderOverrides) return bad("more than 5 overrides");
    if (comma != std::string_view::npos && text.empty()) return bad("it ends with a comma");
  }
  return out;
}

std::string FormatEventReminders(const EventReminders& r) {
  if (r.use_default) return "default";
  std::string out;
  for (const ReminderOverride& o : r.overrides) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}:{}", o.method, o.minutes);
  }
  return out;
}

std::vector<Guest> GuestsFor(const Patient& patient, const MeetingPolicy& policy) {
  if (!policy.invite_patient || patient.email.empty()) return {};
  return {Guest{.email = patient.email, .name = patient.name}};
}

std::string GuestsFingerprint(const std::vector<Guest>& guests) {
  if (guests.empty()) return "";
  std::vector<std::string> lines;
  lines.reserve(guests.size());
  for (const Guest& g : guests) lines.push_back(Lower(g.email) + '\n' + g.name + '\n');
  std::sort(lines.begin(), lines.end());
  uint64_t h = Fnv1a("guests\n");
  for (const std::string& line : lines) h = Fnv1a(line, h);
  return fmt::format("g1:{:016x}", h);
}

std::string RemindersFingerprint(const EventReminders& r) {
  if (r.use_default) return "";
  // Not personal data: the text form itself, so the row says what the event was given.
  return FormatEventReminders(r);
}

Desired DesiredFor(const Service& service, const Appointment& appointment, const Patient& patient,
                   const MeetingPolicy& policy, std::optional<GrantStatus> grant) {
  Desired d = DesiredFor(service, appointment, policy, grant);
  d.guests = GuestsFor(patient, policy);
  d.attendees_fingerprint = GuestsFingerprint(d.guests);
  return d;
}

Desired DesiredFor(const Service& service, const Appointment& appointment,
                   const MeetingPolicy& policy, std::optional<GrantStatus> grant) {
  Desired d;
  d.reminders = policy.reminders;
  d.reminders_fingerprint = RemindersFingerprint(policy.reminders);
  d.wanted = WantsMeeting(service, appointment, policy);
  d.cancelled = appointment.status == AppointmentStatus::kCancelled;
  d.start = appointment.start;
  d.end = appointment.end;
  d.revision = appointment.revision;
  d.grant = grant;
  return d;
}

std::string_view Name(Action a) {
  switch (a) {
    case Action::kNothing:
      return "nothing";
    case Action::kInsert:
      return "insert";
    case Action::kPoll:
      return "poll";
    case Action::kPatch:
      return "patch";
    case Action::kPatchGuests:
      return "patch_guests";
    case Action::kDelete:
      return "delete";
    case Action::kPark:
      return "park";
  }
  return "unknown";
}

Decision NextAction(const Desired& desired, const Meeting& actual) {
  const bool connected = desired.grant == GrantStatus::kActive;
  const bool exists = MayHaveEvent(actual.state);

  if (!desired.wanted) {
    if (exists) {
      // An event may be at Google: it has to go, which needs the doctor's grant.
      if (!connected) return {Action::kPark, S::kNeedsReconnect};
      return {Action::kDelete, S::kCancelling};
    }
    // Nothing at Google. A meeting that had started its life ends as cancelled.
    bool had_life = actual.state != S::kNotNeeded && actual.state != S::kAwaitingDoctor;
    return {Action::kNothing, desired.cancelled && had_life ? S::kCancelled : S::kNotNeeded};
  }

  // Wanted.
  if (actual.state == S::kFailed) return {Action::kNothing, S::kFailed};  // admin retry
  if (!desired.grant.has_value() || *desired.grant == GrantStatus::kDisconnected) {
    // Never connected (or disconnected on purpose): wait for the doctor. An event that may
    // exist is adopted by the insert after connecting.
    return {Action::kNothing, exists ? S::kNeedsReconnect : S::kAwaitingDoctor};
  }
  if (!connected) return {Action::kPark, S::kNeedsReconnect};

  switch (actual.state) {
    case S::kConferencePending:
      return {Action::kPoll, S::kConferencePending};
    case S::kReady:
    case S::kUpdating:
      if (FloorToSecond(actual.synced_start) != FloorToSecond(desired.start) ||
          FloorToSecond(actual.synced_end) != FloorToSecond(desired.end)) {
        return {Action::kPatch, S::kUpdating};
      }
      if (!actual.drift.empty()) {
        // The doctor moved or deleted the event in Google by hand; the clinic was told. The
        // next change of the appointment puts the event back as the clinic has it; until then
        // it is left as it is (its guests too).
        if (desired.revision != actual.synced_revision) return {Action::kPatch, S::kUpdating};
        return {Action::kNothing, S::kReady};
      }
      if (desired.attendees_fingerprint != actual.attendees_fingerprint ||
          desired.reminders_fingerprint != actual.reminders_fingerprint) {
        return {Action::kPatchGuests, S::kUpdating};
      }
      return {Action::kNothing, S::kReady};
    default:
      // not_needed, awaiting_doctor, creating, cancelling, cancelled, needs_reconnect: the
      // event may or may not exist; an insert with our id either creates it or answers 409
      // and the worker adopts what is there.
      return {Action::kInsert, S::kCreating};
  }
}

}  // namespace telemeet::core
