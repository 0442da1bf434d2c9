#include "repo/chunk_reader.h"

#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "repo/chunk_relocator.h"
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
  bool checked = location->pack < header_checked_.size() && header_checked_[location->pack];
  std::optional<IntegrityError> damage;
  try {
    if (ReadFrom(id, pack, *location, checked, out, capacity)) {
      if (location->pack >= header_checked_.size()) header_checked_.resize(location->pack + 1);
      header_checked_[location->pack] = true;
      return location->raw_size;
    }
  } catch (const IntegrityError& e) {
    // A later backup that found this copy damaged stored the chunk again
    // (chunk_reuse_check.h): the other copies below.
    damage = e;
  }
  // Gone or damaged: another copy this index knows of, then the index as it is now.
  std::vector<std::string> gone{pack};
  for (const ChunkLocation& other : index_.Locations(id)) {
    const std::string& other_pack = index_.PackPath(other.pack);
    if (other_pack == pack) continue;
    try {
      if (ReadFrom(id, other_pack, other, false, out, capacity)) return other.raw_size;
    } catch (const IntegrityError& e) {
      if (!damage) damage = e;
    }
    gone.push_back(other_pack);
  }
  if (damage && relocator_ == nullptr) throw *damage;
  if (relocator_ != nullptr) {
    while (auto moved = relocator_->Find(id, gone)) {
      if (ReadFrom(id, moved->pack, moved->location, false, out, capacity)) return moved->location.raw_size;
      gone.push_back(moved->pack);
    }
  }
  if (damage) throw *damage;
  throw IntegrityError(fmt::format("chunk {}: pack {} is missing", DigestHex(id), pack));
}

bool ChunkReader::ReadFrom(const Digest& id, const std::string& pack, const ChunkLocation& location,
                           bool header_checked, char* out, size_t capacity) {
  if (location.raw_size > capacity)
    throw IntegrityError(fmt::format("chunk {} in pack {} is damaged (size {} exceeds the chunk size {})", DigestHex(id),
                                     pack, location.raw_size, capacity));
  try {
    // Outside the "is damaged" wrapping below: a pack of a newer version is not damaged.
    if (!header_checked) CheckPackHeader(storage_.ReadRange(pack, 0, kPackHeader.size()), pack);
  } catch (const NotFoundError&) {
    return false;
  }
  try {
    stored_ = storage_.ReadRange(pack, location.offset, location.stored_size);
    DecompressInto(location.codec, stored_, location.raw_size, out);
  } catch (const NotFoundError&) {
    return false;
  } catch (const IntegrityError& e) {
    throw IntegrityError(fmt::format("chunk {} in pack {} is damaged ({})", DigestHex(id), pack, e.what()));
  }
  if (Sha256(std::string_view(out, location.raw_size)) != id)
    throw IntegrityError(fmt::format("chunk {} in pack {} is damaged (checksum mismatch)", DigestHex(id), pack));
  return true;
}

}  // namespace pgvault
