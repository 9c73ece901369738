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
