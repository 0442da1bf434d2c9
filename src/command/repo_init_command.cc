#include "command/repo_init_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "repo/repository.h"
#include "storage/object_store_storage.h"

namespace pgvault {

void RunRepoInit(const RepoInitOptions& options) {
  if (options.chunk_size < kMinChunkSize || options.chunk_size > kMaxChunkSize || options.chunk_size % kMinChunkSize != 0)
    throw UsageError(fmt::format("--chunk-size {}: must be a multiple of 8192 between 8 KiB and 16 MiB", options.chunk_size));
  if (options.pack_size < kMinPackSize)
    throw UsageError(fmt::format("--pack-size {}: must be at least 1 MiB", options.pack_size));
  auto storage = OpenStorage(options.repo);
  if (auto* object_store = dynamic_cast<ObjectStoreStorage*>(storage.get())) {
    if (options.group_read)
      throw UsageError(fmt::format("--group-read is for a repository in a local directory; {} has no file modes: "
                                   "grant read access with the object store's own policies",
                                   options.repo));
    // A new repository in a bucket or container that does not exist yet:
    // create it, as a DBA setting up a new repository would expect. Any other
    // failure (credentials, endpoint) surfaces here with its own message.
    try {
      object_store->List("");
    } catch (const ObjectStoreError& e) {
      if (e.code() != "NoSuchBucket" && e.code() != "ContainerNotFound") throw;
      spdlog::info("creating {}", object_store->store().Describe());
      object_store->store().CreateContainer();
    }
  }
  RepositoryConfig config;
  config.chunk_size = options.chunk_size;
  config.pack_size = options.pack_size;
  config.group_access = options.group_read;
  Repository::Init(*storage, config);
}

}  // namespace pgvault
