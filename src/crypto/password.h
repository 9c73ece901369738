// Password hashing for web logins: Argon2id through libsodium's crypto_pwhash_str, which embeds
// the algorithm, limits and salt in the hash string ("$argon2id$v=19$m=65536,t=2,p=1$...").
//
//   Result<std::string> hash = crypto::HashPassword(password);     // store *hash
//   if (crypto::VerifyPassword(*hash, attempt)) ...                   // log in
//   if (crypto::PasswordNeedsRehash(*hash)) ...                       // re-hash after login
//
// Tests pass PasswordLimits::Minimum() so each hash takes about a millisecond.
// All functions are thread-safe; each hash uses `memory_bytes` of memory while it runs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.h"

namespace telemeet::crypto {

struct PasswordLimits {
  unsigned long long operations = 0;  // Argon2 passes (t)
  size_t memory_bytes = 0;            // Argon2 memory (m)

  // libsodium's "interactive" limits (2 passes, 64 MiB): the default for logins.
  static PasswordLimits Interactive();
  // The smallest limits libsodium accepts (1 pass, 8 KiB). Only for tests.
  static PasswordLimits Minimum();
};

// A new Argon2id hash string of `password` with a random salt. Returns kInvalidArgument when
// `limits` are outside libsodium's bounds, kResourceExhausted when memory runs out.
Result<std::string> HashPassword(std::string_view password,
                                 const PasswordLimits& limits = PasswordLimits::Interactive());

// True when `password` matches `hash`; false on a mismatch and on a malformed hash.
bool VerifyPassword(std::string_view hash, std::string_view password);

// True when `hash` was made with other limits or another algorithm than `limits` (or is
// malformed), so the password should be hashed again at the next successful login.
bool PasswordNeedsRehash(std::string_view hash,
                         const PasswordLimits& limits = PasswordLimits::Interactive());

}  // namespace telemeet::crypto
