#include "pg/wal_segment.h"

#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "pg/lsn.h"

namespace pgvault {

namespace {
// XLogPageHeaderData: uint16 xlp_magic, uint16 xlp_info, uint32 xlp_tli,
// uint64 xlp_pageaddr, uint32 xlp_rem_len.
constexpr uint16_t kMinWalMagic = 0xD100;  // PostgreSQL 11+ use 0xD1xx
}

void CheckSegmentHeader(const std::string& data, const std::string& name, uint64_t segment_number,
                        uint32_t segment_size) {
  if (data.size() < kWalPageSize)
    throw Error(fmt::format("WAL segment {} is only {} bytes long", name, data.size()));
  uint16_t magic;
  uint64_t pageaddr;
  std::memcpy(&magic, data.data(), 2);
  std::memcpy(&pageaddr, data.data() + 8, 8);
  if ((magic & 0xFF00) != kMinWalMagic)
    throw Error(fmt::format("WAL segment {} has no valid page header (magic {:04X})", name, magic));
  uint64_t expected = segment_number * segment_size;
  if (pageaddr != expected)
    throw Error(fmt::format("WAL segment {} holds WAL from {} instead of {} (a recycled file not yet rewritten)", name,
                            FormatLsn(pageaddr), FormatLsn(expected)));
}

uint32_t SegmentTimeline(const std::string& data) {
  uint32_t tli = 0;
  if (data.size() >= 8) std::memcpy(&tli, data.data() + 4, 4);
  return tli;
}

}  // namespace pgvault
