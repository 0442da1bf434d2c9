#include "pg/wal_segment.h"

#include <cctype>
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

WalLongPageHeader ParseLongPageHeader(std::string_view data, const std::string& name) {
  // XLogLongPageHeaderData: the short header (magic u16, info u16, tli u32,
  // pageaddr u64, rem_len u32, 4 bytes padding) then sysid u64, seg_size u32,
  // xlog_blcksz u32. Host byte order, as PostgreSQL writes it.
  constexpr uint16_t kLongHeaderFlag = 0x0002;  // XLP_LONG_HEADER
  if (data.size() < 40) throw Error(fmt::format("WAL file {} is only {} bytes long", name, data.size()));
  WalLongPageHeader h;
  uint16_t info;
  std::memcpy(&h.magic, data.data(), 2);
  std::memcpy(&info, data.data() + 2, 2);
  std::memcpy(&h.timeline, data.data() + 4, 4);
  std::memcpy(&h.page_address, data.data() + 8, 8);
  std::memcpy(&h.system_identifier, data.data() + 24, 8);
  std::memcpy(&h.segment_size, data.data() + 32, 4);
  std::memcpy(&h.block_size, data.data() + 36, 4);
  if ((h.magic & 0xFF00) != kMinWalMagic || !(info & kLongHeaderFlag))
    throw Error(fmt::format("{} is not a WAL segment: its first page has no WAL long page header", name));
  return h;
}

std::optional<WalFileKind> ClassifyWalFileName(const std::string& name) {
  auto hex = [&](size_t from, size_t n) {
    if (name.size() < from + n) return false;
    for (size_t i = from; i < from + n; ++i)
      if (!std::isxdigit(static_cast<unsigned char>(name[i])) || std::islower(static_cast<unsigned char>(name[i])))
        return false;
    return true;
  };
  if (name.size() == 24 && hex(0, 24)) return WalFileKind::kSegment;
  if (name.size() == 32 && hex(0, 24) && name.ends_with(".partial")) return WalFileKind::kPartial;
  if (name.size() == 40 && hex(0, 24) && name[24] == '.' && hex(25, 8) && name.ends_with(".backup"))
    return WalFileKind::kBackup;
  if (name.size() == 16 && hex(0, 8) && name.ends_with(".history")) return WalFileKind::kHistory;
  return std::nullopt;
}

}  // namespace pgvault
