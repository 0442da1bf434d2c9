// Reads one chunk back: ranged read from its pack, decompress, and check that
// the plaintext hashes to the chunk id. Damage surfaces as IntegrityError,
// never as wrong bytes.
#pragma once

#include <string>

#include "repo/chunk_index.h"

namespace pgvault {

class Storage;

class ChunkReader {
 public:
  ChunkReader(Storage& storage, const ChunkIndex& index) : storage_(storage), index_(index) {}
  // Fills `plaintext`. Throws IntegrityError ("chunk <id> in <pack>: ...") if
  // the chunk is missing or damaged.
  void Read(const Digest& id, std::string& plaintext);

 private:
  Storage& storage_;
  const ChunkIndex& index_;
  std::string stored_;  // reused buffer
};

}  // namespace pgvault
