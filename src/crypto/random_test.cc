#include "crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/encoding.h"

namespace telemeet::crypto {
namespace {

TEST(RandomTest, RandomBytesHasRequestedLength) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(1).size(), 1u);
  EXPECT_EQ(RandomBytes(1000).size(), 1000u);
}

TEST(RandomTest, RandomBytesCoverAllByteValues) {
  // 64 KiB of uniform bytes miss a given value with probability (255/256)^65536 ~ 1e-111.
  std::string data = RandomBytes(1 << 16);
  std::array<int, 256> counts{};
  for (unsigned char c : data) ++counts[c];
  for (int c : counts) EXPECT_GT(c, 0);
}

TEST(RandomTest, TokensAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string t = RandomToken();
    EXPECT_EQ(t.size(), 43u);
    EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-_"),
              std::string::npos);
    EXPECT_EQ(Base64UrlDecode(t).value().size(), 32u);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(RandomToken(16).size(), 22u);
}

TEST(RandomTest, SafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<std::string> tokens(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&tokens, i] { tokens[i] = RandomToken(); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(), 8u);
}

}  // namespace
}  // namespace telemeet::crypto
