#include "api/login_throttle.h"

#include <gtest/gtest.h>

namespace telemeet::api {
namespace {

using namespace std::chrono_literals;

class LoginThrottleTest : public ::testing::Test {
 protected:
  // One guess from `address` at `account`, failing; whether it was let through.
  bool Guess(std::string_view address, std::string_view account = "admin@clinic.example",
             std::string_view device = "") {
    auto a = throttle_.Begin(address, account, device, now_);
    if (a.allowed) throttle_.Failed(a, now_);
    return a.allowed;
  }

  Instant now_ = FromUnixSeconds(1'900'000'000);
  LoginThrottle throttle_{{.address_failures = 20,
                           .window = 15min,
                           .free_failures = 5,
                           .first_delay = 5s,
                           .max_delay = 5min,
                           .max_entries = 1000}};
};

TEST_F(LoginThrottleTest, AnAccountGetsGrowingDelaysAfterFiveFailuresNeverALockout) {
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Guess("10.0.0.1")) << i;
  // The sixth must wait 5 s, then 10 s, 20 s ... up to 5 minutes, whoever asks.
  auto refused = throttle_.Begin("10.0.0.2", "admin@clinic.example", "", now_);
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.by_address);
  EXPECT_EQ(refused.retry_after, 5s);
  std::chrono::seconds expected = 5s;
  for (int i = 0; i < 10; ++i) {
    now_ += expected;
    EXPECT_TRUE(Guess("10.0.0." + std::to_string(3 + i))) << i;
    expected = std::min(expected * 2, std::chrono::seconds(5min));
    auto wait = throttle_.Begin("10.9.9.9", "admin@clinic.example", "", now_);
    EXPECT_FALSE(wait.allowed);
    EXPECT_EQ(wait.retry_after, expected) << i;
  }
  EXPECT_EQ(expected, 5min);  // the cap was reached: still a delay, not a lock
}

TEST_F(LoginThrottleTest, ParallelGuessesAreCountedBeforeThePasswordCheck) {
  // Ten guesses arrive together, none answered yet: only the free five get through.
  int through = 0;
  for (int i = 0; i < 10; ++i) {
    if (throttle_.Begin("10.0.0." + std::to_string(i), "admin@clinic.example", "", now_).allowed) {
      ++through;
    }
  }
  EXPECT_EQ(through, 5);
}

TEST_F(LoginThrottleTest, OneAddressIsStoppedWhateverTheAccounts) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(Guess("203.0.113.9", "user" + std::to_string(i) + "@clinic.example")) << i;
  }
  auto refused = throttle_.Begin("203.0.113.9", "fresh@clinic.example", "", now_);
  EXPECT_FALSE(refused.allowed);
  EXPECT_TRUE(refused.by_address);
  EXPECT_EQ(refused.retry_after, 15min);
  EXPECT_TRUE(throttle_.Begin("203.0.113.10", "fresh@clinic.example", "", now_).allowed);
  now_ += 15min;
  EXPECT_TRUE(throttle_.Begin("203.0.113.9", "fresh@clinic.example", "", now_).allowed);
}

TEST_F(LoginThrottleTest, TheOwnersBrowserIsNotStoppedByItsSharedAddress) {
  std::string device = throttle_.DeviceCookie("admin@clinic.example");
  // Everyone behind one proxy address: an attacker's failures stop strangers there ...
  for (int i = 0; i < 20; ++i) Guess("127.0.0.1", "user" + std::to_string(i) + "@x.example");
  EXPECT_FALSE(throttle_.Begin("127.0.0.1", "admin@clinic.example", "", now_).allowed);
  // ... but not the browser that signed in to the account before.
  EXPECT_TRUE(throttle_.Begin("127.0.0.1", "admin@clinic.example", device, now_).allowed);
}

TEST_F(LoginThrottleTest, ASuccessClearsTheAccountAndTakesBackItsOwnCount) {
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(Guess("10.0.0.1"));
  auto a = throttle_.Begin("10.0.0.1", "admin@clinic.example", "", now_);
  ASSERT_TRUE(a.allowed);
  throttle_.Succeeded(a, now_);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Guess("10.0.0.1")) << i;  // counting starts afresh
}

TEST_F(LoginThrottleTest, TheOwnersBrowserSignsInWhileStrangersHammerTheAccount) {
  std::string device = throttle_.DeviceCookie("admin@clinic.example");
  for (int i = 0; i < 12; ++i) {
    now_ += 6min;  // an attacker keeps the account in delay for strangers
    Guess("198.51.100." + std::to_string(i));
  }
  EXPECT_FALSE(throttle_.Begin("10.0.0.1", "admin@clinic.example", "", now_).allowed);
  // The browser that signed in before is counted on its own.
  auto owner = throttle_.Begin("10.0.0.1", "admin@clinic.example", device, now_);
  EXPECT_TRUE(owner.allowed);
  // A device cookie is bound to its account and cannot be forged.
  std::string forged = device;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_FALSE(throttle_.Begin("10.0.0.1", "admin@clinic.example", forged, now_).allowed);
  std::string other = throttle_.DeviceCookie("someone@clinic.example");
  EXPECT_FALSE(throttle_.Begin("10.0.0.1", "admin@clinic.example", other, now_).allowed);
}

TEST_F(LoginThrottleTest, MemoryStaysBoundedUnderASprayOfAccounts) {
  for (int i = 0; i < 5000; ++i) {
    Guess("10." + std::to_string(i / 250) + ".0." + std::to_string(i % 250),
          "spray" + std::to_string(i) + "@x.example");
  }
  EXPECT_LE(throttle_.size(), 2000u);
}

TEST_F(LoginThrottleTest, AFloodOfNewKeysNeverLiftsADelay) {
  for (int i = 0; i < 6; ++i) Guess("10.0.0.1");  // the victim's account is in delay
  // A flood of fresh emails from fresh addresses fills both tables.
  for (int i = 0; i < 3000; ++i) {
    Guess("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250),
          "flood" + std::to_string(i) + "@x.example");
  }
  auto victim = throttle_.Begin("10.2.0.1", "admin@clinic.example", "", now_);
  EXPECT_FALSE(victim.allowed);
  EXPECT_GT(victim.retry_after, std::chrono::seconds(0));
}

TEST_F(LoginThrottleTest, AnIpv6ClientIsCountedPerSlash64) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(Guess("2001:db8:1:2::" + std::to_string(i + 1),
                      "user" + std::to_string(i) + "@clinic.example"));
  }
  // Another address in the same /64: the same client.
  EXPECT_FALSE(throttle_.Begin("2001:db8:1:2:ffff::9", "fresh@clinic.example", "", now_).allowed);
  EXPECT_TRUE(throttle_.Begin("2001:db8:1:3::1", "fresh@clinic.example", "", now_).allowed);
}

}  // namespace
}  // namespace telemeet::api
