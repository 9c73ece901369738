// Whether a consultation took place (M31), decided from what Google Meet recorded: the
// conference records of the appointment's meeting code, their participants and each
// participant's sessions (joins and leaves). Pure: the Meet client reads, the sync layer stores,
// this decides, so every rule here is tested without I/O.
//
//   std::vector<MeetConference> seen = ...;   // from conferenceRecords/participants/sessions
//   AttendanceFacts facts = SummarizeAttendance(seen, "users/1234", now);
//   AttendanceOutcome o = OutcomeOf(facts, std::chrono::minutes(5));   // kAttended, kNoShow...
//   AttendanceStep next = NextAttendanceStep(facts, polls_done, schedule, appointment_end, now);
//
// Names never enter here: a participant is its kind and, when signed in, its Google user id,
// which is compared with the doctor's and then forgotten.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::core {

enum class MeetParticipantKind { kSignedIn, kAnonymous, kPhone };

// One join of one participant on one device; no end while still in the call.
struct MeetSession {
  Instant start{};
  std::optional<Instant> end{};
};

struct MeetParticipant {
  MeetParticipantKind kind = MeetParticipantKind::kAnonymous;
  std::string user;  // "users/{id}" for a signed-in participant; empty otherwise
  std::vector<MeetSession> sessions;
};

// One conference held in the meeting space; no end while it is running.
struct MeetConference {
  Instant start{};
  std::optional<Instant> end{};
  std::vector<MeetParticipant> participants;
};

// What the records say, in counts and times only.
struct AttendanceFacts {
  int conferences = 0;
  bool doctor_joined = false;
  int others_joined = 0;  // participants other than the doctor with at least one session
  // Time in which the doctor and at least one other participant were in the call together
  // (the union of the doctor's sessions intersected with the union of everyone else's).
  std::chrono::seconds overlap{0};
  std::optional<Instant> first_join;  // the earliest session start of anyone
  std::optional<Instant> last_leave;  // the latest session end; nullopt while someone is in
  // A conference or a session is still running: the facts may still change. Running sessions
  // count up to `now` in the overlap.
  bool running = false;

  friend bool operator==(const AttendanceFacts&, const AttendanceFacts&) = default;
};

// Sums up the conferences. `doctor_user` is the doctor's "users/{id}"; when empty no
// participant can be the doctor (the doctor's Google id is not known). A session whose end is
// before its start counts as empty.
AttendanceFacts SummarizeAttendance(const std::vector<MeetConference>& conferences,
                                    std::string_view doctor_user, Instant now);

// The overlap in whole minutes (rounded down).
int64_t OverlapMinutes(const AttendanceFacts& facts);

enum class AttendanceOutcome {
  kAttended,      // the doctor and someone else overlapped at least the minimum
  kShort,         // both joined, but overlapped less than the minimum
  kNoShow,        // the doctor was there, nobody else came
  kDoctorAbsent,  // someone came, the doctor did not
  kNobody,        // no one joined (or no conference at all)
};
std::string_view Name(AttendanceOutcome o);
Result<AttendanceOutcome> ParseAttendanceOutcome(std::string_view s,
                                                 std::string_view field = "outcome");

AttendanceOutcome OutcomeOf(const AttendanceFacts& facts, std::chrono::minutes min_overlap);

// When to look at the records, counted from the appointment's end.
struct AttendanceSchedule {
  std::chrono::microseconds grace{std::chrono::minutes(10)};  // the first look, after the end
  int polls = 3;  // looks in all while the outcome is not final
  std::chrono::microseconds interval{std::chrono::minutes(10)};  // between looks
  // A conference still running is waited for this long after the end.
  std::chrono::microseconds max_wait{std::chrono::hours(6)};
};

struct AttendanceStep {
  bool final = false;  // record the outcome as final, look no more
  // Otherwise: look again at this instant (waiting for a running conference does not use up a
  // poll).
  Instant next_look{};
  bool counts_as_poll = true;
};

// After a look at the records (`polls_done` counts it): final when nothing runs and someone
// attended, or when the polls are used up; a running conference is waited for until
// end + max_wait, when the facts so far are final.
AttendanceStep NextAttendanceStep(const AttendanceFacts& facts, AttendanceOutcome outcome,
                                  int polls_done, const AttendanceSchedule& schedule,
                                  Instant appointment_end, Instant now);

// The admin's policies (settings attendance.mode, attendance.min_minutes, meeting.access_type).
// off: Meet's records are not read; record: the summary is kept and shown; complete: also
// marks the appointment completed when attended, and flags a no-show.
enum class AttendanceMode { kOff, kRecord, kComplete };
std::string_view Name(AttendanceMode m);
Result<AttendanceMode> ParseAttendanceMode(std::string_view s,
                                           std::string_view field = "attendance");
inline constexpr int kMaxAttendanceMinMinutes = 24 * 60;

// meeting.access_type as telemeet names it ("default", "open", "trusted", "restricted") and as
// Meet does ("" for default: the space is left as Google made it; "OPEN", "TRUSTED",
// "RESTRICTED"). kInvalidArgument naming `field` for anything else.
Result<std::string> MeetAccessTypeFor(std::string_view policy,
                                      std::string_view field = "access_type");

// The settings' keys (the API's PATCH /api/v1/settings/meetings writes them).
inline constexpr std::string_view kSettingAttendance = "attendance.mode";  // off|record|complete
inline constexpr std::string_view kSettingAttendanceMinMinutes = "attendance.min_minutes";
inline constexpr std::string_view kSettingAccessType =
    "meeting.access_type";  // default|open|trusted|restricted

// The Meet policy in force: the settings over the configured defaults.
struct MeetPolicy {
  AttendanceMode attendance = AttendanceMode::kOff;
  int min_minutes = 5;
  std::string access_type;  // Meet's value ("RESTRICTED"); "" leaves the space as it is

  // Whether a ready meeting has Meet work to do (sync/attendance.h's "meet" job): an access
  // type to apply, or attendance to read.
  bool WantsWork() const { return attendance != AttendanceMode::kOff || !access_type.empty(); }
};
// The configured defaults (the config's attendance.mode, attendance.min_minutes and
// meeting.access_type, in telemeet's names); an invalid value reads as off, 5, default.
MeetPolicy MeetPolicyDefaults(std::string_view attendance_mode, int min_minutes,
                              std::string_view access_type);
// `out` with the settings among `settings` (key, value) applied; unknown or invalid values
// leave the default.
MeetPolicy MeetPolicyFrom(const std::vector<std::pair<std::string, std::string>>& settings,
                          MeetPolicy out);

// What telemeet keeps about an appointment's attendance (the store's attendance_summaries):
// the facts in counts and times, never names.
enum class AttendanceState {
  kWaiting,       // looked (or not yet): looks again at next_look_at
  kFinal,         // the outcome is settled; no more looks
  kScopeMissing,  // the doctor has not granted the Meet read scope: the feature is off for them
  kUnavailable,   // cannot be told (the doctor's Google id is unknown, no meeting code, a refusal)
};
std::string_view Name(AttendanceState s);
Result<AttendanceState> ParseAttendanceState(std::string_view s, std::string_view field = "state");

struct AttendanceRecord {
  int64_t appointment_id = 0;
  AttendanceState state = AttendanceState::kWaiting;
  std::optional<AttendanceOutcome> outcome;  // nullopt until the records were read
  int32_t polls = 0;                         // looks that counted (AttendanceStep)
  AttendanceFacts facts{};
  // What policy "complete" did with a final outcome: "completed", "no_show" or "".
  std::string action;
  std::string last_error;
  std::optional<Instant> checked_at;    // the last look
  std::optional<Instant> next_look_at;  // while waiting
  Instant updated_at{};
};

// Who may join (M32): the access type the policy wants for the meeting's Meet space and what
// became of the patch (the store's meeting_access).
struct MeetingAccess {
  int64_t appointment_id = 0;
  std::string meeting_code;  // the space this is about ("abc-mnop-xyz")
  std::string wanted;        // OPEN, TRUSTED or RESTRICTED
  std::string applied;       // what spaces.patch answered; "" until it succeeded
  // "applied"; "retrying" (a transient failure, tried again); "failed" or "scope_missing"
  // (not tried again until the wanted type or the space changes).
  std::string state;
  std::string last_error;
  Instant updated_at{};
};

}  // namespace telemeet::core
