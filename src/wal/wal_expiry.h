// WAL expiry: removes archived WAL that lies wholly before a position, on
// every timeline (docs/repository-format.md, section 15.5). The caller
// chooses the position: the start LSN of the oldest backup it keeps, below
// which no point-in-time recovery from a kept backup reads WAL.
//
// The rule, by file name (segment size S, cut segment K = SegmentNumber(before, S)):
//   segment  TTTTTTTTXXXXXXXXYYYYYYYY          removed when its segment number < K
//   partial  <segment>.partial                 the same
//   backup   <segment>.<offset>.backup         the same, by the segment it names
//   history  TTTTTTTT.history                  never (a timeline's ancestry is
//                                              needed to recover along it)
// So the segment holding `before` stays, as does everything after it. A
// segment's number comes from its name alone: the timeline plays no part.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pg/lsn.h"

namespace pgvault {

class Repository;
class StorageLock;

struct WalExpiryOptions {
  Lsn before = 0;             // keep the segment holding this LSN and all after it
  uint32_t segment_size = 0;  // the cluster's WAL segment size (ArchivedWalSegmentSize)
  bool dry_run = false;
};

struct WalExpiryReport {
  bool dry_run = false;
  std::string kept_from;  // LSN where segment K starts: every file from there on stays
  uint64_t segments_removed = 0, partial_removed = 0, backup_files_removed = 0;
  uint64_t bytes_removed = 0;  // stored bytes
  uint64_t files_kept = 0, bytes_kept = 0;  // everything else archived, history files included
  uint64_t history_files = 0;               // kept, always
};

// Whether the archived file `name` goes under the rule above (false for
// anything that is not a WAL archive file name, and for .history files).
bool WalFileExpires(const std::string& name, uint64_t cut_segment, uint32_t segment_size);

// The WAL segment size of the cluster whose WAL `repo` archives: from the
// header of an archived segment, else from the newest readable backup.
// Throws Error when neither exists.
uint32_t ArchivedWalSegmentSize(Repository& repo);

// `lock` must be `repo`'s writer lock: expiry changes what the repository can
// recover, so it is serialized with gc, delete-backup and other expiries
// (wal-push still runs meanwhile: it only adds files, and one added below the
// cut during the expiry may stay). Removals are durable on return.
WalExpiryReport ExpireWal(Repository& repo, const StorageLock& lock, const WalExpiryOptions& options);

}  // namespace pgvault
