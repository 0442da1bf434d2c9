// The repository's config object (config.json): written once by `repo init`,
// read by every command. Its format/version pair is how a reader knows it can
// understand the repository at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgvault {

inline constexpr int kRepositoryFormatVersion = 1;

struct RepositoryConfig {
  int version = kRepositoryFormatVersion;
  std::string repository_id;  // random 128-bit hex, names this repository in messages
  std::string created_at;
  uint32_t chunk_size = 1 << 20;     // fixed-size chunking, aligned to file offsets
  uint64_t pack_size = 64ull << 20;  // target size of a pack file
  std::string encryption = "none";   // reserved: a later format adds keys here
  // Set by the first backup; every later backup (and WAL) must match it.
  std::optional<uint64_t> system_identifier;

  std::string ToJson() const;
  static RepositoryConfig FromJson(const std::string& text, const std::string& where);
};

}  // namespace pgvault
