#include "crypto/password.h"

#include <gtest/gtest.h>

#include <string>

namespace telemeet::crypto {
namespace {

const PasswordLimits kFast = PasswordLimits::Minimum();

TEST(PasswordTest, HashVerifies) {
  auto hash = HashPassword("correct horse battery staple", kFast);
  ASSERT_TRUE(hash.has_value());
  EXPECT_TRUE(hash->starts_with("$argon2id$")) << *hash;
  EXPECT_EQ(hash->find("correct"), std::string::npos);
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(PasswordTest, SaltMakesHashesDiffer) {
  auto a = HashPassword("pw", kFast).value();
  auto b = HashPassword("pw", kFast).value();
  EXPECT_NE(a, b);
  EXPECT_TRUE(VerifyPassword(a, "pw"));
  EXPECT_TRUE(VerifyPassword(b, "pw"));
}

TEST(PasswordTest, EmptyAndBinaryPasswords) {
  auto empty = HashPassword("", kFast).value();
  EXPECT_TRUE(VerifyPassword(empty, ""));
  EXPECT_FALSE(VerifyPassword(empty, " "));
  std::string binary("a\0b", 3);
  auto hash = HashPassword(binary, kFast).value();
  EXPECT_TRUE(VerifyPassword(hash, binary));
  EXPECT_FALSE(VerifyPassword(hash, "a"));
}

TEST(PasswordTest, MalformedHashNeverVerifies) {
  EXPECT_FALSE(VerifyPassword("", "pw"));
  EXPECT_FALSE(VerifyPassword("plaintext-pw", "plaintext-pw"));
  EXPECT_FALSE(VerifyPassword(std::string(500, '$'), "pw"));
  auto hash = HashPassword("pw", kFast).value();
  std::string tampered = hash;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyPassword(tampered, "pw"));
  EXPECT_FALSE(VerifyPassword(hash + std::string(1, '\0'), "pw"));
}

TEST(PasswordTest, LimitsAreCheckedAndRecorded) {
  EXPECT_EQ(HashPassword("pw", {0, kFast.memory_bytes}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(HashPassword("pw", {1, 1024}).error().code(), ErrorCode::kInvalidArgument);
  auto hash = HashPassword("pw", kFast).value();
  EXPECT_NE(hash.find("m=8,t=1"), std::string::npos) << hash;
  EXPECT_FALSE(PasswordNeedsRehash(hash, kFast));
  EXPECT_TRUE(PasswordNeedsRehash(hash, PasswordLimits::Interactive()));
  EXPECT_TRUE(PasswordNeedsRehash("garbage", kFast));
  PasswordLimits interactive = PasswordLimits::Interactive();
  EXPECT_EQ(interactive.operations, 2u);
  EXPECT_EQ(interactive.memory_bytes, 64u << 20);
}

}  // namespace
}  // namespace telemeet::crypto
