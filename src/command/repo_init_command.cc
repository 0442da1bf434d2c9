#include "command/repo_init_command.h"

#include <fmt/format.h>

#include "core/error.h"
#include "repo/repository.h"

namespace pgvault {

void RunRepoInit(const RepoInitOptions& options) {
  if (options.chunk_size < kMinChunkSize || options.chunk_size > kMaxChunkSize || options.chunk_size % kMinChunkSize != 0)
    throw UsageError(fmt::format("--chunk-size {}: must be a multiple of 8192 between 8 KiB and 16 MiB", options.chunk_size));
  if (options.pack_size < kMinPackSize)
    throw UsageError(fmt::format("--pack-size {}: must be at least 1 MiB", options.pack_size));
  auto storage = OpenStorage(options.repo);
  RepositoryConfig config;
  config.chunk_size = options.chunk_size;
  config.pack_size = options.pack_size;
  Repository::Init(*storage, config);
}

}  // namespace pgvault
