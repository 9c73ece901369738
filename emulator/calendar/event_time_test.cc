#include "emulator/calendar/event_time.h"

#include <gtest/gtest.h>

namespace telemeet::emulator {
namespace {

TEST(EventTimeTest, ParsesAndFormatsRfc3339WithOffset) {
  auto t = ParseRfc3339("2026-01-05T10:00:00+01:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->offset_seconds, 3600);
  EXPECT_EQ(FormatRfc3339(t->instant), "2026-01-05T09:00:00Z");
  EXPECT_EQ(FormatRfc3339(t->instant, t->offset_seconds), "2026-01-05T10:00:00+01:00");
  EXPECT_EQ(FormatRfc3339Millis(t->instant), "2026-01-05T09:00:00.000Z");
}

TEST(EventTimeTest, RefusesMissingOffsetUnlessDefaulted) {
  EXPECT_FALSE(ParseRfc3339("2026-01-05T10:00:00"));
  EXPECT_FALSE(ParseRfc3339("2026-02-30T10:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-01-05 10:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-01-05T10:00:00+0100"));
  auto t = ParseRfc3339("2026-01-05T10:00:00", 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(t->instant), "2026-01-05T10:00:00Z");
  auto frac = ParseRfc3339("2026-01-05T10:00:00.250Z");
  ASSERT_TRUE(frac);
  EXPECT_EQ(FormatRfc3339Millis(frac->instant), "2026-01-05T10:00:00.250Z");
}

TEST(EventTimeTest, FormatsPushAndInstanceForms) {
  Instant t = FromUnixSeconds(1'767'607'200);  // 2026-01-05T10:00:00Z, a Monday
  EXPECT_EQ(FormatRfc1123(t), "Mon, 05 Jan 2026 10:00:00 GMT");
  EXPECT_EQ(FormatBasicUtc(t), "20260105T100000Z");
  EXPECT_EQ(FormatBasicDate(t), "20260105");
  EXPECT_EQ(FormatDate(t), "2026-01-05");
  EXPECT_EQ(ParseDate("2026-01-05"), FromUnixSeconds(1'767'571'200));
  EXPECT_FALSE(ParseDate("2026-1-5"));
}

std::vector<std::string> Starts(const std::vector<std::string>& rule, std::string_view first,
                                RecurrenceLimits limits = {}) {
  auto f = ParseRfc3339(first);
  EXPECT_TRUE(f);
  auto r = ExpandRecurrence(rule, f->instant, f->offset_seconds, limits);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  std::vector<std::string> out;
  if (r) {
    for (Instant i : *r) out.push_back(FormatRfc3339(i, f->offset_seconds));
  }
  return out;
}

TEST(EventTimeTest, DailyWithCountAndInterval) {
  EXPECT_EQ(Starts({"RRULE:FREQ=DAILY;COUNT=3;INTERVAL=2"}, "2026-01-05T10:00:00Z"),
            (std::vector<std::string>{"2026-01-05T10:00:00Z", "2026-01-07T10:00:00Z",
                                      "2026-01-09T10:00:00Z"}));
}

TEST(EventTimeTest, WeeklyByDayWithUntilInclusive) {
  EXPECT_EQ(
      Starts({"RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260114T090000Z"}, "2026-01-05T10:00:00+01:00"),
      (std::vector<std::string>{"2026-01-05T10:00:00+01:00", "2026-01-07T10:00:00+01:00",
                                "2026-01-12T10:00:00+01:00", "2026-01-14T10:00:00+01:00"}));
}

TEST(EventTimeTest, WeeklyIntervalSkipsWeeksAndStartsOnFirstDay) {
  // First start on a Wednesday: the Monday of that week is before it and is skipped.
  EXPECT_EQ(Starts({"RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=3;BYDAY=MO,WE"}, "2026-01-07T08:00:00Z"),
            (std::vector<std::string>{"2026-01-07T08:00:00Z", "2026-01-19T08:00:00Z",
                                      "2026-01-21T08:00:00Z"}));
}

TEST(EventTimeTest, DailyByDayAndExdate) {
  EXPECT_EQ(Starts({"RRULE:FREQ=DAILY;COUNT=4;BYDAY=MO,TU,WE,TH,FR", "EXDATE:20260109T100000Z"},
                   "2026-01-08T10:00:00Z"),
            (std::vector<std::string>{"2026-01-08T10:00:00Z", "2026-01-12T10:00:00Z",
                                      "2026-01-13T10:00:00Z"}));
}

TEST(EventTimeTest, SeriesWithATimeZoneKeepsLocalTimeAcrossDst) {
  // Mondays 10:00 Berlin from 2026-10-19 (+02:00); summer time ends on 2026-10-25.
  auto first = ParseRfc3339("2026-10-19T10:00:00+02:00");
  ASSERT_TRUE(first);
  auto zoned = ExpandRecurrence({"RRULE:FREQ=WEEKLY;COUNT=3"}, first->instant,
                                first->offset_seconds, {}, "Europe/Berlin");
  ASSERT_TRUE(zoned);
  std::vector<std::string> ids;
  for (Instant t : *zoned) ids.push_back(FormatBasicUtc(t));
  EXPECT_EQ(ids,
            (std::vector<std::string>{"20261019T080000Z", "20261026T090000Z", "20261102T090000Z"}));
  EXPECT_EQ(OffsetSecondsAt((*zoned)[1], "Europe/Berlin", 0), 3600);
  // Without a zone the first offset holds.
  auto fixed =
      ExpandRecurrence({"RRULE:FREQ=WEEKLY;COUNT=2"}, first->instant, first->offset_seconds, {});
  ASSERT_TRUE(fixed);
  EXPECT_EQ(FormatBasicUtc(fixed->back()), "20261026T080000Z");
  EXPECT_EQ(OffsetSecondsAt((*zoned)[1], "", 7200), 7200);
}

TEST(EventTimeTest, UnboundedSeriesStopsAtHorizonOrLimit) {
  RecurrenceLimits limits{.max_instances = 5, .horizon = std::nullopt};
  EXPECT_EQ(Starts({"RRULE:FREQ=DAILY"}, "2026-01-05T10:00:00Z", limits).size(), 5u);
  limits = {.max_instances = 1000, .horizon = ParseRfc3339("2026-01-08T10:00:00Z")->instant};
  EXPECT_EQ(Starts({"RRULE:FREQ=DAILY"}, "2026-01-05T10:00:00Z", limits).size(), 3u);
}

TEST(EventTimeTest, HugeIntervalsStopAtTheYear9999) {
  Instant t = FromUnixSeconds(1'767'607'200);
  for (const char* rule :
       {"RRULE:FREQ=DAILY;INTERVAL=999999", "RRULE:FREQ=WEEKLY;INTERVAL=999999",
        "RRULE:FREQ=MONTHLY;INTERVAL=999999", "RRULE:FREQ=DAILY;INTERVAL=999999;BYDAY=MO"}) {
    auto r = ExpandRecurrence({rule}, t, 0, {});
    ASSERT_TRUE(r) << rule;
    ASSERT_FALSE(r->empty()) << rule;
    EXPECT_LT(FormatBasicUtc(r->back()), "99991231T235959Z") << rule;
    EXPECT_GE(r->front(), t) << rule;
  }
}

TEST(EventTimeTest, RefusesUnsupportedRules) {
  Instant t = FromUnixSeconds(1'767'607'200);
  EXPECT_FALSE(ExpandRecurrence({"RRULE:FREQ=HOURLY"}, t, 0, {}));
  EXPECT_FALSE(ExpandRecurrence({"RRULE:COUNT=2"}, t, 0, {}));
  EXPECT_FALSE(ExpandRecurrence({"RRULE:FREQ=DAILY;COUNT=0"}, t, 0, {}));
  EXPECT_FALSE(ExpandRecurrence({"RRULE:FREQ=DAILY;BYDAY=XX"}, t, 0, {}));
  EXPECT_FALSE(ExpandRecurrence({"RRULE:FREQ=DAILY;COUNT=2;UNTIL=20260110"}, t, 0, {}));
  EXPECT_FALSE(ExpandRecurrence({"FOO:bar"}, t, 0, {}));
}

}  // namespace
}  // namespace telemeet::emulator
