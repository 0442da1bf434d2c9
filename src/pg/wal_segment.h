// Checks on WAL segment files read from pg_wal.
#pragma once

#include <cstdint>
#include <string>

namespace pgvault {

inline constexpr uint32_t kWalPageSize = 8192;

// Throws Error naming `name` unless the segment's first page header has
// PostgreSQL's WAL magic and the page address of `segment_number`. This
// catches a recycled file whose old contents were not yet overwritten.
void CheckSegmentHeader(const std::string& data, const std::string& name, uint64_t segment_number,
                        uint32_t segment_size);

// The timeline stored in the first page header.
uint32_t SegmentTimeline(const std::string& data);

}  // namespace pgvault
