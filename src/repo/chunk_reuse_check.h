// ChunkReuseCheck: whether a new backup may reuse a chunk the repository index
// knows, instead of storing it again.
//
// Reusing a copy that is lost or damaged would make the newest backup, the one
// people restore, silently unrestorable (it once did: a pack removed or a byte
// flipped in it, then `backup` said completed). So a copy is reused only once
// it is proven:
//   kPack:        its pack exists with the size the index gives, its trailer
//                 reads (footer checksum) and lists the chunk where the index
//                 says; one listing and two ranged reads per pack, the default
//                 for object stores, which checksum what they keep but lose
//                 objects to mistakes and lifecycle rules;
//   kStoredBytes: kPack, and the chunk's stored bytes are read back, decoded
//                 and hashed to its id; the default for directories, where bit
//                 rot is the filesystem's to report and mostly is not.
// A chunk that is not proven is stored again by the backup; its new copy
// comes first for readers that find the old one damaged (chunk_reader.h).
// Thread-safe: backup workers ask concurrently; each pack and chunk is
// checked once per run.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "repo/chunk_index.h"

namespace pgvault {

class Storage;

class ChunkReuseCheck {
 public:
  enum class Depth { kPack, kStoredBytes };
  // `index` and `storage` must outlive this object. Lists packs/ once.
  ChunkReuseCheck(Storage& storage, const ChunkIndex& index, Depth depth);

  // True when `id` is in the index and its copy is proven (above). Logs, once
  // per pack, why a pack's chunks are not reused.
  bool Reusable(const Digest& id);

  // Chunks found in the index that were not proven, so stored again.
  uint64_t rejected() const;

 private:
  bool PackSound(uint32_t pack);

  Storage& storage_;
  const ChunkIndex& index_;
  const Depth depth_;
  std::map<std::string, uint64_t> stored_packs_;  // path -> size, as listed
  mutable std::mutex mutex_;
  // pack number -> its trailer's entries by chunk id; absent: not checked
  // yet; an empty map with sound_ false: not sound.
  std::unordered_map<uint32_t, std::unordered_map<Digest, PackEntry, DigestHash>> trailers_;
  std::unordered_map<uint32_t, bool> sound_;
  std::unordered_map<Digest, bool, DigestHash> chunks_;
  uint64_t rejected_ = 0;
};

}  // namespace pgvault
