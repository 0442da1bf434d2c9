// WAL prefetch for restore_command (wal-fetch --prefetch N).
//
// PostgreSQL asks restore_command for one segment at a time and replays it
// before asking for the next, so per-call latency (open the repository, read,
// decompress, verify) adds up over thousands of segments. The prefetcher is a
// detached background process that fetches the N segments after the last one
// PostgreSQL asked for, in parallel, into a spool:
//
//   <spool>/prefetch.lock      flock held by the running prefetcher
//   <spool>/prefetch.want      "<name>\n<segment size>\n<repository>\n": the
//                              last segment handed to PostgreSQL
//   <spool>/prefetch/<name>    a verified segment, written atomically
//   <spool>/prefetch.log       the prefetcher's errors
//
// The wal-fetch call for a segment takes it from the spool by rename when it
// is there (after checking its page header against the name and the
// repository's cluster), else fetches it directly. The prefetcher only ever
// holds verified copies of immutable archived files, so a spooled file is as
// good as the archive's; it keeps the wanted segment and the N after it and
// removes everything else, and exits (removing what it spooled) after 30
// seconds without a new request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgvault {

struct PrefetchOptions {
  std::string repo;
  std::string spool;  // default (wal-fetch): pg_wal/pgvault-spool in the data directory
  int depth = 0;      // segments fetched ahead
};

// Takes `name` out of the spool into `destination` if the prefetcher stored
// it, checking that its first page header belongs to segment `name` of the
// cluster `system_identifier`. Returns the segment's size, or nullopt when it
// was not there (or not usable, in which case it is removed).
std::optional<uint64_t> TakePrefetchedSegment(const PrefetchOptions& options, const std::string& name,
                                              uint64_t system_identifier, const std::string& destination);

// Records that PostgreSQL received `name` and starts the prefetcher unless
// one runs. Call from a single-threaded process (it forks).
void PrefetchAfter(const PrefetchOptions& options, const std::string& name, uint64_t segment_size);

// The prefetcher's main loop (runs in the detached child); returns after a
// 30 seconds without a new wanted segment, leaving the spool empty.
void RunWalPrefetcher(const PrefetchOptions& options);

}  // namespace pgvault
