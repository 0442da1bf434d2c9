// Reads one chunk back: ranged read from its pack, decompress, and check that
// the plaintext hashes to the chunk id. Damage surfaces as IntegrityError,
// never as wrong bytes. The first read from each pack also checks the pack's
// header, so a pack of another format version is refused, not misread.
//
// A pack that is missing is not yet damage: gc may have removed it since the
// index was loaded (chunk_relocator.h). The reader then tries the chunk's
// other copies in its index, then asks the relocator, if it was given one.
#pragma once

#include <string>
#include <vector>

#include "repo/chunk_index.h"

namespace pgvault {

class Storage;
class ChunkRelocator;

class ChunkReader {
 public:
  // `relocator` may be shared by several readers (it is thread-safe); null:
  // no reload of the index, a pack that is gone is reported missing.
  ChunkReader(Storage& storage, const ChunkIndex& index, ChunkRelocator* relocator = nullptr)
      : storage_(storage), index_(index), relocator_(relocator) {}
  // Fills `plaintext`. Throws IntegrityError ("chunk <id> in <pack>: ...") if
  // the chunk is missing or damaged.
  void Read(const Digest& id, std::string& plaintext);
  // The same into `out`, which has room for `capacity` bytes; returns the
  // chunk's size. A chunk larger than `capacity` is an IntegrityError.
  size_t ReadInto(const Digest& id, char* out, size_t capacity);

 private:
  // False when the pack does not exist; otherwise reads and checks the chunk.
  bool ReadFrom(const Digest& id, const std::string& pack, const ChunkLocation& location, bool header_checked,
                char* out, size_t capacity);
  Storage& storage_;
  const ChunkIndex& index_;
  ChunkRelocator* relocator_;
  std::string stored_;  // reused buffer
  std::vector<bool> header_checked_;  // by pack number in index_
};

}  // namespace pgvault
