// Point-in-time recovery for `pgvault restore`: what the user asked for
// (--target-*), which backup can reach it, whether the archive covers it, and
// the recovery settings written into the restored data directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/timestamp.h"
#include "pg/lsn.h"
#include "repo/backup_manifest.h"
#include "wal/wal_archive.h"

namespace pgvault {

class Repository;
class WalArchive;

struct RecoveryTargetOptions {
  std::string time, lsn, xid, name;
  bool immediate = false;
  std::string timeline;  // "", "latest", "current" or a number
  bool exclusive = false;
  std::string action;  // "", promote, pause, shutdown
  int wal_prefetch = 8;  // wal-fetch --prefetch in the restore_command written
  // Recovery to the end of the archive may stop at a missing segment that
  // has WAL archived after it (refused otherwise).
  bool stop_at_wal_gap = false;
};

struct RecoveryTarget {
  enum class Kind { kNone, kTime, kLsn, kXid, kName, kImmediate };
  Kind kind = Kind::kNone;
  std::string text;  // the value as given (passed to PostgreSQL unchanged)
  SystemTime time{};
  Lsn lsn = 0;
  uint64_t xid = 0;
  bool exclusive = false;
  std::string action = "promote";
  std::string timeline = "latest";
  bool timeline_given = false;
  bool stop_at_wal_gap = false;
  int wal_prefetch = 8;

  // Archive recovery is wanted: a target, or only --target-timeline (replay
  // to the end of the archive on that timeline).
  bool requested() const { return kind != Kind::kNone || timeline_given; }
  std::string Describe() const;
};

// Checks the options (at most one target; each value exactly in the form
// PostgreSQL reads the same way); UsageError naming the option, the value and
// the accepted form otherwise. Numbers are normalised to plain decimal in
// `text` and `timeline`, the form written for PostgreSQL.
RecoveryTarget ParseRecoveryTarget(const RecoveryTargetOptions& options);

// One timeline's ancestry from its history file: (timeline, LSN where it ended).
struct TimelineBranch {
  uint32_t timeline = 0;
  Lsn end = 0;  // ~0 for the recovery timeline itself, which never ends
};

// An archived WAL segment: its timeline and segment number.
struct ArchivedSegment {
  uint32_t timeline = 0;
  uint64_t segno = 0;
};

// The archived segments recovery along `ancestry` (oldest first, as read from
// the recovery timeline's history) can read: those of each timeline on it, an
// ancestor's only up to the segment where the next timeline branched off.
std::vector<ArchivedSegment> SegmentsOnAncestry(const std::vector<ArchivedWalFile>& files,
                                                const std::vector<TimelineBranch>& ancestry, uint32_t segment_size);

// The backup a restore to `target` starts from: `backup_id` if given (checked
// to be able to reach the target), else the newest one that ended before the
// target on the target's timeline. Also refuses a target beyond the end of
// the archive, and recovery to the end of the archive when a segment after
// the backup is missing but later WAL is archived (unless stop_at_wal_gap).
// Every refusal is an Error that says why and what to do.
BackupManifest ChooseBackupForTarget(Repository& repo, WalArchive& archive, const RecoveryTarget& target,
                                     const std::string& backup_id);

// Writes restore_command (wal-fetch from `repo_location`), the recovery
// target settings and recovery.signal into `data_directory`; settings from an
// earlier recovery in postgresql.auto.conf are commented out.
void WriteRecoveryConfiguration(const std::string& data_directory, const std::string& repo_location,
                                const RecoveryTarget& target, const BackupManifest& backup);

}  // namespace pgvault
