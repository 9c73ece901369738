#include "crypto/random.h"

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/sodium.h"

namespace telemeet::crypto {

std::string RandomBytes(size_t n) {
  internal::EnsureSodium();
  std::string out(n, '\0');
  if (n > 0) randombytes_buf(out.data(), n);
  return out;
}

std::string RandomToken(size_t bytes) { return Base64UrlEncode(RandomBytes(bytes)); }

}  // namespace telemeet::crypto
