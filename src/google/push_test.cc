#include "google/push.h"

#include <gtest/gtest.h>

namespace telemeet::google {
namespace {

net::Headers Notification() {
  net::Headers h;
  h.Set("X-Goog-Channel-ID", "tm-0123456789abcdef01234567");
  h.Set("X-Goog-Resource-State", "exists");
  h.Set("X-Goog-Channel-Token", "secret-token");
  h.Set("X-Goog-Resource-ID", "res-1");
  h.Set("X-Goog-Message-Number", "7");
  return h;
}

TEST(PushNotificationTest, ReadsGooglesHeaders) {
  auto n = ParsePushNotification(Notification());
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  EXPECT_EQ(n->channel_id, "tm-0123456789abcdef01234567");
  EXPECT_EQ(n->state, ResourceState::kExists);
  EXPECT_EQ(n->token, "secret-token");
  EXPECT_EQ(n->resource_id, "res-1");
  EXPECT_EQ(n->message_number, 7u);
}

TEST(PushNotificationTest, StatesByName) {
  net::Headers h = Notification();
  h.Set("X-Goog-Resource-State", "sync");
  EXPECT_EQ(ParsePushNotification(h)->state, ResourceState::kSync);
  h.Set("X-Goog-Resource-State", "not_exists");
  EXPECT_EQ(ParsePushNotification(h)->state, ResourceState::kNotExists);
  h.Set("X-Goog-Resource-State", "moved_to_mars");  // a state Google may add: not refused
  EXPECT_EQ(ParsePushNotification(h)->state, ResourceState::kOther);
}

TEST(PushNotificationTest, OptionalHeadersMayBeAbsent) {
  net::Headers h;
  h.Set("X-Goog-Channel-ID", "c1");
  h.Set("X-Goog-Resource-State", "sync");
  auto n = ParsePushNotification(h);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->token, "");
  EXPECT_FALSE(n->message_number.has_value());
}

TEST(PushNotificationTest, RefusalsNameTheHeader) {
  struct Case {
    const char* header;
    std::string value;  // "" removes it
  };
  const Case cases[] = {
      {"X-Goog-Channel-ID", ""},
      {"X-Goog-Channel-ID", std::string(65, 'c')},
      {"X-Goog-Channel-ID", "has space"},
      {"X-Goog-Resource-State", ""},
      {"X-Goog-Resource-State", "ex\x01sts"},
      {"X-Goog-Channel-Token", std::string(257, 't')},
      {"X-Goog-Resource-ID", "r\x7f"},
      {"X-Goog-Message-Number", "-1"},
      {"X-Goog-Message-Number", "18446744073709551616"},  // 2^64
      {"X-Goog-Message-Number", "7 "},
      {"X-Goog-Message-Number", ""},
  };
  for (const Case& c : cases) {
    net::Headers h = Notification();
    if (c.value.empty() && std::string_view(c.header) != "X-Goog-Message-Number") {
      h.Remove(c.header);
    } else {
      h.Set(c.header, c.value);
    }
    auto n = ParsePushNotification(h);
    ASSERT_FALSE(n.has_value()) << c.header << "=" << c.value;
    EXPECT_EQ(n.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(n.error().field(), c.header);
  }
}

}  // namespace
}  // namespace telemeet::google
