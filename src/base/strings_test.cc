#include "base/strings.h"

#include <gtest/gtest.h>

namespace telemeet {
namespace {

TEST(StringsTest, ParseQueryDecodesAndKeepsOrder) {
  auto q = ParseQuery("b=x%20y&a=1&a=2&flag&c=a+b");
  ASSERT_TRUE(q.has_value());
  ASSERT_EQ(q->size(), 5u);
  EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>("b", "x y")));
  EXPECT_EQ((*q)[2].second, "2");
  EXPECT_EQ((*q)[3], (std::pair<std::string, std::string>("flag", "")));
  EXPECT_EQ(*FindValue(*q, "c"), "a b");
  EXPECT_FALSE(FindValue(*q, "zzz").has_value());
}

TEST(StringsTest, MalformedEscapesAreRejected) {
  EXPECT_FALSE(ParseQuery("a=%4").has_value());
  EXPECT_FALSE(ParseQuery("a=%zz").has_value());
  EXPECT_FALSE(UrlDecode("%").has_value());
  EXPECT_EQ(*UrlDecode("%41%62"), "Ab");
}

TEST(StringsTest, FormEncodeRoundTrips) {
  KeyValues in = {{"redirect_uri", "http://127.0.0.1:8/cb?x=1"}, {"scope", "a b/c"}};
  std::string encoded = FormEncode(in);
  EXPECT_EQ(encoded, "redirect_uri=http%3A%2F%2F127.0.0.1%3A8%2Fcb%3Fx%3D1&scope=a%20b%2Fc");
  EXPECT_EQ(*ParseQuery(encoded), in);
}

TEST(StringsTest, CaseAndTrim) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Type", "content-typ"));
  EXPECT_EQ(Trim("  a b \t"), "a b");
  EXPECT_EQ(Split("a,,b", ',').size(), 3u);
}

}  // namespace
TEST(HtmlEscapeTest, EscapesMarkup) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
}

}  // namespace telemeet
