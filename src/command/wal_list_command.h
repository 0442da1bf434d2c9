// `pgvault wal list`: what the WAL archive holds, per timeline: the ranges of
// consecutive segments, the gaps between them, history files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgvault {

struct WalRange {
  std::string first, last;  // segment names
  uint64_t segments = 0;
};

struct TimelineWal {
  uint32_t timeline = 0;
  std::vector<WalRange> ranges;    // consecutive runs, in order
  std::vector<std::string> gaps;   // "FIRST..LAST" missing between ranges
  bool history = false;            // its .history file is archived
  uint64_t partial = 0, backup_files = 0;
  uint64_t stored_bytes = 0;
};

struct WalListing {
  std::vector<TimelineWal> timelines;
  uint64_t files = 0, stored_bytes = 0;
};

WalListing ListWal(const std::string& repo);
std::string RenderWalListing(const WalListing& listing, bool json);

}  // namespace pgvault
