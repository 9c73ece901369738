#include <gtest/gtest.h>

#include "google/calendar_client.h"
#include "google/oauth_client.h"

namespace telemeet::google {
namespace {

using std::chrono::seconds;

const Instant kNow = FromUnixSeconds(1'780'000'000);

TEST(TokenAnswerTest, ReadsGooglesAnswer) {
  auto grant = ParseTokenAnswer(
      R"({"access_token":"ya29.a","expires_in":3599,"refresh_token":"1//r",)"
      R"("scope":"https://www.googleapis.com/auth/calendar openid","token_type":"Bearer"})",
      kNow);
  ASSERT_TRUE(grant.has_value()) << grant.error().ToString();
  EXPECT_EQ(grant->access_token, "ya29.a");
  EXPECT_EQ(grant->refresh_token, "1//r");
  EXPECT_EQ(grant->expires_at, kNow + seconds(3599));
  EXPECT_EQ(grant->scopes.size(), 2u);
}

// Found by google_answers_fuzzer's property (expiry after now, at most a day away): each of
// these lifetimes overflowed (UBSan: signed integer overflow in json_util Int() or in the
// seconds-to-microseconds conversion) or made an already expired token.
TEST(TokenAnswerTest, ALifetimeGoogleNeverGivesCountsAsTheDocumentedHour) {
  for (const char* expires_in : {"99999999999999", "\"9999999999999999999\"",
                                 "18446744073709551615", "-5", "0", "\"-5\"", "\"\"", "86401"}) {
    auto grant = ParseTokenAnswer(
        std::string(R"({"access_token":"a","expires_in":)") + expires_in + "}", kNow);
    ASSERT_TRUE(grant.has_value()) << expires_in;
    EXPECT_EQ(grant->expires_at, kNow + seconds(3600)) << expires_in;
  }
  auto day = ParseTokenAnswer(R"({"access_token":"a","expires_in":"86400"})", kNow);
  EXPECT_EQ(day->expires_at, kNow + seconds(86'400));
}

TEST(TokenAnswerTest, RefusesAnAnswerWithoutAToken) {
  for (const char* body :
       {"", "[]", R"({"expires_in":3600})", R"({"access_token":"a","token_type":"MAC"})"}) {
    auto grant = ParseTokenAnswer(body, kNow);
    ASSERT_FALSE(grant.has_value()) << body;
    EXPECT_EQ(grant.error().kind(), ErrorKind::kBadResponse);
  }
}

TEST(ChannelAnswerTest, ReadsTheExpiration) {
  auto ch = ParseChannel(R"({"id":"c","resourceId":"r","expiration":"1780003600000"})");
  ASSERT_TRUE(ch.has_value());
  EXPECT_EQ(ch->expiration, kNow + seconds(3600));
}

// Found by google_answers_fuzzer: milliseconds past year 9999 overflowed the conversion to
// Instant's microseconds (UBSan: signed integer overflow), and a 19-digit string overflowed Int().
TEST(ChannelAnswerTest, AnExpirationOutOfRangeIsAbsent) {
  for (const char* expiration : {"\"9223372036854775807\"", "9223372036854775807",
                                 "\"9999999999999999999\"", "253402300800000", "-1", "0"}) {
    auto ch = ParseChannel(std::string(R"({"resourceId":"r","expiration":)") + expiration + "}");
    ASSERT_TRUE(ch.has_value()) << expiration;
    EXPECT_FALSE(ch->expiration.has_value()) << expiration;
  }
}

}  // namespace
}  // namespace telemeet::google
