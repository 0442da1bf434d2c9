// PostgreSQL's data page checksum (src/include/storage/checksum_impl.h): an
// FNV-1a variant over 32 parallel lanes, mixed with the block number. Used to
// verify pages while reading them during a backup.
#pragma once

#include <cstdint>

namespace pgvault {

inline constexpr uint32_t kPageSize = 8192;
inline constexpr uint32_t kBlocksPerSegment = 131072;  // RELSEG_SIZE: 1 GiB of 8 KiB pages

// Checksum of one 8 KiB page at absolute block number `block` (segment
// number * 131072 + block within the segment file).
uint16_t PageChecksum(const uint8_t* page, uint32_t block);

enum class PageState {
  kValid,     // header checksum matches
  kNew,       // never initialized (all zeros); PostgreSQL does not checksum these
  kInvalid,   // checksum mismatch
};

PageState CheckPage(const uint8_t* page, uint32_t block);
uint64_t PageLsn(const uint8_t* page);

}  // namespace pgvault
