#include "crypto/keyring.h"

#include <sodium.h>

#include <cstring>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/sodium.h"

namespace telemeet::crypto {
namespace {

constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(KeyRing::kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

KeyRing::~KeyRing() {
  for (auto& [id, key] : keys_) sodium_memzero(key.data(), key.size());
}

bool KeyRing::ValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Status KeyRing::Add(std::string_view id, std::string_view key) {
  if (!ValidId(id)) {
    return Fail(ErrorCode::kInvalidArgument,
                "key id '" + std::string(id.substr(0, kMaxIdLength)) +
                    "' is invalid: use 1 to 64 characters of a-z, 0-9 and '-'");
  }
  if (key.size() != kKeyBytes) {
    return Fail(ErrorCode::kInvalidArgument, "key '" + std::string(id) + "' has " +
                                                 std::to_string(key.size()) +
                                                 " bytes; it must have 32");
  }
  if (Contains(id)) {
    return Fail(ErrorCode::kAlreadyExists, "key id '" + std::string(id) + "' is used twice");
  }
  auto& slot = keys_[std::string(id)];
  std::memcpy(slot.data(), key.data(), kKeyBytes);
  if (primary_.empty()) primary_ = std::string(id);
  return Ok();
}

Status KeyRing::SetPrimary(std::string_view id) {
  if (!Contains(id)) {
    return Fail(ErrorCode::kNotFound, "no key with id '" + std::string(id) + "' in the key ring");
  }
  primary_ = std::string(id);
  return Ok();
}

Result<std::string> KeyRing::Seal(std::string_view plaintext, std::string_view aad) const {
  auto it = keys_.find(primary_);
  if (it == keys_.end()) {
    return Fail(ErrorCode::kFailedPrecondition, "the key ring is empty: no master key loaded");
  }
  internal::EnsureSodium();
  std::string box = RandomBytes(kNonceBytes);
  box.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* nonce = reinterpret_cast<unsigned char*>(box.data());
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceBytes, &written, Bytes(plaintext),
                                             plaintext.size(), Bytes(aad), aad.size(), nullptr,
                                             nonce, it->second.data());
  box.resize(kNonceBytes + written);
  return it->first + "." + Base64UrlEncode(box);
}

Result<std::string> KeyRing::Open(std::string_view sealed, std::string_view aad) const {
  size_t dot = sealed.find('.');
  if (dot == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "sealed value has no key id prefix");
  }
  std::string_view id = sealed.substr(0, dot);
  if (!ValidId(id)) {
    return Fail(ErrorCode::kInvalidArgument, "sealed value has a malformed key id");
  }
  auto it = keys_.find(id);
  if (it == keys_.end()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "sealed with key id '" + std::string(id) +
                    "', which is not in the key ring; configure that key to open it");
  }
  auto box = Base64UrlDecode(sealed.substr(dot + 1));
  if (!box || box->size() < kNonceBytes + kTagBytes) {
    return Fail(ErrorCode::kInvalidArgument, "sealed value is malformed");
  }
  internal::EnsureSodium();
  const auto* nonce = Bytes(*box);
  const unsigned char* cipher = nonce + kNonceBytes;
  size_t cipher_size = box->size() - kNonceBytes;
  std::string plain(cipher_size - kTagBytes, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()),
                                                 &written, nullptr, cipher, cipher_size, Bytes(aad),
                                                 aad.size(), nonce, it->second.data()) != 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "sealed value does not authenticate under key '" + std::string(id) +
                    "' (tampered, or sealed for another owner or purpose)");
  }
  plain.resize(written);
  return plain;
}

}  // namespace telemeet::crypto
