#include "crypto/base64.h"

#include <openssl/evp.h>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(n);
  return out;
}

std::string Base64Decode(std::string_view text, const std::string& what) {
  if (text.size() % 4 != 0) throw Error(fmt::format("{} is not valid base64", what));
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw Error(fmt::format("{} is not valid base64", what));
  // EVP_DecodeBlock counts padding as zero bytes.
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(n - padding);
  return out;
}

}  // namespace pgvault
