#include "repo/chunk_reuse_check.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "repo/chunk_reader.h"
#include "storage/storage.h"

namespace pgvault {

ChunkReuseCheck::ChunkReuseCheck(Storage& storage, const ChunkIndex& index, Depth depth)
    : storage_(storage), index_(index), depth_(depth) {
  for (const auto& o : storage_.List("packs"))
    if (o.path.ends_with(".pack")) stored_packs_[o.path] = o.size;
}

bool ChunkReuseCheck::PackSound(uint32_t pack) {
  {
    std::lock_guard lock(mutex_);
    auto it = sound_.find(pack);
    if (it != sound_.end()) return it->second;
  }
  const std::string& path = index_.PackPath(pack);
  std::string problem;
  std::unordered_map<Digest, PackEntry, DigestHash> entries;
  auto listed = stored_packs_.find(path);
  if (listed == stored_packs_.end()) {
    problem = "it is missing";
  } else if (listed->second != index_.PackSize(pack)) {
    problem = fmt::format("it has {} bytes, the index says {}", listed->second, index_.PackSize(pack));
  } else {
    try {
      for (const auto& e : ReadPackTrailer(storage_, path, listed->second).entries) entries.emplace(e.id, e);
    } catch (const Error& e) {
      problem = e.what();
    }
  }
  std::lock_guard lock(mutex_);
  if (!problem.empty())
    spdlog::warn("pack {} cannot be trusted ({}): this backup stores its chunks again; run 'pgvault verify' to see "
                 "which older backups it damages",
                 path, problem);
  sound_[pack] = problem.empty();
  trailers_[pack] = std::move(entries);
  return problem.empty();
}

bool ChunkReuseCheck::Reusable(const Digest& id) {
  const ChunkLocation* location = index_.Find(id);
  if (location == nullptr) return false;
  {
    std::lock_guard lock(mutex_);
    auto it = chunks_.find(id);
    if (it != chunks_.end()) return it->second;
  }
  bool ok = PackSound(location->pack);
  if (ok) {
    std::lock_guard lock(mutex_);
    const auto& trailer = trailers_[location->pack];
    auto e = trailer.find(id);
    ok = e != trailer.end() && e->second.offset == location->offset &&
         e->second.stored_size == location->stored_size && e->second.raw_size == location->raw_size &&
         e->second.codec == location->codec;
    if (!ok)
      spdlog::warn("chunk {}: the index entry does not match the trailer of pack {}: stored again", DigestHex(id),
                   index_.PackPath(location->pack));
  }
  if (ok && depth_ == Depth::kStoredBytes) {
    // Only the copy the index names first is read: the one a reader tries
    // first. A reader falls back on other copies, but this backup should not
    // depend on that.
    std::string plaintext;
    try {
      ChunkReader reader(storage_, index_);
      reader.Read(id, plaintext);
    } catch (const Error& e) {
      ok = false;
      spdlog::warn("{}: this backup stores it again", e.what());
    }
  }
  std::lock_guard lock(mutex_);
  chunks_.emplace(id, ok);
  if (!ok) ++rejected_;
  return ok;
}

uint64_t ChunkReuseCheck::rejected() const {
  std::lock_guard lock(mutex_);
  return rejected_;
}

}  // namespace pgvault
