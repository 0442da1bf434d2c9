// Reads one chunk back: ranged read from its pack, decompress, and check that
// the plaintext hashes to the chunk id. Damage surfaces as IntegrityError,
// never as wrong bytes. The first read from each pack also checks the pack's
// header, so a pack of another format version is refused, not misread.
#pragma once

#include <string>
#include <vector>

#include "repo/chunk_index.h"

namespace pgvault {

class Storage;

class ChunkReader {
 public:
  ChunkReader(Storage& storage, const ChunkIndex& index) : storage_(storage), index_(index) {}
  // Fills `plaintext`. Throws IntegrityError ("chunk <id> in <pack>: ...") if
  // the chunk is missing or damaged.
  void Read(const Digest& id, std::string& plaintext);
  // The same into `out`, which has room for `capacity` bytes; returns the
  // chunk's size. A chunk larger than `capacity` is an IntegrityError.
  size_t ReadInto(const Digest& id, char* out, size_t capacity);

 private:
  Storage& storage_;
  const ChunkIndex& index_;
  void CheckHeaderOnce(uint32_t pack);
  std::string stored_;  // reused buffer
  std::vector<bool> header_checked_;  // by pack number
};

}  // namespace pgvault
