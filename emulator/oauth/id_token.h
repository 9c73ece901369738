// Signs the OpenID Connect ID tokens the emulator's token endpoint returns, with RS256 as Google
// does (google-protocol.md §4), and publishes the public key as Google's certificate endpoints
// do: a JWKS (/oauth2/v3/certs) and a {kid: PEM} map (/oauth2/v1/certs).
//
//   IdTokenSigner signer;
//   std::string jwt = signer.Sign({{"iss", "https://accounts.google.com"}, {"sub", "1"}});
//   nlohmann::json jwks = signer.Jwks();
//
// The 2048-bit key is generated on first use and lives as long as the signer. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace telemeet::emulator {

class IdTokenSigner {
 public:
  IdTokenSigner();
  ~IdTokenSigner();
  IdTokenSigner(const IdTokenSigner&) = delete;
  IdTokenSigner& operator=(const IdTokenSigner&) = delete;

  // A compact JWS: base64url(header).base64url(claims).base64url(signature).
  std::string Sign(const nlohmann::json& claims);
  std::string kid();
  nlohmann::json Jwks();      // {"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid","n","e"}]}
  nlohmann::json PemCerts();  // {"<kid>": "-----BEGIN PUBLIC KEY-----..."}

 private:
  struct Key;
  Key& EnsureKey();
  std::mutex mu_;
  std::unique_ptr<Key> key_;
};

}  // namespace telemeet::emulator
