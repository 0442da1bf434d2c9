#include "repo/chunk_relocator.h"

#include <spdlog/spdlog.h>

#include "storage/storage.h"

namespace pgvault {

namespace {
// Each reload reads every index file. gc removes packs a few times per run at
// most; a reader still finding packs gone after this many reloads has a
// damaged repository, not a stale index.
constexpr int kMaxReloads = 16;
}  // namespace

std::optional<RelocatedChunk> ChunkRelocator::Find(const Digest& id, const std::vector<std::string>& gone) {
  std::lock_guard lock(mutex_);
  gone_.insert(gone.begin(), gone.end());
  auto lookup = [&]() -> std::optional<RelocatedChunk> {
    if (!index_) return std::nullopt;
    for (const ChunkLocation& l : index_->Locations(id)) {
      const std::string& pack = index_->PackPath(l.pack);
      if (!gone_.count(pack)) return RelocatedChunk{pack, l};
    }
    return std::nullopt;
  };
  if (auto found = lookup()) return found;
  // A reload tells something new only if a pack was found missing since the
  // last one (or there was none yet).
  if ((index_ && gone_.size() == gone_at_reload_) || reloads_ >= kMaxReloads) return std::nullopt;
  spdlog::info("a pack was removed while this command read the repository (gc?): reloading the index");
  index_ = std::make_unique<ChunkIndex>(ChunkIndex::Load(storage_, false));
  gone_at_reload_ = gone_.size();
  ++reloads_;
  return lookup();
}

}  // namespace pgvault
