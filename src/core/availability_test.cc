#include "core/availability.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time.h"

namespace telemeet::core {
namespace {

using std::chrono::minutes;

Instant T(std::string_view s) { return *ParseRfc3339(s); }

std::vector<std::string> Starts(const std::vector<Interval>& slots) {
  std::vector<std::string> out;
  for (const Interval& i : slots) out.push_back(FormatRfc3339(i.start));
  return out;
}

WorkingHours Every(ClockRange r) {
  WorkingHours h;
  for (auto& d : h.days) d = {r};
  return h;
}

TEST(IntervalsTest, MergeJoinsOverlappingAndTouchingAndDropsEmpty) {
  auto merged = MergeIntervals({{T("2026-03-02T10:00:00Z"), T("2026-03-02T11:00:00Z")},
                                {T("2026-03-02T09:00:00Z"), T("2026-03-02T10:00:00Z")},
                                {T("2026-03-02T10:30:00Z"), T("2026-03-02T12:00:00Z")},
                                {T("2026-03-02T13:00:00Z"), T("2026-03-02T13:00:00Z")},
                                {T("2026-03-02T14:00:00Z"), T("2026-03-02T15:00:00Z")}});
  EXPECT_THAT(merged, ::testing::ElementsAre(
                          Interval{T("2026-03-02T09:00:00Z"), T("2026-03-02T12:00:00Z")},
                          Interval{T("2026-03-02T14:00:00Z"), T("2026-03-02T15:00:00Z")}));
}

TEST(IntervalsTest, SubtractCutsHolesAndEnds) {
  std::vector<Interval> from = {{T("2026-03-02T09:00:00Z"), T("2026-03-02T12:00:00Z")},
                                {T("2026-03-02T14:00:00Z"), T("2026-03-02T15:00:00Z")}};
  std::vector<Interval> minus = {{T("2026-03-02T08:00:00Z"), T("2026-03-02T09:30:00Z")},
                                 {T("2026-03-02T10:00:00Z"), T("2026-03-02T10:30:00Z")},
                                 {T("2026-03-02T14:00:00Z"), T("2026-03-02T15:00:00Z")}};
  EXPECT_THAT(SubtractIntervals(from, minus),
              ::testing::ElementsAre(
                  Interval{T("2026-03-02T09:30:00Z"), T("2026-03-02T10:00:00Z")},
                  Interval{T("2026-03-02T10:30:00Z"), T("2026-03-02T12:00:00Z")}));
  // A private event right after ours, merged by freeBusy: removing ours leaves the private one.
  EXPECT_THAT(SubtractIntervals({{T("2026-03-02T10:00:00Z"), T("2026-03-02T11:00:00Z")}},
                                {{T("2026-03-02T10:30:00Z"), T("2026-03-02T11:00:00Z")}}),
              ::testing::ElementsAre(
                  Interval{T("2026-03-02T10:00:00Z"), T("2026-03-02T10:30:00Z")}));
}

TEST(IntervalsTest, OverlappingIgnoresTouching) {
  std::vector<Interval> busy = {{T("2026-03-02T09:00:00Z"), T("2026-03-02T10:00:00Z")},
                                {T("2026-03-02T11:00:00Z"), T("2026-03-02T12:00:00Z")}};
  EXPECT_TRUE(Overlapping(busy, {T("2026-03-02T10:00:00Z"), T("2026-03-02T11:00:00Z")}).empty());
  EXPECT_EQ(Overlapping(busy, {T("2026-03-02T09:59:00Z"), T("2026-03-02T11:01:00Z")}).size(), 2u);
}

TEST(WorkingHoursTest, ClockRangesAreCheckedAndNamed) {
  EXPECT_EQ(*ParseClockRange("09:00", "24:00", "f"), (ClockRange{540, 1440}));
  for (auto [from, to] : {std::pair{"9:00", "10:00"}, std::pair{"10:00", "09:00"},
                          std::pair{"24:00", "24:00"}, std::pair{"09:60", "10:00"},
                          std::pair{"09:00", "24:01"}, std::pair{"09:00", "09:00"}}) {
    auto r = ParseClockRange(from, to, "working_hours.mon[1]");
    ASSERT_FALSE(r) << from << "-" << to;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().field(), "working_hours.mon[1]");
  }
  std::vector<ClockRange> day = {{780, 1020}, {540, 720}};
  ASSERT_TRUE(NormalizeDay(day, "working_hours.mon"));
  EXPECT_EQ(day.front().from, 540);
  std::vector<ClockRange> overlap = {{540, 720}, {700, 800}};
  auto s = NormalizeDay(overlap, "working_hours.tue");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field(), "working_hours.tue");
  EXPECT_EQ(FormatClock(540), "09:00");
  EXPECT_EQ(FormatClock(1440), "24:00");
  EXPECT_EQ(WeekdayIndex("sun"), 6u);
  EXPECT_FALSE(WeekdayIndex("monday"));
}

TEST(FreeSlotsTest, GridFollowsWorkingHoursAndSkipsBusyAndPast) {
  WorkingHours h;
  h.days[0] = {{9 * 60, 12 * 60}, {13 * 60, 14 * 60}};  // Monday 2026-03-02, UTC
  SlotQuery q{.range = {T("2026-03-02T00:00:00Z"), T("2026-03-03T00:00:00Z")},
              .length = minutes(60),
              .hours = h,
              .time_zone = "UTC",
              .not_before = T("2026-03-02T09:10:00Z")};
  auto busy = MergeIntervals({{T("2026-03-02T11:15:00Z"), T("2026-03-02T11:20:00Z")}});
  auto a = FreeSlots(q, busy);
  ASSERT_TRUE(a) << a.error().ToString();
  // 09:00 is in the past; 11:00 overlaps the busy interval; 12:00-13:00 is the lunch break.
  EXPECT_THAT(Starts(a->slots),
              ::testing::ElementsAre("2026-03-02T10:00:00Z", "2026-03-02T13:00:00Z"));
  EXPECT_FALSE(a->truncated);
  // A range starting off the grid keeps the grid.
  q.range.start = T("2026-03-02T09:45:00Z");
  q.not_before = {};
  EXPECT_THAT(Starts(FreeSlots(q, {})->slots),
              ::testing::ElementsAre("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z",
                                     "2026-03-02T13:00:00Z"));
  q.max_slots = 2;
  auto capped = FreeSlots(q, {});
  EXPECT_EQ(capped->slots.size(), 2u);
  EXPECT_TRUE(capped->truncated);
}

TEST(FreeSlotsTest, WorkingHoursStayLocalAcrossSpringForward) {
  // Europe/Berlin moves from +01:00 to +02:00 at 02:00 local on Sunday 2026-03-29.
  SlotQuery q{.range = {T("2026-03-27T00:00:00Z"), T("2026-03-31T00:00:00Z")},
              .length = minutes(30),
              .hours = Every({9 * 60, 10 * 60}),
              .time_zone = "Europe/Berlin"};
  auto a = FreeSlots(q, {});
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_THAT(Starts(a->slots),
              ::testing::ElementsAre("2026-03-27T08:00:00Z", "2026-03-27T08:30:00Z",  // Fri +1
                                     "2026-03-28T08:00:00Z", "2026-03-28T08:30:00Z",  // Sat +1
                                     "2026-03-29T07:00:00Z", "2026-03-29T07:30:00Z",  // Sun +2
                                     "2026-03-30T07:00:00Z", "2026-03-30T07:30:00Z"));
  // Hours spanning the gap are two real hours long; a bound inside the gap moves to its end.
  q.range = {T("2026-03-28T22:00:00Z"), T("2026-03-29T12:00:00Z")};
  q.hours = Every({60, 4 * 60});  // 01:00-04:00
  EXPECT_THAT(Starts(FreeSlots(q, {})->slots),
              ::testing::ElementsAre("2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z",
                                     "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"));
  q.hours = Every({150, 4 * 60});  // 02:30 does not exist that day: from 03:00 (+02:00)
  EXPECT_THAT(Starts(FreeSlots(q, {})->slots),
              ::testing::ElementsAre("2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"));
}

TEST(FreeSlotsTest, WholeDaysWithoutWorkingHoursAcrossFallBack) {
  // 2026-10-25 in Berlin has 25 hours: hourly slots from local midnight to local midnight.
  SlotQuery q{.range = {T("2026-10-24T22:00:00Z"), T("2026-10-25T23:00:00Z")},
              .length = minutes(60),
              .time_zone = "Europe/Berlin"};
  auto a = FreeSlots(q, MergeIntervals({{T("2026-10-25T00:30:00Z"), T("2026-10-25T01:30:00Z")}}));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->slots.size(), 25u - 2u);  // two hours touch the busy interval
  EXPECT_EQ(FormatRfc3339(a->slots.front().start), "2026-10-24T22:00:00Z");
  EXPECT_EQ(FormatRfc3339(a->slots.back().start), "2026-10-25T22:00:00Z");
}

TEST(FreeSlotsTest, RefusesBadZoneAndLength) {
  SlotQuery q{.range = {T("2026-03-02T00:00:00Z"), T("2026-03-03T00:00:00Z")},
              .time_zone = "Mars/Olympus"};
  EXPECT_EQ(FreeSlots(q, {}).error().field(), "time_zone");
  q.time_zone = "UTC";
  q.length = minutes(0);
  EXPECT_EQ(FreeSlots(q, {}).error().field(), "slot_minutes");
}

}  // namespace
}  // namespace telemeet::core
