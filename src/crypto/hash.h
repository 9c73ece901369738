// Hashes and MACs (libsodium's SHA-256 and HMAC-SHA-256), constant-time comparison, and the
// PKCE helpers of RFC 7636 used by the OAuth client and the emulator.
//
//   std::string digest = crypto::Sha256(token);             // 32 raw bytes; store this, not token
//   std::string mac = crypto::HmacSha256(key, payload);    // 32 raw bytes
//   if (!crypto::ConstantTimeEquals(mac, presented)) ...   // no timing leak on the contents
//   std::string verifier = crypto::PkceVerifier();
//   std::string challenge = crypto::PkceChallengeS256(verifier);
//
// All functions are thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace telemeet::crypto {

// SHA-256 of `data`, 32 raw bytes.
std::string Sha256(std::string_view data);

// HMAC-SHA-256 (RFC 2104) of `data` under `key` of any length, 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);

// True when `a` and `b` are equal. The time taken depends only on the lengths, never on the
// contents, so secrets (MACs, hashed tokens) can be compared safely.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// A new PKCE code verifier: 43 characters of the RFC 3986 unreserved set (256 random bits).
std::string PkceVerifier();

// The S256 code challenge of `verifier`: base64url(SHA-256(verifier)) without padding.
std::string PkceChallengeS256(std::string_view verifier);

}  // namespace telemeet::crypto
