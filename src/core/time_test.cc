#include "core/time.h"

#include <gtest/gtest.h>

#include "core/base32hex.h"

namespace telemeet::core {
namespace {

Instant At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

TEST(TimeTest, ParsesAndFormatsUtc) {
  auto t = ParseRfc3339("2026-03-29T00:30:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(ToUnixSeconds(*t), 1'774'744'200);
  EXPECT_EQ(FormatRfc3339(*t), "2026-03-29T00:30:00Z");
  EXPECT_EQ(FormatFixedUtc(*t), "2026-03-29T00:30:00.000000Z");
}

TEST(TimeTest, FormatsEveryFieldWithItsWidth) {
  for (std::string_view text :
       {"0001-01-01T00:00:00Z", "1970-01-01T00:00:00.000001Z", "1999-12-31T23:59:59.999999Z",
        "2026-02-09T07:05:03.050000Z", "2028-02-29T12:00:00.100000Z", "9999-12-31T23:59:59Z"}) {
    EXPECT_EQ(FormatRfc3339(At(text)), text);
    Rfc3339Buffer buf;
    EXPECT_EQ(FormatRfc3339(At(text), buf), text);
  }
  // Beyond four-digit years (not from RFC 3339 text): the buffer holds them too.
  for (Instant t : {At("9999-12-31T23:59:59.5Z") + std::chrono::hours(24),
                    At("0000-01-01T00:00:00Z") - std::chrono::hours(24 * 366 * 100)}) {
    Rfc3339Buffer buf;
    EXPECT_EQ(FormatRfc3339(t, buf), FormatRfc3339(t));
  }
  Rfc3339Buffer buf;
  EXPECT_EQ(FormatRfc3339(At("9999-12-31T23:59:59.5Z") + std::chrono::hours(24), buf),
            "10000-01-01T23:59:59.500000Z");
}

TEST(TimeTest, ParsesOffsetsAndFractions) {
  EXPECT_EQ(At("2026-03-29T02:30:00+02:00"), At("2026-03-29T00:30:00Z"));
  EXPECT_EQ(At("2026-03-28T19:30:00-05:00"), At("2026-03-29T00:30:00Z"));
  auto t = ParseRfc3339("2026-01-01T00:00:00.1234567z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2026-01-01T00:00:00.123456Z");
  EXPECT_LT(FormatFixedUtc(At("2026-01-01T00:00:00Z")), FormatFixedUtc(*t));
}

TEST(TimeTest, RejectsMalformedNamingTheField) {
  for (std::string_view bad :
       {"", "2026-03-29", "2026-03-29T00:30:00", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-03-29T24:00:00Z", "2026-03-29T10:60:00Z", "2026-03-29T10:00:00+2:00",
        "2026-03-29 10:00:00Z", "2026-03-29T10:00:00Zjunk", "2026-03-29T10:00:00."}) {
    auto t = ParseRfc3339(bad, "start");
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(t.error().field(), "start");
  }
}

TEST(TimeTest, ValidatesIanaZones) {
  EXPECT_TRUE(ValidateTimeZone("Europe/Berlin"));
  EXPECT_TRUE(ValidateTimeZone("America/New_York"));
  EXPECT_TRUE(ValidateTimeZone("UTC"));
  auto bad = ValidateTimeZone("Mars/Olympus_Mons", "patient.time_zone");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "patient.time_zone");
  EXPECT_FALSE(ValidateTimeZone(""));
}

TEST(TimeTest, LocalTimeOnOrdinaryDay) {
  EXPECT_EQ(*LocalToInstant("2026-03-30T10:00", "Europe/Berlin"), At("2026-03-30T08:00:00Z"));
  EXPECT_EQ(*LocalToInstant("2026-01-15T10:00:00", "America/New_York"), At("2026-01-15T15:00:00Z"));
}

TEST(TimeTest, SpringForwardGapIsRejectedNamingTheField) {
  // Europe/Berlin jumps from 02:00 to 03:00 on 2026-03-29.
  auto t = LocalToInstant("2026-03-29T02:30", "Europe/Berlin", "start");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().field(), "start");
  EXPECT_NE(t.error().message().find("does not exist"), std::string::npos);
  EXPECT_NE(t.error().message().find("02:00"), std::string::npos) << t.error().message();
  EXPECT_NE(t.error().message().find("03:00"), std::string::npos) << t.error().message();
  // Just outside the gap both sides are fine.
  EXPECT_EQ(*LocalToInstant("2026-03-29T01:59", "Europe/Berlin"), At("2026-03-29T00:59:00Z"));
  EXPECT_EQ(*LocalToInstant("2026-03-29T03:00", "Europe/Berlin"), At("2026-03-29T01:00:00Z"));
  // America/New_York: 2026-03-08 02:00 → 03:00.
  auto ny = LocalToInstant("2026-03-08T02:15", "America/New_York", "end");
  ASSERT_FALSE(ny);
  EXPECT_EQ(ny.error().field(), "end");
}

TEST(TimeTest, FallBackOverlapTakesTheEarlierInstant) {
  // Europe/Berlin: 02:30 happens at +02:00 and again at +01:00 on 2026-10-25.
  EXPECT_EQ(*LocalToInstant("2026-10-25T02:30", "Europe/Berlin"), At("2026-10-25T00:30:00Z"));
  // America/New_York: 01:30 at -04:00 and at -05:00 on 2026-11-01.
  EXPECT_EQ(*LocalToInstant("2026-11-01T01:30", "America/New_York"), At("2026-11-01T05:30:00Z"));
}

TEST(TimeTest, LocalTimeErrors) {
  EXPECT_EQ(LocalToInstant("2026-03-30T10:00", "Nowhere/City").error().field(), "time_zone");
  EXPECT_EQ(LocalToInstant("2026-03-30T10:00Z", "UTC", "start").error().field(), "start");
  EXPECT_EQ(LocalToInstant("tomorrow", "UTC", "start").error().field(), "start");
}

TEST(TimeTest, FormatsWithZoneOffsetForGoogle) {
  EXPECT_EQ(*FormatWithOffset(At("2026-03-29T00:30:00Z"), "Europe/Berlin"),
            "2026-03-29T01:30:00+01:00");
  EXPECT_EQ(*FormatWithOffset(At("2026-03-29T01:30:00Z"), "Europe/Berlin"),
            "2026-03-29T03:30:00+02:00");
  EXPECT_EQ(*FormatWithOffset(At("2026-07-01T16:00:00Z"), "America/New_York"),
            "2026-07-01T12:00:00-04:00");
  EXPECT_EQ(*FormatWithOffset(At("2026-07-01T16:00:00Z"), "Asia/Kolkata"),
            "2026-07-01T21:30:00+05:30");
  // A negative offset with minutes; a wall clock on the previous day; fractions dropped.
  EXPECT_EQ(*FormatWithOffset(At("2026-07-01T01:15:00.750000Z"), "America/St_Johns"),
            "2026-06-30T22:45:00-02:30");
  EXPECT_EQ(*FormatWithOffset(At("2026-12-31T23:59:59Z"), "UTC"), "2026-12-31T23:59:59+00:00");
  // Either side of a clock change, and a wall clock in year -1 (date::format's four digits).
  EXPECT_EQ(*FormatWithOffset(At("2026-03-29T00:59:59Z"), "Europe/Berlin"),
            "2026-03-29T01:59:59+01:00");
  EXPECT_EQ(*FormatWithOffset(At("2026-03-29T01:00:00Z"), "Europe/Berlin"),
            "2026-03-29T03:00:00+02:00");
  EXPECT_EQ(*FormatWithOffset(At("0000-01-01T00:00:00Z"), "Etc/GMT+5"),
            "-0001-12-31T19:00:00-05:00");
  EXPECT_FALSE(FormatWithOffset(At("2026-07-01T16:00:00Z"), "Bad/Zone"));
}

TEST(Base32HexTest, RoundTripsAndUsesGoogleAlphabet) {
  EXPECT_EQ(Base32HexEncode(""), "");
  EXPECT_EQ(Base32HexEncode("f"), "co");  // RFC 4648 test vectors, lowercase, no padding
  EXPECT_EQ(Base32HexEncode("fo"), "cpng");
  EXPECT_EQ(Base32HexEncode("foo"), "cpnmu");
  EXPECT_EQ(Base32HexEncode("foob"), "cpnmuog");
  EXPECT_EQ(Base32HexEncode("fooba"), "cpnmuoj1");
  EXPECT_EQ(Base32HexEncode("foobar"), "cpnmuoj1e8");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*Base32HexDecode(Base32HexEncode(all)), all);
  EXPECT_EQ(*Base32HexDecode("CPNMUOJ1E8"), "foobar");
  EXPECT_FALSE(Base32HexDecode("cpnmw"));  // 'w' is outside the alphabet
  EXPECT_FALSE(Base32HexDecode("c"));      // impossible length
  EXPECT_FALSE(Base32HexDecode("cp"));     // non-zero trailing bits
}

}  // namespace
}  // namespace telemeet::core
