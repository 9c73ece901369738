#include "crypto/encoding.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace telemeet::crypto {
namespace {

// RFC 4648 section 10 test vectors.
struct Vector {
  std::string data, base64, base32hex, hex;
};
const Vector kVectors[] = {
    {"", "", "", ""},
    {"f", "Zg==", "co", "66"},
    {"fo", "Zm8=", "cpng", "666f"},
    {"foo", "Zm9v", "cpnmu", "666f6f"},
    {"foob", "Zm9vYg==", "cpnmuog", "666f6f62"},
    {"fooba", "Zm9vYmE=", "cpnmuoj1", "666f6f6261"},
    {"foobar", "Zm9vYmFy", "cpnmuoj1e8", "666f6f626172"},
};

std::string Unpadded(std::string s) { return s.substr(0, s.find('=')); }

std::string ToLowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

TEST(EncodingTest, Rfc4648Vectors) {
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.data);
    EXPECT_EQ(Base64Encode(v.data), v.base64);
    EXPECT_EQ(Base64Decode(v.base64).value(), v.data);
    EXPECT_EQ(Base64UrlEncode(v.data), Unpadded(v.base64));
    EXPECT_EQ(Base64UrlDecode(Unpadded(v.base64)).value(), v.data);
    EXPECT_EQ(Base64UrlDecode(v.base64).value(), v.data);  // padding accepted in
    EXPECT_EQ(Base32HexEncode(v.data), v.base32hex);
    EXPECT_EQ(HexEncode(v.data), v.hex);
    EXPECT_EQ(HexDecode(v.hex).value(), v.data);
  }
}

TEST(EncodingTest, UrlAlphabetDiffersFromStandard) {
  const std::string data("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64Encode(data), "+/+/");
  EXPECT_EQ(Base64UrlEncode(data), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_").value(), data);
  EXPECT_EQ(Base64Decode("-_-_").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Base64UrlDecode("+/+/").error().code(), ErrorCode::kInvalidArgument);
}

TEST(EncodingTest, Base64RejectsMalformedInput) {
  for (std::string_view bad :
       {"Zg", "Zg=", "Zg===", "Z===", "Zm9v=", "Zm=9", "Zh==", "Zm9v!A==", "Zm 9v", "Z"}) {
    SCOPED_TRACE(bad);
    auto r = Base64Decode(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(EncodingTest, Base64UrlRejectsMalformedInput) {
  // "Zh" has non-zero unused bits; "Zg=" is half-padded; "Z" cannot encode a whole byte.
  for (std::string_view bad : {"Z", "Zh", "Zg=", "Zg===", "Zm9v=", "Zm=9", "a.b"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(Base64UrlDecode(bad).error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(EncodingTest, HexAcceptsUpperCaseAndRejectsGarbage) {
  EXPECT_EQ(HexDecode("DEADbeef").value(), std::string("\xde\xad\xbe\xef", 4));
  EXPECT_EQ(HexDecode("abc").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(HexDecode("zz").error().code(), ErrorCode::kInvalidArgument);
}

TEST(EncodingTest, AllByteValuesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t len = 0; len <= all.size(); len += 37) {
    std::string data = all.substr(0, len);
    EXPECT_EQ(Base64Decode(Base64Encode(data)).value(), data);
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(data)).value(), data);
    EXPECT_EQ(HexDecode(HexEncode(data)).value(), data);
  }
}

TEST(EncodingTest, Base32HexUsesOnlyGoogleEventIdAlphabet) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string encoded = Base32HexEncode(all);
  EXPECT_EQ(encoded.size(), (all.size() * 8 + 4) / 5);
  EXPECT_EQ(encoded.find_first_not_of("0123456789abcdefghijklmnopqrstuv"), std::string::npos);
}

// Decoders are strict, so a text either fails or is exactly what the encoder writes for the
// decoded bytes: one encoding per value, whatever the input.
TEST(EncodingTest, DecodersAcceptOnlyCanonicalText) {
  std::mt19937 rng(20261201);  // fixed seed: deterministic
  const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=%";
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 9, ' ');
    for (char& c : text) c = chars[rng() % chars.size()];
    if (auto b = Base64Decode(text)) {
      EXPECT_EQ(Base64Encode(*b), text);
      ++decoded;
    }
    if (auto b = Base64UrlDecode(text)) {
      std::string unpadded = text.substr(0, text.find('='));
      EXPECT_EQ(Base64UrlEncode(*b), unpadded);
    }
    if (auto b = HexDecode(text)) {
      EXPECT_EQ(HexEncode(*b), ToLowerAscii(text));
    }
  }
  EXPECT_GT(decoded, 100);  // the property was exercised, not vacuously true
}

}  // namespace
}  // namespace telemeet::crypto
