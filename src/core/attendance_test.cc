#include "core/attendance.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace telemeet::core {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const std::string kDoctor = "users/111";
// The appointment 09:00-09:30; minutes are counted from 09:00.
Instant At(int minute) { return *ParseRfc3339("2026-03-02T09:00:00Z") + minutes(minute); }

MeetSession S(int from, std::optional<int> to) {
  return MeetSession{.start = At(from), .end = to ? std::optional<Instant>(At(*to)) : std::nullopt};
}
MeetParticipant Doctor(std::vector<MeetSession> sessions) {
  return {.kind = MeetParticipantKind::kSignedIn, .user = kDoctor, .sessions = std::move(sessions)};
}
MeetParticipant Anonymous(std::vector<MeetSession> sessions) {
  return {.kind = MeetParticipantKind::kAnonymous, .user = "", .sessions = std::move(sessions)};
}
MeetConference Conference(int from, std::optional<int> to, std::vector<MeetParticipant> people) {
  return {.start = At(from),
          .end = to ? std::optional<Instant>(At(*to)) : std::nullopt,
          .participants = std::move(people)};
}

TEST(AttendanceTest, TwentyMinutesTogetherIsAttended) {
  auto facts = SummarizeAttendance(
      {Conference(-2, 25, {Doctor({S(0, 25)}), Anonymous({S(5, 25)})})}, kDoctor, At(60));
  EXPECT_EQ(facts.conferences, 1);
  EXPECT_TRUE(facts.doctor_joined);
  EXPECT_EQ(facts.others_joined, 1);
  EXPECT_EQ(facts.overlap, minutes(20));
  EXPECT_EQ(OverlapMinutes(facts), 20);
  EXPECT_EQ(facts.first_join, At(0));
  EXPECT_EQ(facts.last_leave, At(25));
  EXPECT_FALSE(facts.running);
  EXPECT_EQ(OutcomeOf(facts, minutes(5)), AttendanceOutcome::kAttended);
}

TEST(AttendanceTest, SeveralSessionsEachCountTheirUnionOnce) {
  // The doctor drops out (0-10, 12-30), the patient joins on a phone and a laptop at once
  // (5-15 and 8-20) and comes back (25-40): together 5-10, 12-20, 25-30 = 5 + 8 + 5 minutes.
  MeetParticipant phone{.kind = MeetParticipantKind::kPhone, .user = "", .sessions = {S(5, 15)}};
  auto facts = SummarizeAttendance(
      {Conference(0, 40, {Doctor({S(0, 10), S(12, 30)}), phone, Anonymous({S(8, 20), S(25, 40)})})},
      kDoctor, At(60));
  EXPECT_EQ(facts.overlap, minutes(18));
  EXPECT_EQ(facts.others_joined, 2);
  EXPECT_EQ(facts.first_join, At(0));
  EXPECT_EQ(facts.last_leave, At(40));
}

TEST(AttendanceTest, SessionsInTwoConferencesOfOneSpaceAddUp) {
  auto facts =
      SummarizeAttendance({Conference(0, 10, {Doctor({S(0, 10)}), Anonymous({S(2, 10)})}),
                           Conference(15, 30, {Doctor({S(15, 30)}), Anonymous({S(15, 22)})})},
                          kDoctor, At(60));
  EXPECT_EQ(facts.conferences, 2);
  EXPECT_EQ(facts.overlap, minutes(15));
  EXPECT_EQ(facts.others_joined, 2);  // a participant per conference: counted per record
}

TEST(AttendanceTest, NoOverlapIsShortNotAttended) {
  auto facts = SummarizeAttendance(
      {Conference(0, 30, {Doctor({S(0, 10)}), Anonymous({S(12, 30)})})}, kDoctor, At(60));
  EXPECT_EQ(facts.overlap, seconds(0));
  EXPECT_EQ(OutcomeOf(facts, minutes(5)), AttendanceOutcome::kShort);
}

TEST(AttendanceTest, LessThanTheMinimumIsShort) {
  auto facts = SummarizeAttendance(
      {Conference(0, 30, {Doctor({S(0, 30)}), Anonymous({S(26, 30)})})}, kDoctor, At(60));
  EXPECT_EQ(facts.overlap, minutes(4));
  EXPECT_EQ(OutcomeOf(facts, minutes(5)), AttendanceOutcome::kShort);
  EXPECT_EQ(OutcomeOf(facts, minutes(4)), AttendanceOutcome::kAttended);
}

TEST(AttendanceTest, DoctorAloneIsANoShow) {
  auto facts = SummarizeAttendance({Conference(0, 30, {Doctor({S(0, 30)})})}, kDoctor, At(60));
  EXPECT_TRUE(facts.doctor_joined);
  EXPECT_EQ(facts.others_joined, 0);
  EXPECT_EQ(facts.overlap, seconds(0));
  EXPECT_EQ(OutcomeOf(facts, minutes(5)), AttendanceOutcome::kNoShow);
}

TEST(AttendanceTest, NobodyWithoutRecordsOrSessions) {
  auto none = SummarizeAttendance({}, kDoctor, At(60));
  EXPECT_EQ(none, AttendanceFacts{});
  EXPECT_EQ(OutcomeOf(none, minutes(5)), AttendanceOutcome::kNobody);
  // A record whose participants have no session left nothing either.
  auto empty = SummarizeAttendance({Conference(0, 1, {Anonymous({})})}, kDoctor, At(60));
  EXPECT_EQ(empty.others_joined, 0);
  EXPECT_EQ(OutcomeOf(empty, minutes(5)), AttendanceOutcome::kNobody);
}

TEST(AttendanceTest, PatientWithoutTheDoctorIsDoctorAbsent) {
  auto facts = SummarizeAttendance({Conference(0, 30, {Anonymous({S(0, 30)})})}, kDoctor, At(60));
  EXPECT_EQ(OutcomeOf(facts, minutes(5)), AttendanceOutcome::kDoctorAbsent);
}

TEST(AttendanceTest, AnotherSignedInUserIsNotTheDoctor) {
  MeetParticipant colleague{
      .kind = MeetParticipantKind::kSignedIn, .user = "users/222", .sessions = {S(0, 30)}};
  auto facts =
      SummarizeAttendance({Conference(0, 30, {colleague, Anonymous({S(0, 30)})})}, kDoctor, At(60));
  EXPECT_FALSE(facts.doctor_joined);
  EXPECT_EQ(facts.others_joined, 2);
  // Without the doctor's id nobody can be the doctor.
  auto unknown = SummarizeAttendance({Conference(0, 30, {Doctor({S(0, 30)})})}, "", At(60));
  EXPECT_FALSE(unknown.doctor_joined);
  EXPECT_EQ(unknown.others_joined, 1);
}

TEST(AttendanceTest, OpenRecordsRunAndCountUpToNow) {
  // Conference running, both still in it at 09:20.
  auto facts = SummarizeAttendance(
      {Conference(0, std::nullopt,
                  {Doctor({S(0, std::nullopt)}), Anonymous({S(5, std::nullopt)})})},
      kDoctor, At(20));
  EXPECT_TRUE(facts.running);
  EXPECT_EQ(facts.overlap, minutes(15));
  EXPECT_EQ(facts.last_leave, std::nullopt);
  // An open session in an ended record (a late session report) still runs.
  auto late = SummarizeAttendance(
      {Conference(0, 30, {Doctor({S(0, 30)}), Anonymous({S(5, std::nullopt)})})}, kDoctor, At(40));
  EXPECT_TRUE(late.running);
  EXPECT_EQ(late.overlap, minutes(25));
}

TEST(AttendanceTest, ASessionEndingBeforeItStartsCountsAsNothing) {
  MeetParticipant odd = Anonymous({MeetSession{.start = At(10), .end = At(5)}});
  auto facts = SummarizeAttendance({Conference(0, 30, {Doctor({S(0, 30)}), odd})}, kDoctor, At(60));
  EXPECT_EQ(facts.others_joined, 0);
  EXPECT_EQ(facts.overlap, seconds(0));
}

TEST(AttendanceTest, OutcomeNamesRoundTrip) {
  for (auto o :
       {AttendanceOutcome::kAttended, AttendanceOutcome::kShort, AttendanceOutcome::kNoShow,
        AttendanceOutcome::kDoctorAbsent, AttendanceOutcome::kNobody}) {
    EXPECT_EQ(ParseAttendanceOutcome(Name(o)).value(), o);
  }
  auto bad = ParseAttendanceOutcome("maybe", "outcome");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field(), "outcome");
}

TEST(AttendanceTest, PoliciesParseAndNameTheField) {
  EXPECT_EQ(ParseAttendanceMode("complete").value(), AttendanceMode::kComplete);
  EXPECT_EQ(Name(AttendanceMode::kRecord), "record");
  auto bad = ParseAttendanceMode("always", "attendance");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field(), "attendance");
  EXPECT_EQ(MeetAccessTypeFor("default").value(), "");
  EXPECT_EQ(MeetAccessTypeFor("restricted").value(), "RESTRICTED");
  auto wrong = MeetAccessTypeFor("RESTRICTED", "meeting.access_type");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().field(), "meeting.access_type");
}

class AttendanceStepTest : public ::testing::Test {
 protected:
  AttendanceSchedule schedule_{
      .grace = minutes(10), .polls = 3, .interval = minutes(10), .max_wait = minutes(120)};
  Instant end_ = At(30);
};

TEST_F(AttendanceStepTest, AttendedIsFinalAtOnce) {
  AttendanceFacts facts{
      .conferences = 1, .doctor_joined = true, .others_joined = 1, .overlap = minutes(20)};
  auto step = NextAttendanceStep(facts, AttendanceOutcome::kAttended, 1, schedule_, end_, At(40));
  EXPECT_TRUE(step.final);
}

TEST_F(AttendanceStepTest, NoShowAndNobodyLookAgainUntilThePollsEnd) {
  AttendanceFacts facts{.conferences = 1, .doctor_joined = true};
  auto first = NextAttendanceStep(facts, AttendanceOutcome::kNoShow, 1, schedule_, end_, At(40));
  EXPECT_FALSE(first.final);
  EXPECT_TRUE(first.counts_as_poll);
  EXPECT_EQ(first.next_look, At(50));
  EXPECT_FALSE(
      NextAttendanceStep(facts, AttendanceOutcome::kNoShow, 2, schedule_, end_, At(50)).final);
  EXPECT_TRUE(
      NextAttendanceStep(facts, AttendanceOutcome::kNoShow, 3, schedule_, end_, At(60)).final);
  EXPECT_TRUE(
      NextAttendanceStep(AttendanceFacts{}, AttendanceOutcome::kNobody, 3, schedule_, end_, At(60))
          .final);
}

TEST_F(AttendanceStepTest, ARunningConferenceIsWaitedForWithoutUsingPolls) {
  AttendanceFacts facts{.conferences = 1,
                        .doctor_joined = true,
                        .others_joined = 1,
                        .overlap = minutes(20),
                        .running = true};
  auto step = NextAttendanceStep(facts, AttendanceOutcome::kAttended, 5, schedule_, end_, At(40));
  EXPECT_FALSE(step.final);
  EXPECT_FALSE(step.counts_as_poll);
  EXPECT_EQ(step.next_look, At(50));
  // Not past end + max_wait...
  EXPECT_EQ(NextAttendanceStep(facts, AttendanceOutcome::kAttended, 5, schedule_, end_, At(145))
                .next_look,
            At(150));
  // ...when what is known becomes final.
  EXPECT_TRUE(
      NextAttendanceStep(facts, AttendanceOutcome::kAttended, 5, schedule_, end_, At(150)).final);
}

}  // namespace
}  // namespace telemeet::core
