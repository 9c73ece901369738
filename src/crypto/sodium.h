// Internal to telemeet_crypto: initialises libsodium exactly once before any use.
//
//   EnsureSodium();            // at the top of every function that calls libsodium
//   randombytes_buf(p, n);
#pragma once

namespace telemeet::crypto::internal {

// Calls sodium_init() once per process (thread-safe: a function-local static). Terminates when
// libsodium cannot initialise, since no cryptography can be trusted after that.
void EnsureSodium();

}  // namespace telemeet::crypto::internal
