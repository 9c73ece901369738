#include "emulator/oauth/id_token.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace telemeet::emulator {

namespace {

// A failure here is a broken OpenSSL install, not an input problem.
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fake-google: OpenSSL failed: %s\n", what);
    std::abort();
  }
}

std::string BigNumParam(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, "get RSA parameter");
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

}  // namespace

struct IdTokenSigner::Key {
  EVP_PKEY* pkey = nullptr;
  std::string kid;
  std::string n;  // base64url
  std::string e;
  std::string pem;
  ~Key() { EVP_PKEY_free(pkey); }
};

IdTokenSigner::IdTokenSigner() = default;
IdTokenSigner::~IdTokenSigner() = default;

IdTokenSigner::Key& IdTokenSigner::EnsureKey() {
  if (key_) return *key_;
  auto key = std::make_unique<Key>();
  key->pkey = EVP_RSA_gen(2048);
  Check(key->pkey != nullptr, "generate RSA key");
  std::string n = BigNumParam(key->pkey, OSSL_PKEY_PARAM_RSA_N);
  std::string e = BigNumParam(key->pkey, OSSL_PKEY_PARAM_RSA_E);
  key->n = crypto::Base64UrlEncode(n);
  key->e = crypto::Base64UrlEncode(e);
  // Like Google's, the key id is a hex digest (of the modulus here).
  key->kid = crypto::HexEncode(crypto::Sha256(n).substr(0, 20));
  BIO* bio = BIO_new(BIO_s_mem());
  Check(bio != nullptr && PEM_write_bio_PUBKEY(bio, key->pkey) == 1, "write PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  key->pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  key_ = std::move(key);
  return *key_;
}

std::string IdTokenSigner::Sign(const nlohmann::json& claims) {
  std::lock_guard lock(mu_);
  Key& key = EnsureKey();
  nlohmann::json header = {{"alg", "RS256"}, {"kid", key.kid}, {"typ", "JWT"}};
  std::string input =
      crypto::Base64UrlEncode(header.dump()) + "." + crypto::Base64UrlEncode(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Check(ctx != nullptr, "digest context");
  Check(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey) == 1, "sign init");
  size_t len = 0;
  Check(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1,
        "sign size");
  std::string sig(len, '\0');
  Check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1,
        "sign");
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return input + "." + crypto::Base64UrlEncode(sig);
}

std::string IdTokenSigner::kid() {
  std::lock_guard lock(mu_);
  return EnsureKey().kid;
}

nlohmann::json IdTokenSigner::Jwks() {
  std::lock_guard lock(mu_);
  Key& key = EnsureKey();
  return {{"keys", nlohmann::json::array({{{"kty", "RSA"},
                                           {"alg", "RS256"},
                                           {"use", "sig"},
                                           {"kid", key.kid},
                                           {"n", key.n},
                                           {"e", key.e}}})}};
}

nlohmann::json IdTokenSigner::PemCerts() {
  std::lock_guard lock(mu_);
  Key& key = EnsureKey();
  return {{key.kid, key.pem}};
}

}  // namespace telemeet::emulator
