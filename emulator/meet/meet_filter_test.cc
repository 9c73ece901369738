#include "emulator/meet/meet_filter.h"

#include <gtest/gtest.h>

#include "emulator/calendar/event_time.h"

namespace telemeet::emulator {
namespace {

const std::map<std::string, FilterField, std::less<>> kFields = {
    {"space.meeting_code", FilterField::kCode},
    {"space.name", FilterField::kString},
    {"start_time", FilterField::kTime},
    {"end_time", FilterField::kTime}};

Instant T(const char* s) { return ParseRfc3339(s)->instant; }

struct Row {
  std::string code = "abc-mnop-xyz";
  std::string name = "spaces/S1";
  Instant start = T("2024-01-01T10:00:00Z");
  std::optional<Instant> end;
};

bool Hit(const MeetFilter& f, const Row& r) {
  return f.Matches([&](std::string_view field) -> FilterValue {
    if (field == "space.meeting_code") return r.code;
    if (field == "space.name") return r.name;
    if (field == "start_time") return r.start;
    if (r.end) return *r.end;
    return std::monostate{};
  });
}

TEST(MeetFilterTest, EmptyMatchesEverything) {
  auto f = ParseMeetFilter("  ", kFields);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->empty());
  EXPECT_TRUE(Hit(*f, Row{}));
}

TEST(MeetFilterTest, MeetingCodeEqualityIgnoresCase) {
  auto f = ParseMeetFilter(R"(space.meeting_code = "ABC-mnop-XYZ")", kFields);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(Hit(*f, Row{}));
  EXPECT_FALSE(Hit(*f, Row{.code = "abc-mnop-xyy"}));
}

TEST(MeetFilterTest, SpaceNameIsCaseSensitive) {
  auto f = ParseMeetFilter(R"(space.name = "spaces/s1")", kFields);
  ASSERT_TRUE(f);
  EXPECT_FALSE(Hit(*f, Row{}));
  auto g = ParseMeetFilter(R"(space.name != "spaces/s1")", kFields);
  ASSERT_TRUE(g);
  EXPECT_TRUE(Hit(*g, Row{}));
}

TEST(MeetFilterTest, TimeRangeWithAnd) {
  auto f = ParseMeetFilter(
      R"(start_time>="2024-01-01T00:00:00.000Z" AND start_time<="2024-01-02T00:00:00.000Z")",
      kFields);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(Hit(*f, Row{}));
  EXPECT_FALSE(Hit(*f, Row{.start = T("2024-01-02T00:00:01Z")}));
  EXPECT_FALSE(Hit(*f, Row{.start = T("2023-12-31T23:59:59Z")}));
  EXPECT_TRUE(Hit(*f, Row{.start = T("2024-01-02T00:00:00Z")}));  // <= is inclusive
}

TEST(MeetFilterTest, UnquotedTimesAndOffsets) {
  auto f = ParseMeetFilter("start_time > 2024-01-01T11:00:00+02:00", kFields);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(Hit(*f, Row{}));  // 10:00Z is after 09:00Z
  auto g = ParseMeetFilter("start_time < 2024-01-01T11:00:00+02:00", kFields);
  ASSERT_TRUE(g);
  EXPECT_FALSE(Hit(*g, Row{}));
}

TEST(MeetFilterTest, IsNullAndIsNotNull) {
  auto running = ParseMeetFilter("end_time IS NULL", kFields);
  auto ended = ParseMeetFilter("end_time IS NOT NULL", kFields);
  ASSERT_TRUE(running);
  ASSERT_TRUE(ended);
  Row open;
  Row closed{.end = T("2024-01-01T11:00:00Z")};
  EXPECT_TRUE(Hit(*running, open));
  EXPECT_FALSE(Hit(*running, closed));
  EXPECT_FALSE(Hit(*ended, open));
  EXPECT_TRUE(Hit(*ended, closed));
}

TEST(MeetFilterTest, ComparingAnUnsetTimeIsFalse) {
  auto f = ParseMeetFilter(R"(end_time < "2030-01-01T00:00:00Z")", kFields);
  ASSERT_TRUE(f);
  EXPECT_FALSE(Hit(*f, Row{}));
  auto g = ParseMeetFilter(R"(end_time != "2030-01-01T00:00:00Z")", kFields);
  ASSERT_TRUE(g);
  EXPECT_FALSE(Hit(*g, Row{}));
}

TEST(MeetFilterTest, OrBindsTighterThanAnd) {
  // a AND b OR c is a AND (b OR c) in AIP-160.
  auto f = ParseMeetFilter(R"(space.meeting_code = "abc-mnop-xyz" AND )"
                           R"(end_time IS NULL OR start_time > "2025-01-01T00:00:00Z")",
                           kFields);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(Hit(*f, Row{}));
  EXPECT_FALSE(Hit(*f, Row{.end = T("2024-01-01T11:00:00Z")}));
  EXPECT_FALSE(Hit(*f, Row{.code = "zzz-zzzz-zzz"}));
}

TEST(MeetFilterTest, RefusesWhatItCannotRead) {
  for (const char* bad : {
           "participant = \"x\"",                     // unknown field
           "space.meeting_code",                      // no operator
           "space.meeting_code = ",                   // no value
           "space.meeting_code > \"abc\"",            // strings take = and != only
           "start_time = \"yesterday\"",              // not RFC 3339
           "end_time IS EMPTY",                       // IS takes NULL
           "space.meeting_code = \"abc",              // unterminated string
           "(end_time IS NULL)",                      // no parentheses
           "end_time IS NULL end_time IS NULL",       // missing AND
           "start_time == \"2024-01-01T00:00:00Z\"",  // not an AIP-160 operator
       }) {
    auto f = ParseMeetFilter(bad, kFields);
    ASSERT_FALSE(f) << bad;
    EXPECT_EQ(f.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  auto f = ParseMeetFilter("participant = \"x\"", kFields);
  EXPECT_NE(f.error().message().find("participant"), std::string::npos);
}

}  // namespace
}  // namespace telemeet::emulator
