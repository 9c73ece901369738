#include "crypto/hash.h"

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/sodium.h"

namespace telemeet::crypto {
namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string Sha256(std::string_view data) {
  internal::EnsureSodium();
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), Bytes(data), data.size());
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  internal::EnsureSodium();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, Bytes(key), key.size());
  crypto_auth_hmacsha256_update(&state, Bytes(data), data.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&state, sizeof state);
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  internal::EnsureSodium();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// base64url's alphabet (A-Z a-z 0-9 - _) is a subset of the unreserved set.
std::string PkceVerifier() { return RandomToken(32); }

std::string PkceChallengeS256(std::string_view verifier) {
  return Base64UrlEncode(Sha256(verifier));
}

}  // namespace telemeet::crypto
