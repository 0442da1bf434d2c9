// WAL positions (LSNs) and WAL segment file names.
#pragma once

#include <cstdint>
#include <string>

namespace pgvault {

using Lsn = uint64_t;

Lsn ParseLsn(const std::string& text);  // "16/B374D848"; throws pgvault::Error
std::string FormatLsn(Lsn lsn);
uint64_t SegmentNumber(Lsn lsn, uint32_t segment_size);
// "000000010000000000000002"
std::string WalSegmentName(uint32_t timeline, uint64_t segment_number, uint32_t segment_size);
bool IsWalSegmentName(const std::string& name);
struct WalSegmentId {
  uint32_t timeline = 0;
  uint64_t segment_number = 0;
};
// The timeline and segment number of a segment file name; throws Error
// unless IsWalSegmentName(name).
WalSegmentId ParseWalSegmentName(const std::string& name, uint32_t segment_size);

}  // namespace pgvault
