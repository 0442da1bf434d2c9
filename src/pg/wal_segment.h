// Checks on WAL segment files read from pg_wal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgvault {

inline constexpr uint32_t kWalPageSize = 8192;

// Throws Error naming `name` unless the segment's first page header has
// PostgreSQL's WAL magic and the page address of `segment_number`. This
// catches a recycled file whose old contents were not yet overwritten.
void CheckSegmentHeader(const std::string& data, const std::string& name, uint64_t segment_number,
                        uint32_t segment_size);

// The timeline stored in the first page header.
uint32_t SegmentTimeline(const std::string& data);

// The long page header that starts every WAL segment (XLogLongPageHeaderData).
struct WalLongPageHeader {
  uint16_t magic = 0;
  uint32_t timeline = 0;
  uint64_t page_address = 0;
  uint64_t system_identifier = 0;
  uint32_t segment_size = 0;
  uint32_t block_size = 0;
};
// Parses the long page header of a segment (or .partial file); throws Error
// naming `name` when the data does not start with one.
WalLongPageHeader ParseLongPageHeader(std::string_view data, const std::string& name);

// What kind of file PostgreSQL hands to archive_command / asks of
// restore_command, by name.
enum class WalFileKind {
  kSegment,  // 000000010000000000000001
  kPartial,  // 000000010000000000000001.partial (end of a timeline, after promotion)
  kBackup,   // 000000010000000000000001.00000028.backup (backup history file)
  kHistory,  // 00000002.history (timeline history)
};
// The kind of `name`, or nullopt when it is not a WAL archive file name.
std::optional<WalFileKind> ClassifyWalFileName(const std::string& name);

}  // namespace pgvault
