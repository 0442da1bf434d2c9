#include "repo/chunk_reader.h"

#include <fmt/format.h>

#include "core/error.h"
#include "storage/storage.h"

namespace pgvault {

void ChunkReader::Read(const Digest& id, std::string& plaintext) {
  const ChunkLocation* location = index_.Find(id);
  plaintext.resize(location ? location->raw_size : 0);
  plaintext.resize(ReadInto(id, plaintext.data(), plaintext.size()));
}

size_t ChunkReader::ReadInto(const Digest& id, char* out, size_t capacity) {
  const ChunkLocation* location = index_.Find(id);
  if (location == nullptr)
    throw IntegrityError(fmt::format("chunk {} is missing from the repository index", DigestHex(id)));
  const std::string& pack = index_.PackPath(location->pack);
  if (location->raw_size > capacity)
    throw IntegrityError(fmt::format("chunk {} in pack {} is damaged (size {} exceeds the chunk size {})", DigestHex(id),
                                     pack, location->raw_size, capacity));
  try {
    // Outside the "is damaged" wrapping below: a pack of a newer version is not damaged.
    CheckHeaderOnce(location->pack);
  } catch (const NotFoundError&) {
    throw IntegrityError(fmt::format("chunk {}: pack {} is missing", DigestHex(id), pack));
  }
  try {
    stored_ = storage_.ReadRange(pack, location->offset, location->stored_size);
    DecompressInto(location->codec, stored_, location->raw_size, out);
  } catch (const NotFoundError&) {
    throw IntegrityError(fmt::format("chunk {}: pack {} is missing", DigestHex(id), pack));
  } catch (const IntegrityError& e) {
    throw IntegrityError(fmt::format("chunk {} in pack {} is damaged ({})", DigestHex(id), pack, e.what()));
  }
  if (Sha256(std::string_view(out, location->raw_size)) != id)
    throw IntegrityError(fmt::format("chunk {} in pack {} is damaged (checksum mismatch)", DigestHex(id), pack));
  return location->raw_size;
}

void ChunkReader::CheckHeaderOnce(uint32_t pack) {
  if (pack < header_checked_.size() && header_checked_[pack]) return;
  const std::string& path = index_.PackPath(pack);
  CheckPackHeader(storage_.ReadRange(path, 0, kPackHeader.size()), path);
  if (pack >= header_checked_.size()) header_checked_.resize(pack + 1);
  header_checked_[pack] = true;
}

}  // namespace pgvault
