#include "crypto/keyring.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/encoding.h"
#include "crypto/random.h"

namespace telemeet::crypto {
namespace {

class KeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ring_.Add("k1", key1_).has_value()); }

  std::string key1_ = RandomBytes(32);
  std::string key2_ = RandomBytes(32);
  KeyRing ring_;
};

TEST_F(KeyRingTest, SealOpenRoundTrip) {
  for (std::string plain : {std::string(), std::string("1//0refresh-token"),
                            std::string("\0binary\xff", 8), std::string(10000, 'x')}) {
    auto sealed = ring_.Seal(plain, "doctor:1/refresh");
    ASSERT_TRUE(sealed.has_value());
    EXPECT_TRUE(sealed->starts_with("k1."));
    // 24-byte nonce + plaintext + 16-byte tag.
    EXPECT_EQ(Base64UrlDecode(sealed->substr(3)).value().size(), 24 + plain.size() + 16);
    EXPECT_EQ(ring_.Open(*sealed, "doctor:1/refresh").value(), plain);
  }
}

TEST_F(KeyRingTest, NoncesAreFreshAndPlaintextHidden) {
  auto a = ring_.Seal("same secret value", "aad").value();
  auto b = ring_.Seal("same secret value", "aad").value();
  EXPECT_NE(a, b);
  EXPECT_NE(a.substr(3, 32), b.substr(3, 32));  // the nonces differ
  EXPECT_EQ(a.find("secret"), std::string::npos);
}

TEST_F(KeyRingTest, OtherAadFails) {
  auto sealed = ring_.Seal("token", "doctor:1/refresh").value();
  for (std::string_view aad : {"doctor:2/refresh", "doctor:1/client_secret", ""}) {
    auto opened = ring_.Open(sealed, aad);
    ASSERT_FALSE(opened.has_value()) << aad;
    EXPECT_EQ(opened.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST_F(KeyRingTest, TamperedCiphertextFails) {
  std::string sealed = ring_.Seal("token value", "aad").value();
  std::string box = Base64UrlDecode(sealed.substr(3)).value();
  for (size_t i = 0; i < box.size(); ++i) {
    std::string bad = box;
    bad[i] ^= 0x01;
    auto opened = ring_.Open("k1." + Base64UrlEncode(bad), "aad");
    ASSERT_FALSE(opened.has_value()) << "byte " << i;
    EXPECT_EQ(opened.error().code(), ErrorCode::kInvalidArgument);
  }
  // Truncated, empty, garbage.
  EXPECT_FALSE(ring_.Open("k1." + Base64UrlEncode(box.substr(0, box.size() - 1)), "aad"));
  EXPECT_FALSE(ring_.Open("k1." + Base64UrlEncode(box.substr(0, 39)), "aad"));
  EXPECT_FALSE(ring_.Open("k1.", "aad"));
  EXPECT_FALSE(ring_.Open("k1.!!!", "aad"));
  EXPECT_FALSE(ring_.Open("no-dot", "aad"));
  EXPECT_FALSE(ring_.Open("K1." + sealed.substr(3), "aad"));
}

TEST_F(KeyRingTest, UnknownKeyIdIsNamed) {
  KeyRing other;
  ASSERT_TRUE(other.Add("retired-2025", key1_));
  auto sealed = other.Seal("token", "aad").value();
  auto opened = ring_.Open(sealed, "aad");
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(opened.error().message().find("'retired-2025'"), std::string::npos)
      << opened.error().message();
}

TEST_F(KeyRingTest, RotationSealsWithPrimaryAndOpensOld) {
  auto old_sealed = ring_.Seal("old", "aad").value();
  ASSERT_TRUE(ring_.Add("k2", key2_));
  EXPECT_EQ(ring_.primary_id(), "k1");  // adding does not switch the primary
  ASSERT_TRUE(ring_.SetPrimary("k2"));
  auto new_sealed = ring_.Seal("new", "aad").value();
  EXPECT_TRUE(new_sealed.starts_with("k2."));
  EXPECT_EQ(ring_.Open(old_sealed, "aad").value(), "old");
  EXPECT_EQ(ring_.Open(new_sealed, "aad").value(), "new");

  // A ring holding only the old key cannot open the new value; the keys really differ.
  KeyRing old_only;
  ASSERT_TRUE(old_only.Add("k1", key1_));
  EXPECT_EQ(old_only.Open(new_sealed, "aad").error().code(), ErrorCode::kFailedPrecondition);
  // The same id with a different key does not authenticate.
  KeyRing wrong;
  ASSERT_TRUE(wrong.Add("k2", key1_));
  EXPECT_EQ(wrong.Open(new_sealed, "aad").error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(KeyRingTest, KeyIdsAndSizesAreValidated) {
  for (std::string_view bad : {"", "K1", "k.1", "k_1", "k 1", "k:1", "ключ"}) {
    auto s = ring_.Add(bad, key2_);
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(ring_.Add(std::string(65, 'a'), key2_));
  EXPECT_TRUE(ring_.Add(std::string(64, 'a'), key2_));
  EXPECT_TRUE(ring_.Add("2026-01-rotation", key2_));
  EXPECT_EQ(ring_.Add("k3", RandomBytes(31)).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ring_.Add("k3", RandomBytes(33)).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ring_.Add("k1", key2_).error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ring_.SetPrimary("nope").error().code(), ErrorCode::kNotFound);
}

TEST(KeyRingEmptyTest, SealFailsWithoutKeys) {
  KeyRing ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.Seal("x", "aad").error().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace telemeet::crypto
