// ChunkRelocator: where a chunk is now, for a reader whose index went stale.
//
// restore and verify take no lock (format section 12), so gc may remove a
// pack after they loaded the index: a pack it found wholly unreferenced that
// also held a copy of a chunk they read, or a pack it repacked (its live
// chunks copied into new packs listed by a new index file). gc commits the new
// packs and index file before it removes old index files, and those before
// their packs, so the index files present at any moment locate every chunk of
// every committed backup. Reloading them is therefore enough; one relocator
// is shared by a command's workers, so the index is reloaded once, not once
// per worker.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "repo/chunk_index.h"

namespace pgvault {

class Storage;

struct RelocatedChunk {
  std::string pack;
  ChunkLocation location;  // its `pack` field numbers the relocator's index, not the caller's
};

class ChunkRelocator {
 public:
  explicit ChunkRelocator(Storage& storage) : storage_(storage) {}

  // A copy of `id` outside the packs in `gone` (found missing by the caller),
  // from the index files as they are now; nullopt when there is none.
  // Thread-safe. Throws what ChunkIndex::Load throws.
  std::optional<RelocatedChunk> Find(const Digest& id, const std::vector<std::string>& gone);

 private:
  Storage& storage_;
  std::mutex mutex_;
  std::unique_ptr<ChunkIndex> index_;  // the latest reload
  std::set<std::string> gone_;         // every pack any caller found missing
  size_t gone_at_reload_ = 0;          // gone_.size() when index_ was loaded
  int reloads_ = 0;
};

}  // namespace pgvault
