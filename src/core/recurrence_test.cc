#include "core/recurrence.h"

#include <gtest/gtest.h>

#include "core/meeting.h"
#include "core/time.h"

namespace telemeet::core {
namespace {

Instant At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

std::vector<std::string> Starts(const std::vector<Occurrence>& occ) {
  std::vector<std::string> out;
  for (const Occurrence& o : occ) out.push_back(FormatRfc3339(o.start));
  return out;
}

Result<std::vector<Occurrence>> Expand(std::string_view rrule, std::string_view start,
                                       std::string_view zone, int minutes = 30) {
  auto rule = ParseRecurrence(rrule);
  if (!rule) return std::unexpected(rule.error());
  Instant s = At(start);
  return ExpandRecurrence(*rule, s, s + std::chrono::minutes(minutes), zone);
}

void ExpectRefused(const Result<std::vector<Occurrence>>& r, std::string_view field,
                   std::string_view mentions) {
  ASSERT_FALSE(r) << "expected a refusal mentioning " << mentions;
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field(), field) << r.error().message();
  EXPECT_NE(r.error().message().find(mentions), std::string::npos) << r.error().message();
}

TEST(RecurrenceTest, WeeklyAcrossSpringForwardKeepsTenOClockLocal) {
  // Mondays 10:00 Berlin from 2026-03-16; clocks go forward on Sunday 2026-03-29.
  auto occ = Expand("FREQ=WEEKLY;COUNT=4", "2026-03-16T09:00:00Z", "Europe/Berlin");
  ASSERT_TRUE(occ) << occ.error().ToString();
  EXPECT_EQ(Starts(*occ),
            (std::vector<std::string>{"2026-03-16T09:00:00Z", "2026-03-23T09:00:00Z",
                                      "2026-03-30T08:00:00Z", "2026-04-06T08:00:00Z"}));
  for (const Occurrence& o : *occ) {
    EXPECT_EQ(*FormatWithOffset(o.start, "Europe/Berlin"),
              o.local_date + (o.local_date < "2026-03-29" ? "T10:00:00+01:00" : "T10:00:00+02:00"));
    EXPECT_EQ(o.end - o.start, std::chrono::minutes(30));
  }
  EXPECT_EQ((*occ)[2].local_date, "2026-03-30");
}

TEST(RecurrenceTest, WeeklyAcrossFallBackKeepsLocalTimeInNewYork) {
  // Thursdays 09:00 New York; clocks go back on 2026-11-01.
  auto occ = Expand("FREQ=WEEKLY;COUNT=3", "2026-10-22T13:00:00Z", "America/New_York");
  ASSERT_TRUE(occ);
  EXPECT_EQ(Starts(*occ), (std::vector<std::string>{"2026-10-22T13:00:00Z", "2026-10-29T13:00:00Z",
                                                    "2026-11-05T14:00:00Z"}));
}

TEST(RecurrenceTest, ByDayWithIntervalSkipsWeeks) {
  // Every other week on Monday and Thursday, from Monday 2026-01-05 10:00 UTC.
  auto occ = Expand("FREQ=WEEKLY;INTERVAL=2;COUNT=5;BYDAY=TH,MO", "2026-01-05T10:00:00Z", "UTC");
  ASSERT_TRUE(occ);
  EXPECT_EQ(Starts(*occ), (std::vector<std::string>{"2026-01-05T10:00:00Z", "2026-01-08T10:00:00Z",
                                                    "2026-01-19T10:00:00Z", "2026-01-22T10:00:00Z",
                                                    "2026-02-02T10:00:00Z"}));
}

TEST(RecurrenceTest, DailyWithByDayKeepsTheNamedDays) {
  // Weekdays only, from Friday 2026-01-09.
  auto occ = Expand("FREQ=DAILY;COUNT=3;BYDAY=MO,TU,WE,TH,FR", "2026-01-09T08:00:00Z", "UTC");
  ASSERT_TRUE(occ);
  EXPECT_EQ(Starts(*occ), (std::vector<std::string>{"2026-01-09T08:00:00Z", "2026-01-12T08:00:00Z",
                                                    "2026-01-13T08:00:00Z"}));
}

TEST(RecurrenceTest, MonthlyOnThe31stSkipsShortMonths) {
  // The documented rule (RFC 5545, as Google does): a month without the day has no occurrence,
  // and COUNT counts only real ones.
  auto occ = Expand("FREQ=MONTHLY;COUNT=4", "2026-01-31T09:00:00Z", "UTC");
  ASSERT_TRUE(occ);
  EXPECT_EQ(Starts(*occ),
            (std::vector<std::string>{"2026-01-31T09:00:00Z", "2026-03-31T09:00:00Z",
                                      "2026-05-31T09:00:00Z", "2026-07-31T09:00:00Z"}));
}

TEST(RecurrenceTest, MonthlyByOrdinalWeekday) {
  // The last Friday of each month, from 2026-01-30.
  auto occ = Expand("FREQ=MONTHLY;COUNT=3;BYDAY=-1FR", "2026-01-30T15:00:00Z", "UTC");
  ASSERT_TRUE(occ);
  EXPECT_EQ(Starts(*occ), (std::vector<std::string>{"2026-01-30T15:00:00Z", "2026-02-27T15:00:00Z",
                                                    "2026-03-27T15:00:00Z"}));
  auto first_monday = Expand("FREQ=MONTHLY;COUNT=2;BYDAY=1MO", "2026-02-02T08:00:00Z", "UTC");
  ASSERT_TRUE(first_monday);
  EXPECT_EQ(Starts(*first_monday),
            (std::vector<std::string>{"2026-02-02T08:00:00Z", "2026-03-02T08:00:00Z"}));
}

TEST(RecurrenceTest, UntilIsInclusiveInBothForms) {
  auto by_date = Expand("FREQ=DAILY;UNTIL=20260103", "2026-01-01T23:30:00Z", "Europe/Berlin");
  ASSERT_TRUE(by_date);
  // 00:30 Berlin each day: the first start is already 2 January locally, so 2 and 3 January.
  EXPECT_EQ(by_date->size(), 2u);
  EXPECT_EQ(by_date->back().local_date, "2026-01-03");

  auto by_time = Expand("FREQ=DAILY;UNTIL=20260103T100000Z", "2026-01-01T10:00:00Z", "UTC");
  ASSERT_TRUE(by_time);
  EXPECT_EQ(Starts(*by_time),
            (std::vector<std::string>{"2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z",
                                      "2026-01-03T10:00:00Z"}));
  auto just_before = Expand("FREQ=DAILY;UNTIL=20260103T095959Z", "2026-01-01T10:00:00Z", "UTC");
  ASSERT_TRUE(just_before);
  EXPECT_EQ(just_before->size(), 2u);
}

TEST(RecurrenceTest, CountAndTheLimitOfOneHundred) {
  auto hundred = Expand("FREQ=DAILY;COUNT=100", "2026-01-01T10:00:00Z", "UTC");
  ASSERT_TRUE(hundred);
  EXPECT_EQ(hundred->size(), 100u);
  EXPECT_EQ(FormatRfc3339(hundred->back().start), "2026-04-10T10:00:00Z");

  auto count = ParseRecurrence("FREQ=DAILY;COUNT=101");
  ASSERT_FALSE(count);
  EXPECT_NE(count.error().message().find("100"), std::string::npos);
  ExpectRefused(Expand("FREQ=DAILY;UNTIL=20270101", "2026-01-01T10:00:00Z", "UTC"), "rrule",
                "more than 100");
}

TEST(RecurrenceTest, NonexistentLocalTimeIsRefusedNamingTheDate) {
  // Sundays 02:30 Berlin: 2026-03-29 has no 02:30.
  ExpectRefused(Expand("FREQ=WEEKLY;COUNT=3", "2026-03-22T01:30:00Z", "Europe/Berlin"), "start",
                "2026-03-29");
}

TEST(RecurrenceTest, RefusesWhatTheSubsetLacksNamingIt) {
  struct Case {
    std::string_view rrule;
    std::string_view mentions;
  };
  for (const Case& c : std::vector<Case>{
           {"FREQ=YEARLY;COUNT=2", "YEARLY"},
           {"FREQ=WEEKLY;COUNT=2;BYMONTHDAY=3", "BYMONTHDAY"},
           {"FREQ=WEEKLY;COUNT=2;WKST=SU", "WKST"},
           {"FREQ=WEEKLY", "COUNT or UNTIL"},
           {"COUNT=3", "FREQ"},
           {"FREQ=WEEKLY;COUNT=2;UNTIL=20260101", "both COUNT and UNTIL"},
           {"FREQ=WEEKLY;COUNT=0", "COUNT"},
           {"FREQ=WEEKLY;COUNT=2;INTERVAL=0", "INTERVAL"},
           {"FREQ=WEEKLY;COUNT=2;BYDAY=XX", "XX"},
           {"FREQ=WEEKLY;COUNT=2;BYDAY=1MO", "MONTHLY only"},
           {"FREQ=WEEKLY;UNTIL=20260101T100000", "UTC"},
           {"FREQ=WEEKLY;UNTIL=2026-01-01", "UNTIL"},
           {"FREQ=WEEKLY;FREQ=DAILY;COUNT=2", "twice"},
           {"", "empty"},
       }) {
    auto r = ParseRecurrence(c.rrule);
    ASSERT_FALSE(r) << c.rrule;
    EXPECT_EQ(r.error().field(), "rrule");
    EXPECT_NE(r.error().message().find(c.mentions), std::string::npos)
        << c.rrule << ": " << r.error().message();
  }
}

TEST(RecurrenceTest, FirstStartMustMatchTheRule) {
  // 2026-01-06 is a Tuesday.
  ExpectRefused(Expand("FREQ=WEEKLY;COUNT=2;BYDAY=MO", "2026-01-06T10:00:00Z", "UTC"), "start",
                "TU");
}

TEST(RecurrenceTest, FormatsTheCanonicalRuleForGoogle) {
  auto rule = ParseRecurrence("rrule:freq=monthly;byday=-1fr,2mo;interval=2;until=20261231");
  ASSERT_TRUE(rule) << rule.error().ToString();
  EXPECT_EQ(FormatRecurrence(*rule), "RRULE:FREQ=MONTHLY;INTERVAL=2;UNTIL=20261231;BYDAY=-1FR,2MO");
  auto utc = ParseRecurrence("FREQ=WEEKLY;UNTIL=20260630T080000Z");
  ASSERT_TRUE(utc);
  EXPECT_EQ(FormatRecurrence(*utc), "RRULE:FREQ=WEEKLY;UNTIL=20260630T080000Z");
}

TEST(RecurrenceTest, MovesToAnotherLocalTimeOfDay) {
  // 2026-03-30 10:00 Berlin (summer time) moved to 11:15 the same day.
  auto moved = AtLocalTimeOfDay(At("2026-03-30T08:00:00Z"), "Europe/Berlin", "11:15");
  ASSERT_TRUE(moved);
  EXPECT_EQ(FormatRfc3339(*moved), "2026-03-30T09:15:00Z");
  auto gap = AtLocalTimeOfDay(At("2026-03-29T08:00:00Z"), "Europe/Berlin", "02:30");
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().field(), "time_of_day");
  EXPECT_NE(gap.error().message().find("2026-03-29"), std::string::npos);
  EXPECT_FALSE(AtLocalTimeOfDay(At("2026-03-29T08:00:00Z"), "Europe/Berlin", "25:00"));
}

TEST(RecurrenceTest, ShiftsTheLocalWallTime) {
  // 2026-03-30 10:00 Berlin + 90 minutes = 11:30 local.
  auto later = ShiftWallTime(At("2026-03-30T08:00:00Z"), "Europe/Berlin", std::chrono::minutes(90));
  ASSERT_TRUE(later);
  EXPECT_EQ(FormatRfc3339(*later), "2026-03-30T09:30:00Z");
  // 2026-03-29 01:30 Berlin + 60 minutes = 02:30, which does not exist that day.
  auto gap = ShiftWallTime(At("2026-03-29T00:30:00Z"), "Europe/Berlin", std::chrono::minutes(60));
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().field(), "shift_minutes");
  EXPECT_NE(gap.error().message().find("2026-03-29"), std::string::npos);
}

TEST(RecurrenceTest, SeriesAndInstanceEventIds) {
  const std::string master = SeriesEventIdFor("0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(IsValidEventId(master));
  EXPECT_EQ(master, SeriesEventIdFor("0123456789abcdef0123456789abcdef"));
  EXPECT_NE(master, EventIdFor("0123456789abcdef0123456789abcdef"));
  const std::string instance = InstanceEventId(master, At("2026-03-30T08:00:00.5Z"));
  EXPECT_EQ(instance, master + "_20260330T080000Z");
  EXPECT_TRUE(IsInstanceEventId(instance));
  EXPECT_FALSE(IsInstanceEventId(master));
  EXPECT_FALSE(IsInstanceEventId(master + "_20260330T0800Z"));
  EXPECT_FALSE(IsInstanceEventId("bad!_20260330T080000Z"));
}

}  // namespace
}  // namespace telemeet::core
