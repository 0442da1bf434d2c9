// SHA-256 through OpenSSL. Chunk identities and every integrity check in the
// repository are SHA-256 digests.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pgvault {

using Digest = std::array<uint8_t, 32>;

struct DigestHash {
  size_t operator()(const Digest& d) const noexcept {
    size_t h;
    static_assert(sizeof h <= sizeof(Digest));
    __builtin_memcpy(&h, d.data(), sizeof h);  // a digest is already uniformly distributed
    return h;
  }
};

Digest Sha256(std::string_view data);
std::string DigestHex(const Digest& digest);
Digest DigestFromHex(std::string_view hex);  // throws pgvault::Error

// Incremental hashing for streams.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  Digest Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pgvault
