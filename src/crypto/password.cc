#include "crypto/password.h"

#include <sodium.h>

#include <cstring>

#include "crypto/sodium.h"

namespace telemeet::crypto {

PasswordLimits PasswordLimits::Interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

PasswordLimits PasswordLimits::Minimum() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

Result<std::string> HashPassword(std::string_view password, const PasswordLimits& limits) {
  if (limits.operations < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      limits.operations > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      limits.memory_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      limits.memory_bytes > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return Fail(ErrorCode::kInvalidArgument, "password hashing limits are out of range");
  }
  if (password.size() > crypto_pwhash_argon2id_PASSWD_MAX) {
    return Fail(ErrorCode::kInvalidArgument, "password is too long", "password");
  }
  internal::EnsureSodium();
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits.operations,
                            limits.memory_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Fail(ErrorCode::kResourceExhausted, "password hashing ran out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  // crypto_pwhash_str_verify wants a NUL-terminated string of at most STRBYTES - 1 characters.
  if (hash.empty() || hash.size() >= crypto_pwhash_argon2id_STRBYTES ||
      std::memchr(hash.data(), '\0', hash.size()) != nullptr) {
    return false;
  }
  internal::EnsureSodium();
  std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view hash, const PasswordLimits& limits) {
  if (hash.size() >= crypto_pwhash_argon2id_STRBYTES) return true;
  internal::EnsureSodium();
  std::string terminated(hash);
  return crypto_pwhash_argon2id_str_needs_rehash(terminated.c_str(), limits.operations,
                                                 limits.memory_bytes) != 0;
}

}  // namespace telemeet::crypto
