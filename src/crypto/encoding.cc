#include "crypto/encoding.h"

#include <array>
#include <cstdint>

namespace telemeet::crypto {
namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kBase32Hex = "0123456789abcdefghijklmnopqrstuv";

// Maps a character to its 6-bit value in `alphabet`, or -1.
std::array<int8_t, 256> ReverseTable(std::string_view alphabet) {
  std::array<int8_t, 256> table;
  table.fill(-1);
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

std::string EncodeBase64(std::string_view data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// Decodes unpadded base64 text in `alphabet`.
Result<std::string> DecodeBase64(std::string_view text, const std::array<int8_t, 256>& table,
                                 std::string_view what) {
  if (text.size() % 4 == 1) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + ": truncated input");
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int8_t v = table[static_cast<unsigned char>(c)];
    if (v < 0) {
      return Fail(ErrorCode::kInvalidArgument, std::string(what) + ": invalid character");
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + ": non-zero trailing bits");
  }
  return out;
}

// Splits `text` into its data part and checks that any '=' padding is exactly what an encoder
// with padding would write. `required` demands padding.
Result<std::string_view> StripPadding(std::string_view text, bool required, std::string_view what) {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=') --end;
  size_t padding = text.size() - end;
  if (padding == 0 && !required) return text;
  size_t expected = (4 - end % 4) % 4;
  if (padding != expected || (required && text.size() % 4 != 0)) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + ": bad padding");
  }
  return text.substr(0, end);
}

}  // namespace

std::string Base64Encode(std::string_view data) { return EncodeBase64(data, kBase64, true); }

Result<std::string> Base64Decode(std::string_view text) {
  static const auto table = ReverseTable(kBase64);
  auto body = StripPadding(text, /*required=*/true, "base64");
  if (!body) return std::unexpected(body.error());
  return DecodeBase64(*body, table, "base64");
}

std::string Base64UrlEncode(std::string_view data) { return EncodeBase64(data, kBase64Url, false); }

Result<std::string> Base64UrlDecode(std::string_view text) {
  static const auto table = ReverseTable(kBase64Url);
  auto body = StripPadding(text, /*required=*/false, "base64url");
  if (!body) return std::unexpected(body.error());
  return DecodeBase64(*body, table, "base64url");
}

std::string HexEncode(std::string_view data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<std::string> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return Fail(ErrorCode::kInvalidArgument, "hex: odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]);
    int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return Fail(ErrorCode::kInvalidArgument, "hex: invalid character");
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string Base32HexEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : data) {
    acc = ((acc << 8) | c) & 0xffff;  // never more than 12 bits are pending
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32Hex[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += kBase32Hex[(acc << (5 - bits)) & 31];
  return out;
}

}  // namespace telemeet::crypto
