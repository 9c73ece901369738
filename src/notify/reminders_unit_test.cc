// Lead times of patient reminders (reminders.h): parsing, spelling and the words in emails.
#include <gtest/gtest.h>

#include "notify/reminders.h"

namespace telemeet::notify {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(LeadTimeTest, ParsesMinutesHoursAndDaysWithinBounds) {
  EXPECT_EQ(*ParseLeadTime("24h", "f"), hours(24));
  EXPECT_EQ(*ParseLeadTime(" 90m ", "f"), minutes(90));
  EXPECT_EQ(*ParseLeadTime("2d", "f"), hours(48));
  EXPECT_EQ(*ParseLeadTime("5m", "f"), minutes(5));
  EXPECT_EQ(*ParseLeadTime("30d", "f"), hours(720));
  for (const char* bad :
       {"", "h", "24", "24 h", "1.5h", "-1h", "4m", "31d", "1w", "99999999999d"}) {
    auto r = ParseLeadTime(bad, "lead_times");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().field(), "lead_times");
    EXPECT_NE(r.error().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << r.error().message();
  }
}

TEST(LeadTimeTest, SpelledBackAndInWords) {
  EXPECT_EQ(FormatLeadTime(hours(24)), "24h");
  EXPECT_EQ(FormatLeadTime(hours(48)), "2d");
  EXPECT_EQ(FormatLeadTime(minutes(90)), "90m");
  EXPECT_EQ(FormatLeadTime(hours(1)), "1h");
  EXPECT_EQ(HumanTimeLeft(hours(24)), "24 hours");
  EXPECT_EQ(HumanTimeLeft(hours(24) - seconds(2)), "24 hours");
  EXPECT_EQ(HumanTimeLeft(hours(1) - seconds(20)), "1 hour");
  EXPECT_EQ(HumanTimeLeft(minutes(90)), "90 minutes");
  EXPECT_EQ(HumanTimeLeft(minutes(1)), "1 minute");
  EXPECT_EQ(HumanTimeLeft(seconds(3)), "1 minute");
  EXPECT_EQ(HumanTimeLeft(hours(5) + minutes(40)), "6 hours");
  EXPECT_EQ(HumanTimeLeft(hours(72) - minutes(5)), "3 days");
}

TEST(LeadTimeTest, AListIsSortedLargestFirstWithoutDuplicates) {
  std::vector<std::string> items{"1h", "24h", "60m", "2d"};
  auto leads = ParseLeadTimes(items, "notify.reminders");
  ASSERT_TRUE(leads.has_value());
  EXPECT_EQ(*leads, (LeadTimes{hours(48), hours(24), hours(1)}));
  EXPECT_EQ(FormatLeadTimes(*leads), (std::vector<std::string>{"2d", "24h", "1h"}));
  EXPECT_TRUE(ParseLeadTimes(std::vector<std::string>{}, "f")->empty());
  std::vector<std::string> many(11, "1h");
  auto r = ParseLeadTimes(many, "notify.reminders");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field(), "notify.reminders");
}

}  // namespace
}  // namespace telemeet::notify
