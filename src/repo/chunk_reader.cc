#include "repo/chunk_reader.h"

#include <fmt/format.h>

#include "core/error.h"
#include "storage/storage.h"

namespace pgvault {

void ChunkReader::Read(const Digest& id, std::string& plaintext) {
  const ChunkLocation* location = index_.Find(id);
  if (location == nullptr)
    throw IntegrityError(fmt::format("chunk {} is missing from the repository index", DigestHex(id)));
  const std::string& pack = index_.PackPath(location->pack);
  try {
    stored_ = storage_.ReadRange(pack, location->offset, location->stored_size);
    Decompress(location->codec, stored_, location->raw_size, plaintext);
  } catch (const NotFoundError&) {
    throw IntegrityError(fmt::format("chunk {}: pack {} is missing", DigestHex(id), pack));
  } catch (const IntegrityError& e) {
    throw IntegrityError(fmt::format("chunk {} in pack {} is damaged ({})", DigestHex(id), pack, e.what()));
  }
  if (Sha256(plaintext) != id)
    throw IntegrityError(fmt::format("chunk {} in pack {} is damaged (checksum mismatch)", DigestHex(id), pack));
}

}  // namespace pgvault
