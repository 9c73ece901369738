// Sealing secrets at rest (refresh tokens, the OAuth client secret) with XChaCha20-Poly1305
// (IETF variant, 24-byte random nonces) under 32-byte keys that carry an id for rotation.
//
//   KeyRing ring;
//   ring.Add("k2", new_key);                  // the first key added is the primary one ...
//   ring.Add("k1", old_key);
//   ring.SetPrimary("k2");                    // ... unless another is chosen
//   Result<std::string> sealed = ring.Seal(refresh_token, "doctor:42/refresh_token");
//   // *sealed == "k2.<base64url(nonce | ciphertext | tag)>"
//   Result<std::string> token = ring.Open(*sealed, "doctor:42/refresh_token");
//
// The AAD (additional authenticated data) binds a sealed value to its owner and purpose: a value
// copied to another row or column does not open there. Rotation: add a new key and make it
// primary; values sealed under older ids still open as long as their key stays in the ring.
//
// Thread safety: Seal and Open are const and safe to call concurrently. Add and SetPrimary
// must not run concurrently with anything else (build the ring at start-up, then share it).
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>

#include "base/error.h"

namespace telemeet::crypto {

class KeyRing {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kMaxIdLength = 64;

  KeyRing() = default;
  KeyRing(const KeyRing&) = default;
  KeyRing& operator=(const KeyRing&) = default;
  KeyRing(KeyRing&&) = default;
  KeyRing& operator=(KeyRing&&) = default;
  ~KeyRing();  // wipes the key bytes

  // Adds `key` (exactly 32 raw bytes) under `id` ([a-z0-9-], 1 to 64 characters). The first key
  // added becomes the primary. Returns kInvalidArgument for a bad id or key length, and
  // kAlreadyExists when the id is taken. Error messages never contain key material.
  Status Add(std::string_view id, std::string_view key);

  // Makes `id` the key that Seal uses. Returns kNotFound when no key has that id.
  Status SetPrimary(std::string_view id);

  // The primary key id; empty when the ring is empty.
  const std::string& primary_id() const { return primary_; }
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  bool Contains(std::string_view id) const { return keys_.find(id) != keys_.end(); }

  // Encrypts and authenticates `plaintext`, binding `aad`, under the primary key, with a fresh
  // random nonce (sealing the same input twice gives different outputs). Returns
  // "<key id>.<base64url(nonce | ciphertext | tag)>", or kFailedPrecondition when the ring is
  // empty.
  Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const;

  // Reverses Seal with the key named by the id prefix. Returns kFailedPrecondition naming the
  // id when the ring has no such key (a key was removed too early or the wrong key is
  // configured), and kInvalidArgument when `sealed` is malformed, was tampered with, or was
  // sealed with a different `aad`.
  Result<std::string> Open(std::string_view sealed, std::string_view aad) const;

  // True when `id` is a valid key id.
  static bool ValidId(std::string_view id);

 private:
  std::map<std::string, std::array<unsigned char, kKeyBytes>, std::less<>> keys_;
  std::string primary_;
};

}  // namespace telemeet::crypto
