// Pack files: many compressed chunks in one object, so that a large cluster
// does not become millions of objects. Layout (docs/repository-format.md):
//
//   "PGVPACK\x01"                       8-byte header
//   blob 0 | blob 1 | ...               stored (compressed) chunk bytes
//   entry 0 | entry 1 | ...             52 bytes each, see PackEntry
//   footer                              48 bytes, see below
//
// The trailer makes every pack self-describing: the index can be rebuilt from
// the packs alone, and packs left by an interrupted backup are adopted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compress/codec.h"
#include "crypto/sha256.h"

namespace pgvault {

// 7 bytes of magic, then the pack version byte (kPackVersion).
inline constexpr std::string_view kPackHeader{"PGVPACK\x01", 8};
inline constexpr std::string_view kPackFooterMagic{"PGVPEND\x01", 8};
inline constexpr size_t kPackEntrySize = 52;
inline constexpr size_t kPackFooterSize = 48;

// "packs/<xx>/<32 lowercase hex>.pack" with <xx> the name's first two
// characters (section 3): the only paths an index file may send a reader to.
bool IsPackPath(std::string_view path);

struct PackEntry {
  Digest id;              // SHA-256 of the plaintext chunk
  uint64_t offset = 0;    // of the stored bytes within the pack
  uint32_t stored_size = 0;
  uint32_t raw_size = 0;
  Codec codec = Codec::kNone;
  uint8_t flags = 0;      // bit 0 reserved for "encrypted" (a later format)
};

// Checks a pack's first kPackHeader.size() bytes: magic, then version byte.
// Throws IntegrityError naming `pack`: a pack of another version is as
// unreadable as a damaged one, and callers skip or report both alike.
void CheckPackHeader(std::string_view header, const std::string& pack);
// Serializes entries + footer (entry_count u32, reserved u32, SHA-256 of the
// entry bytes, magic), little-endian.
std::string EncodePackTrailer(const std::vector<PackEntry>& entries);
// Parses the footer (last kPackFooterSize bytes) into the entry count.
// Throws IntegrityError naming `pack` if the magic or its version is wrong.
uint32_t DecodePackFooterCount(std::string_view footer, const std::string& pack);
// Parses and checks the trailer: entries bytes followed by the footer. Refuses
// unknown codecs and any entry flag: format 1 defines none (bit 0 will mean
// "encrypted"), and reading a flagged chunk as plain data would be wrong.
std::vector<PackEntry> DecodePackTrailer(std::string_view trailer, const std::string& pack);

}  // namespace pgvault
