// `pgvault restore --from-snapshot NAME`: a new data directory cloned from a
// volume snapshot backup (a writable btrfs snapshot or a reflink copy; a full
// copy onto another filesystem), with its WAL volume, tablespaces,
// backup_label and tablespace_map put back, and recovery settings for
// point-in-time recovery through the WAL archive. The snapshot's own metadata
// file is enough: the catalog is used when present.
#pragma once

#include <string>
#include <vector>

#include "command/recovery_target.h"

namespace pgvault {

struct SnapshotRestoreOptions {
  std::string config_path;  // optional: to search snapshot directories when the catalog lacks the snapshot
  std::string state_dir;
  std::string snapshot;     // a snapshot name (any element of the backup), or the path of its metadata file
  std::string target;       // the new data directory
  std::string wal_target;   // pg_wal on a volume of its own (a link from target/pg_wal)
  std::vector<std::string> tablespace_map;  // NAME=DIR
  std::string repo;         // WAL archive for recovery; default: the one recorded with the snapshot
  RecoveryTargetOptions recovery;
  std::string archive_mode = "preserve";  // off | preserve, as for a restore from a repository
};

struct SnapshotRestoreResult {
  std::string backup;
  std::string method;  // how the data volume was cloned
  bool online = false;
  std::string recovery;  // what happens on start, in words
  std::string archive_mode;     // off | preserve
  std::string archive_warning;  // the copy would archive into the WAL archive it recovers from
  double seconds = 0;
};

SnapshotRestoreResult RunSnapshotRestore(const SnapshotRestoreOptions& options);

}  // namespace pgvault
