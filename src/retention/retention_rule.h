// Which backups a retention policy keeps: the rule alone, on plain data, so
// it can be read and tested without a repository or a clock.
//
// A cluster's spec.backup.retentionPolicy is a recovery window ("30d": it
// must be possible to recover to any point of the last 30 days) and
// spec.backup.keep a count. Each applies to each place backups live
// separately (the repository, volume snapshots): snapshots never take the
// place of the repository's offsite copies, nor the other way round.
// Within one place, a completed backup is kept when
//   - it ended inside the window (after now - window), or it is the newest
//     that ended before the window started: recovering to the window's
//     first instant starts from it;
//   - it is one of the `keep` newest;
//   - it carries pgvault.io/keep: "true";
//   - it is the newest completed backup (never deleted, whatever the rules).
// With both a window and a count, a backup goes only when neither keeps it.
// Without any rule nothing is deleted.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cluster/cluster_spec.h"
#include "core/timestamp.h"

namespace pgvault {

struct RetainedBackup {
  std::string id;       // what the caller uses to delete it
  SystemTime end_time;  // when it completed (recovery can start from here)
  bool keep_annotation = false;
};

struct RetentionVerdict {
  std::vector<std::string> keep;    // oldest first
  std::vector<std::string> remove;  // oldest first
  std::map<std::string, std::string> reasons;  // id -> why kept / why removed
};

// The start of the window: now - N days / weeks / calendar months (UTC).
SystemTime WindowStart(const RetentionConfiguration& policy, SystemTime now);

RetentionVerdict DecideRetention(std::vector<RetainedBackup> backups, const RetentionConfiguration& policy,
                                 SystemTime now);

}  // namespace pgvault
