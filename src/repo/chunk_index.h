// ChunkIndex: where each stored chunk lives (pack, offset, sizes, codec).
//
// The index is a cache of the pack trailers, persisted as index files
// (index/<name>.json.zst) written by each backup before its manifest. Packs
// that no index file covers (left by an interrupted backup) are read from
// their own trailers and "adopted" by the next backup, so their chunks are
// reused instead of stored again.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "compress/codec.h"
#include "crypto/sha256.h"
#include "repo/pack_format.h"

namespace pgvault {

class Storage;

struct ChunkLocation {
  uint32_t pack = 0;  // index into ChunkIndex::packs()
  uint64_t offset = 0;
  uint32_t stored_size = 0;
  uint32_t raw_size = 0;
  Codec codec = Codec::kNone;
};

struct PackRecord {
  std::string path;  // e.g. "packs/3f/3f9a....pack"
  uint64_t size = 0;
  std::vector<PackEntry> entries;
};

class ChunkIndex {
 public:
  // Reads every index file; with `adopt_orphans`, also reads the trailers of
  // packs no index file lists (those are returned by adopted()). An index file
  // that vanishes between the listing and its reading (gc replaced it: it
  // writes the new index file before removing the old) makes it list again.
  //
  // A damaged index file (its content does not match its name, or it does not
  // decode) stops nothing: it is left out and named by damaged_index_files(),
  // and the trailers of every pack no sound index file lists are read
  // instead, with or without `adopt_orphans` (packs describe themselves; index
  // files are only a cache of them). Writers move it to quarantine/
  // (Repository::QuarantineIndexFiles).
  static ChunkIndex Load(Storage& storage, bool adopt_orphans);

  const ChunkLocation* Find(const Digest& id) const {
    auto it = chunks_.find(id);
    return it == chunks_.end() ? nullptr : &it->second;
  }
  // Every known copy of `id`: Find()'s first, then copies in other packs. A
  // chunk is in two packs when a backup stored it again (an orphan pack it
  // did not adopt) and while gc repacks: a reader falls back on another copy
  // when the pack of the first was removed under it (chunk_reader.h).
  std::vector<ChunkLocation> Locations(const Digest& id) const;
  const std::string& PackPath(uint32_t pack) const { return packs_[pack]; }
  size_t pack_count() const { return packs_.size(); }
  // The pack's size as its index file (or trailer reading) gave it.
  uint64_t PackSize(uint32_t pack) const { return pack_sizes_[pack]; }
  // Index files left out by Load(), each with why: "index/<name>.json.zst".
  const std::vector<std::pair<std::string, std::string>>& damaged_index_files() const { return damaged_; }
  void AddPack(const PackRecord& pack);
  size_t chunk_count() const { return chunks_.size(); }
  const std::vector<PackRecord>& adopted() const { return adopted_; }

  // Writes one index file listing `packs` (none when `packs` is empty) and
  // returns its size in bytes, for the backup's stored_size.
  // `path`, when given, receives its name ("" when none was written): index
  // files are named by their bytes, so it may be the name of an index file
  // that exists already with the same content.
  static uint64_t WriteIndexFile(Storage& storage, const std::vector<PackRecord>& packs,
                                 std::string* path = nullptr);

 private:
  std::vector<std::string> packs_;
  std::vector<uint64_t> pack_sizes_;
  std::vector<std::pair<std::string, std::string>> damaged_;
  std::unordered_map<std::string, uint32_t> pack_numbers_;
  std::unordered_map<Digest, ChunkLocation, DigestHash> chunks_;
  std::unordered_multimap<Digest, ChunkLocation, DigestHash> other_copies_;  // rare: see Locations()
  std::vector<PackRecord> adopted_;
};

// "index/<first 32 hex digits of the SHA-256 of `stored`>.json.zst": index
// files are named by their stored bytes (section 8), so a reader checks them
// before decompressing anything.
std::string IndexFileName(std::string_view stored);

// Reads the trailer of one pack (footer, then entries) with two ranged reads.
PackRecord ReadPackTrailer(Storage& storage, const std::string& path, uint64_t size);

// The packs one index file lists. Throws NotFoundError when it does not exist
// (any more), and Error naming it when it is damaged or of another version.
std::vector<PackRecord> ReadIndexFile(Storage& storage, const std::string& path);

}  // namespace pgvault
