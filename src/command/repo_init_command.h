// `pgvault repo init`: creates an empty repository.
#pragma once

#include <cstdint>
#include <string>

namespace pgvault {

struct RepoInitOptions {
  std::string repo;
  uint32_t chunk_size = 1 << 20;
  uint64_t pack_size = 64ull << 20;
  // Local directory: the owner's group may read it (0750/0640 instead of 0700/0600).
  bool group_read = false;
};

void RunRepoInit(const RepoInitOptions& options);

}  // namespace pgvault
