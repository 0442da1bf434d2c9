#include "crypto/md5.h"

#include <openssl/evp.h>

#include "core/error.h"

namespace pgvault {

std::string Md5(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr)) throw Error("MD5 failed (OpenSSL)");
  return std::string(reinterpret_cast<char*>(digest), length);
}

}  // namespace pgvault
