#include "crypto/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/error.h"

namespace pgvault {

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), mac, &length))
    throw Error("HMAC-SHA256 failed (OpenSSL)");
  return std::string(reinterpret_cast<char*>(mac), length);
}

}  // namespace pgvault
