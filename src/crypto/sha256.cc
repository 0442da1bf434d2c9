#include "crypto/sha256.h"

#include <openssl/evp.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/hex.h"

namespace pgvault {

namespace {
// Fetched once: EVP_MD_fetch per call costs more than hashing a small chunk.
const EVP_MD* Sha256Algorithm() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw Error("OpenSSL: SHA-256 is not available");
  return md;
}
}  // namespace

Digest Sha256(std::string_view data) {
  Digest out;
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &length, Sha256Algorithm(), nullptr) != 1)
    throw Error("OpenSSL: SHA-256 failed");
  return out;
}

std::string DigestHex(const Digest& digest) { return HexEncode(digest); }

Digest DigestFromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  if (bytes.size() != 32) throw Error(fmt::format("invalid SHA-256 digest '{}'", hex));
  Digest out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

struct Sha256Stream::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256Stream::Sha256Stream() : state_(std::make_unique<State>()) {
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, Sha256Algorithm(), nullptr) != 1)
    throw Error("OpenSSL: SHA-256 init failed");
}
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(std::string_view data) {
  if (EVP_DigestUpdate(state_->ctx, data.data(), data.size()) != 1) throw Error("OpenSSL: SHA-256 update failed");
}

Digest Sha256Stream::Finish() {
  Digest out;
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(state_->ctx, out.data(), &length) != 1) throw Error("OpenSSL: SHA-256 final failed");
  return out;
}

}  // namespace pgvault
