#include "pg/lsn.h"

#include <cstdio>

#include <fmt/format.h>

#include "core/error.h"
#include "pg/wal_segment_size.h"

namespace pgvault {

Lsn ParseLsn(const std::string& text) {
  unsigned hi = 0, lo = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%X/%X%n", &hi, &lo, &consumed) != 2 || consumed != static_cast<int>(text.size()))
    throw Error(fmt::format("invalid LSN '{}': expected the form 16/B374D848", text));
  return static_cast<Lsn>(hi) << 32 | lo;
}

std::string FormatLsn(Lsn lsn) { return fmt::format("{:X}/{:X}", lsn >> 32, lsn & 0xffffffffu); }

uint64_t SegmentNumber(Lsn lsn, uint32_t segment_size) {
  CheckWalSegmentSize(segment_size, "WAL position");
  return lsn / segment_size;
}

std::string WalSegmentName(uint32_t timeline, uint64_t segment_number, uint32_t segment_size) {
  CheckWalSegmentSize(segment_size, "WAL segment name");
  uint64_t per_id = 0x100000000ull / segment_size;
  return fmt::format("{:08X}{:08X}{:08X}", timeline, segment_number / per_id, segment_number % per_id);
}

bool IsWalSegmentName(const std::string& name) {
  if (name.size() != 24) return false;
  for (char c : name)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

WalSegmentId ParseWalSegmentName(const std::string& name, uint32_t segment_size) {
  if (!IsWalSegmentName(name)) throw Error(fmt::format("'{}' is not a WAL segment file name", name));
  CheckWalSegmentSize(segment_size, name);
  uint64_t per_id = 0x100000000ull / segment_size;
  WalSegmentId id;
  id.timeline = static_cast<uint32_t>(std::stoul(name.substr(0, 8), nullptr, 16));
  id.segment_number = std::stoull(name.substr(8, 8), nullptr, 16) * per_id + std::stoull(name.substr(16, 8), nullptr, 16);
  return id;
}

}  // namespace pgvault
