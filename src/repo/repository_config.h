// The repository's config object (config.json): written once by `repo init`,
// read by every command. Its format/version pair is how a reader knows it can
// understand the repository at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "repo/format_version.h"

namespace pgvault {

inline constexpr int kRepositoryFormatVersion = kFormatVersion;

// What `repo init` can create (src/command/repo_init_command.cc checks
// --chunk-size and --pack-size against the same limits). A reader accepts
// exactly this: a config outside it was not written by pgvault.
inline constexpr uint32_t kMinChunkSize = 8192;  // PostgreSQL's page size: pg_control is one chunk
inline constexpr uint32_t kMaxChunkSize = 16u << 20;
inline constexpr uint32_t kChunkSizeMultiple = 8192;  // chunks hold whole pages
inline constexpr uint64_t kMinPackSize = 1u << 20;

struct RepositoryConfig {
  int version = kRepositoryFormatVersion;
  std::string repository_id;  // random 128-bit hex, names this repository in messages
  std::string created_at;
  uint32_t chunk_size = 1 << 20;     // fixed-size chunking, aligned to file offsets
  uint64_t pack_size = 64ull << 20;  // target size of a pack file
  std::string encryption = "none";   // reserved: a later format adds keys here
  // Set by the first backup; every later backup (and WAL) must match it.
  std::optional<uint64_t> system_identifier;
  // On a local directory: whether the owner's group may read the repository
  // (directories 0750, files 0640) or only the owner (0700, 0600). Chosen by
  // `repo init --group-read`; a config without the key is owner-only.
  bool group_access = false;

  std::string ToJson() const;
  static RepositoryConfig FromJson(const std::string& text, const std::string& where);
  // `text` (a config.json this pgvault reads) with system_identifier set to
  // `id`, every other key kept as it was, including keys this version does
  // not know: a later pgvault may have added them.
  static std::string WithSystemIdentifier(const std::string& text, uint64_t id, const std::string& where);
};

}  // namespace pgvault
