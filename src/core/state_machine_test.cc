#include <gtest/gtest.h>

#include "core/appointment.h"
#include "core/meeting.h"
#include "core/time.h"

namespace telemeet::core {
namespace {

using AS = AppointmentStatus;
using MS = MeetingState;

TEST(AppointmentStatusTest, LegalAndIllegalTransitions) {
  EXPECT_TRUE(CheckStatusTransition(AS::kBooked, AS::kConfirmed));
  EXPECT_TRUE(CheckStatusTransition(AS::kConfirmed, AS::kCompleted));
  EXPECT_TRUE(CheckStatusTransition(AS::kBooked, AS::kCancelled));
  EXPECT_TRUE(CheckStatusTransition(AS::kConfirmed, AS::kCancelled));
  EXPECT_TRUE(CheckStatusTransition(AS::kConfirmed, AS::kConfirmed));
  for (auto [from, to] : {std::pair{AS::kBooked, AS::kCompleted},
                          {AS::kConfirmed, AS::kBooked},
                          {AS::kCompleted, AS::kCancelled},
                          {AS::kCancelled, AS::kConfirmed},
                          {AS::kCancelled, AS::kBooked},
                          {AS::kCompleted, AS::kConfirmed}}) {
    auto s = CheckStatusTransition(from, to);
    ASSERT_FALSE(s) << Name(from) << "->" << Name(to);
    EXPECT_EQ(s.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_EQ(s.error().field(), "status");
  }
  EXPECT_TRUE(IsFinal(AS::kCancelled));
  EXPECT_FALSE(IsFinal(AS::kConfirmed));
}

TEST(EnumNamesTest, RoundTrip) {
  for (auto s :
       {MS::kNotNeeded, MS::kAwaitingDoctor, MS::kCreating, MS::kConferencePending, MS::kReady,
        MS::kUpdating, MS::kCancelling, MS::kCancelled, MS::kFailed, MS::kNeedsReconnect}) {
    EXPECT_EQ(*ParseMeetingState(Name(s)), s);
  }
  EXPECT_EQ(Name(MS::kConferencePending), "conference_pending");
  EXPECT_EQ(*ParseAppointmentStatus("cancelled"), AS::kCancelled);
  auto bad = ParseAppointmentStatus("deleted", "status");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "status");
  EXPECT_EQ(*ParseRole("admin"), Role::kAdmin);
  EXPECT_EQ(*ParseGrantStatus("needs_reconnect"), GrantStatus::kNeedsReconnect);
}

TEST(MeetingTest, WantsMeetingFollowsServiceStatusAndPolicy) {
  Service tele, office;
  tele.telemedicine = true;
  office.telemedicine = false;
  Appointment a;
  MeetingPolicy on_confirm, at_booking;
  at_booking.create_at_booking = true;
  a.status = AS::kBooked;
  EXPECT_FALSE(WantsMeeting(tele, a, on_confirm));
  EXPECT_TRUE(WantsMeeting(tele, a, at_booking));
  a.status = AS::kConfirmed;
  EXPECT_TRUE(WantsMeeting(tele, a, on_confirm));
  EXPECT_FALSE(WantsMeeting(office, a, at_booking));
  a.status = AS::kCompleted;
  EXPECT_TRUE(WantsMeeting(tele, a, on_confirm));
  a.status = AS::kCancelled;
  EXPECT_FALSE(WantsMeeting(tele, a, at_booking));
}

TEST(MeetingTest, EventIdsAreValidStableAndDistinct) {
  std::string a = EventIdFor("0123456789abcdef0123456789abcdef");
  std::string b = EventIdFor("0123456789abcdef0123456789abcdee");
  EXPECT_TRUE(IsValidEventId(a)) << a;
  EXPECT_EQ(a, EventIdFor("0123456789abcdef0123456789abcdef"));
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsValidEventId(EventIdFor("1")));  // short uids still give >= 5 chars
  EXPECT_FALSE(IsValidEventId("abcw1"));
  EXPECT_FALSE(IsValidEventId("abc"));
  EXPECT_FALSE(IsValidEventId("ABCDE"));
  EXPECT_EQ(RequestIdFor("u1", 2), "u1-2");
}

TEST(MeetingTest, TransitionTable) {
  EXPECT_TRUE(CheckMeetingTransition(MS::kCreating, MS::kConferencePending));
  EXPECT_TRUE(CheckMeetingTransition(MS::kConferencePending, MS::kReady));
  EXPECT_TRUE(CheckMeetingTransition(MS::kReady, MS::kUpdating));
  EXPECT_TRUE(CheckMeetingTransition(MS::kCancelling, MS::kCancelled));
  EXPECT_TRUE(CheckMeetingTransition(MS::kFailed, MS::kCreating));
  EXPECT_TRUE(CheckMeetingTransition(MS::kReady, MS::kNeedsReconnect));
  auto bad = CheckMeetingTransition(MS::kNotNeeded, MS::kReady);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(CanTransition(MS::kCancelled, MS::kReady));
  EXPECT_FALSE(CanTransition(MS::kAwaitingDoctor, MS::kReady));
  EXPECT_FALSE(CanTransition(MS::kFailed, MS::kReady));
}

class NextActionTest : public ::testing::Test {
 protected:
  Desired Want() {
    Desired d;
    d.wanted = true;
    d.start = *ParseRfc3339("2026-03-30T08:00:00Z");
    d.end = *ParseRfc3339("2026-03-30T08:30:00Z");
    d.revision = 3;
    d.grant = GrantStatus::kActive;
    return d;
  }
  Meeting With(MS state, const Desired& d) {
    Meeting m;
    m.state = state;
    m.synced_start = d.start;
    m.synced_end = d.end;
    return m;
  }
};

TEST_F(NextActionTest, CreatesWhenWantedAndNothingExists) {
  Desired d = Want();
  for (MS s : {MS::kNotNeeded, MS::kAwaitingDoctor, MS::kCreating, MS::kNeedsReconnect}) {
    Decision n = NextAction(d, With(s, d));
    EXPECT_EQ(n.action, Action::kInsert) << Name(s);
    EXPECT_EQ(n.state, MS::kCreating);
  }
}

TEST_F(NextActionTest, PollsPendingConference) {
  Desired d = Want();
  EXPECT_EQ(NextAction(d, With(MS::kConferencePending, d)).action, Action::kPoll);
}

TEST_F(NextActionTest, PatchesOnlyWhenTimesDiffer) {
  Desired d = Want();
  Decision same = NextAction(d, With(MS::kReady, d));
  EXPECT_EQ(same.action, Action::kNothing);
  EXPECT_EQ(same.state, MS::kReady);
  Meeting m = With(MS::kReady, d);
  m.synced_end = d.end - std::chrono::minutes(10);
  Decision moved = NextAction(d, m);
  EXPECT_EQ(moved.action, Action::kPatch);
  EXPECT_EQ(moved.state, MS::kUpdating);
  // A revision bump without a time change (e.g. notes) needs no call.
  d.revision = 9;
  EXPECT_EQ(NextAction(d, With(MS::kReady, d)).action, Action::kNothing);
  // Google keeps whole seconds: an appointment stored with a fraction (before the API floored
  // times) matches its event, instead of being patched forever.
  Meeting from_google = With(MS::kReady, d);
  d.start += std::chrono::milliseconds(250);
  EXPECT_EQ(NextAction(d, from_google).action, Action::kNothing);
}

TEST_F(NextActionTest, DriftInGoogleIsRestoredOnlyWhenTheAppointmentChanges) {
  Desired d = Want();
  for (const char* drift : {"moved", "deleted"}) {
    Meeting m = With(MS::kReady, d);
    m.synced_revision = d.revision;
    m.drift = drift;
    EXPECT_EQ(NextAction(d, m).action, Action::kNothing) << drift << ": reported, left as is";
    Desired changed = d;
    changed.revision = d.revision + 1;  // e.g. the clinic edited the appointment
    Decision restore = NextAction(changed, m);
    EXPECT_EQ(restore.action, Action::kPatch) << drift;
    EXPECT_EQ(restore.state, MS::kUpdating);
  }
}

TEST_F(NextActionTest, PatchesGuestsWhenTheirFingerprintsDiffer) {
  Patient amy{.id = 1, .name = "Amy", .email = "amy@patients.example"};
  Service tele{.id = 1, .name = "Video", .telemedicine = true};
  Appointment a{.id = 1, .uid = "u1", .status = AS::kConfirmed, .revision = 3};
  MeetingPolicy off;
  MeetingPolicy on{.invite_patient = true};
  Desired without = DesiredFor(tele, a, amy, off, GrantStatus::kActive);
  Desired with = DesiredFor(tele, a, amy, on, GrantStatus::kActive);
  EXPECT_TRUE(without.guests.empty());
  ASSERT_EQ(with.guests.size(), 1u);
  EXPECT_EQ(with.guests[0].email, "amy@patients.example");
  EXPECT_EQ(without.attendees_fingerprint, "") << "what every earlier meeting holds";
  EXPECT_NE(with.attendees_fingerprint, "");
  // The fingerprint holds no email.
  EXPECT_EQ(with.attendees_fingerprint.find("amy"), std::string::npos);
  // Invitations on but no email: nobody to invite.
  Patient no_email = amy;
  no_email.email.clear();
  EXPECT_TRUE(DesiredFor(tele, a, no_email, on, GrantStatus::kActive).guests.empty());

  // A meeting made with invitations off: turning them on patches the guests, nothing else.
  Meeting made = With(MS::kReady, without);
  EXPECT_EQ(NextAction(without, made).action, Action::kNothing);
  Decision invite = NextAction(with, made);
  EXPECT_EQ(invite.action, Action::kPatchGuests);
  EXPECT_EQ(invite.state, MS::kUpdating);
  // A new email is a new fingerprint; the case of an email is not.
  Patient moved = amy;
  moved.email = "amy@elsewhere.example";
  Meeting invited = made;
  invited.attendees_fingerprint = with.attendees_fingerprint;
  EXPECT_EQ(NextAction(with, invited).action, Action::kNothing);
  EXPECT_EQ(NextAction(DesiredFor(tele, a, moved, on, GrantStatus::kActive), invited).action,
            Action::kPatchGuests);
  Patient shouting = amy;
  shouting.email = "AMY@patients.example";
  EXPECT_EQ(NextAction(DesiredFor(tele, a, shouting, on, GrantStatus::kActive), invited).action,
            Action::kNothing);
  // Reminders too.
  MeetingPolicy popup{.invite_patient = true,
                      .reminders = {.use_default = false, .overrides = {{"popup", 10}}}};
  Desired with_popup = DesiredFor(tele, a, amy, popup, GrantStatus::kActive);
  EXPECT_EQ(with_popup.reminders_fingerprint, "popup:10");
  EXPECT_EQ(NextAction(with_popup, invited).action, Action::kPatchGuests);
  // Times first: a moved appointment is patched (times) before its guests.
  Meeting late = made;
  late.synced_start = with.start - std::chrono::hours(1);
  EXPECT_EQ(NextAction(with, late).action, Action::kPatch);
  // A drifted event is left as the doctor made it, guests included, until the appointment
  // changes.
  Meeting drifted = made;
  drifted.drift = "moved";
  drifted.synced_revision = with.revision;
  EXPECT_EQ(NextAction(with, drifted).action, Action::kNothing);
}

TEST(EventRemindersTest, ParsesAndFormats) {
  auto d = ParseEventReminders("default", "event_reminders");
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->use_default);
  EXPECT_EQ(FormatEventReminders(*d), "default");
  auto two = ParseEventReminders(" popup:10, email:60 ", "event_reminders");
  ASSERT_TRUE(two.has_value()) << two.error().ToString();
  EXPECT_FALSE(two->use_default);
  ASSERT_EQ(two->overrides.size(), 2u);
  EXPECT_EQ(two->overrides[1], (ReminderOverride{"email", 60}));
  EXPECT_EQ(FormatEventReminders(*two), "popup:10,email:60");
  EXPECT_TRUE(ParseEventReminders("popup:0,popup:40320", "f").has_value());
  for (const char* bad : {"", "sms:5", "popup", "popup:-1", "popup:40321", "popup:1x", "popup:",
                          "popup:10,", "popup:1,popup:2,popup:3,popup:4,popup:5,popup:6"}) {
    auto r = ParseEventReminders(bad, "event_reminders");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(r.error().field(), "event_reminders") << bad;
  }
}

TEST_F(NextActionTest, DeletesWhenNoLongerWanted) {
  Desired d = Want();
  d.wanted = false;
  d.cancelled = true;
  for (MS s : {MS::kCreating, MS::kConferencePending, MS::kReady, MS::kUpdating, MS::kCancelling,
               MS::kFailed}) {
    Decision n = NextAction(d, With(s, d));
    EXPECT_EQ(n.action, Action::kDelete) << Name(s);
    EXPECT_EQ(n.state, MS::kCancelling);
  }
  // Already gone: nothing more, and the second cancel makes no call.
  Decision done = NextAction(d, With(MS::kCancelled, d));
  EXPECT_EQ(done.action, Action::kNothing);
  EXPECT_EQ(done.state, MS::kCancelled);
  EXPECT_EQ(NextAction(d, With(MS::kAwaitingDoctor, d)).state, MS::kNotNeeded);
}

TEST_F(NextActionTest, GrantProblemsParkOrWait) {
  Desired d = Want();
  d.grant = std::nullopt;
  Decision wait = NextAction(d, With(MS::kNotNeeded, d));
  EXPECT_EQ(wait.action, Action::kNothing);
  EXPECT_EQ(wait.state, MS::kAwaitingDoctor);
  d.grant = GrantStatus::kNeedsReconnect;
  Decision park = NextAction(d, With(MS::kReady, d));
  EXPECT_EQ(park.action, Action::kPark);
  EXPECT_EQ(park.state, MS::kNeedsReconnect);
  d.wanted = false;
  EXPECT_EQ(NextAction(d, With(MS::kReady, d)).action, Action::kPark);
  EXPECT_EQ(NextAction(d, With(MS::kNotNeeded, d)).action, Action::kNothing);
}

TEST_F(NextActionTest, FailedWaitsForAdminRetry) {
  Desired d = Want();
  Decision n = NextAction(d, With(MS::kFailed, d));
  EXPECT_EQ(n.action, Action::kNothing);
  EXPECT_EQ(n.state, MS::kFailed);
}

}  // namespace
}  // namespace telemeet::core

namespace telemeet::core {
namespace {

// Whatever the inputs, the state NextAction asks to record is a legal step from the current
// one, so the store (which checks transitions) never refuses the worker's bookkeeping.
TEST(NextActionPropertyTest, EveryDecisionIsALegalTransition) {
  const MeetingState kStates[] = {MeetingState::kNotNeeded,  MeetingState::kAwaitingDoctor,
                                  MeetingState::kCreating,   MeetingState::kConferencePending,
                                  MeetingState::kReady,      MeetingState::kUpdating,
                                  MeetingState::kCancelling, MeetingState::kCancelled,
                                  MeetingState::kFailed,     MeetingState::kNeedsReconnect};
  const std::optional<GrantStatus> kGrants[] = {
      std::nullopt, GrantStatus::kActive, GrantStatus::kNeedsReconnect, GrantStatus::kDisconnected};
  Instant start = *ParseRfc3339("2026-03-30T08:00:00Z");
  int checked = 0;
  for (MeetingState state : kStates) {
    for (auto grant : kGrants) {
      for (bool wanted : {false, true}) {
        for (bool cancelled : {false, true}) {
          for (bool moved : {false, true}) {
            Desired d;
            d.wanted = wanted;
            d.cancelled = cancelled;
            d.start = start;
            d.end = start + std::chrono::minutes(30);
            d.grant = grant;
            Meeting m;
            m.state = state;
            m.synced_start = moved ? start - std::chrono::hours(1) : start;
            m.synced_end = d.end;
            Decision n = NextAction(d, m);
            EXPECT_TRUE(CanTransition(state, n.state))
                << Name(state) << " -> " << Name(n.state) << " (" << Name(n.action) << ")";
            // Google is only called with an active grant.
            if (n.action != Action::kNothing && n.action != Action::kPark) {
              EXPECT_EQ(grant, GrantStatus::kActive) << Name(state) << " " << Name(n.action);
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 10 * 4 * 2 * 2 * 2);
}

}  // namespace
}  // namespace telemeet::core
