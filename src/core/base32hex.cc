#include "core/base32hex.h"

#include <cstdint>

namespace telemeet::core {
namespace {
constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuv";

int Value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'v') return c - 'a' + 10;
  if (c >= 'A' && c <= 'V') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string Base32HexEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<std::string> Base32HexDecode(std::string_view text) {
  // Valid unpadded lengths mod 8 are 0, 2, 4, 5, 7.
  switch (text.size() % 8) {
    case 1:
    case 3:
    case 6:
      return Fail(ErrorCode::kInvalidArgument, "base32hex text has an impossible length");
    default:
      break;
  }
  std::string out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = Value(c);
    if (v < 0) return Fail(ErrorCode::kInvalidArgument, "base32hex text has a bad character");
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "base32hex text has non-zero trailing bits");
  }
  return out;
}

}  // namespace telemeet::core
