// Binary-to-text codecs: base64 and base64url (RFC 4648 sections 4 and 5), hex, and
// base32hex (RFC 4648 section 7, lowercase, unpadded: the alphabet Google accepts for event ids).
//
//   std::string t = crypto::Base64UrlEncode(crypto::RandomBytes(32));   // no '=' padding
//   Result<std::string> raw = crypto::Base64UrlDecode(t);               // padding optional
//   if (!raw) return std::unexpected(raw.error());                      // kInvalidArgument
//
// Decoders are strict: a character outside the alphabet, a wrong length, misplaced padding or
// non-zero unused trailing bits give kInvalidArgument, so each text decodes from one encoding
// only. All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace telemeet::crypto {

// Standard alphabet (+/) with '=' padding.
std::string Base64Encode(std::string_view data);
// Requires the padding the encoder writes.
Result<std::string> Base64Decode(std::string_view text);

// URL-safe alphabet (-_) without padding.
std::string Base64UrlEncode(std::string_view data);
// Accepts the text with or without correct '=' padding.
Result<std::string> Base64UrlDecode(std::string_view text);

// Lowercase hex.
std::string HexEncode(std::string_view data);
// Accepts upper and lower case; the length must be even.
Result<std::string> HexDecode(std::string_view text);

// base32hex ("0-9a-v"), lowercase, no padding.
std::string Base32HexEncode(std::string_view data);

}  // namespace telemeet::crypto
