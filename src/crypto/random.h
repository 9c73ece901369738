// Cryptographically secure randomness (libsodium's randombytes, i.e. the OS CSPRNG).
//
//   std::string key = crypto::RandomBytes(32);       // 32 raw bytes
//   std::string state = crypto::RandomToken();       // 43 base64url chars, 256 bits
//
// Every function here is safe to call from any thread.
#pragma once

#include <cstddef>
#include <string>

namespace telemeet::crypto {

// `n` uniformly random bytes.
std::string RandomBytes(size_t n);

// `bytes` random bytes encoded as base64url without padding: safe in URLs, cookies and headers.
std::string RandomToken(size_t bytes = 32);

}  // namespace telemeet::crypto
