// `pgvault restore`: writes a backup into a data directory that then starts
// with a plain `pg_ctl start` and recovers to the backup's consistency point
// from the WAL stored with the backup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "command/recovery_target.h"

namespace pgvault {

struct RestoreOptions {
  std::string repo;
  std::string backup = "latest";
  std::string target;
  bool delta = false;  // keep files whose contents already match
  bool force = false;  // overwrite a non-empty target
  size_t jobs = 0;
  std::vector<std::string> tablespace_map;  // "OID=DIR" or "NAME=DIR"
  bool progress = true;
  // Point-in-time recovery: with any target (or a timeline), the restored
  // directory recovers from the WAL archive (wal-fetch) instead of stopping at
  // the backup's end.
  RecoveryTargetOptions recovery;
  // "off": the restored copy archives no WAL (archive_mode = off written into
  // postgresql.auto.conf); "preserve": its configuration is left as restored.
  std::string archive_mode = "preserve";
};

struct RestoreResult {
  std::string backup_id;
  uint64_t files_total = 0;
  uint64_t files_written = 0;    // created or changed
  uint64_t files_unchanged = 0;  // --delta: already matching
  uint64_t files_removed = 0;    // --delta/--force: not in the backup
  uint64_t bytes_written = 0;
  std::vector<std::string> written_paths;  // relative paths of files written
  double seconds = 0;
  std::string recovery_target;  // empty unless a point-in-time recovery was set up
  std::string archive_mode;     // off | preserve
  // Set when the copy, restored into a new directory, would archive into the
  // repository it came from (or restore cannot tell): what and how to avoid it.
  std::string archive_warning;
};

RestoreResult RunRestore(const RestoreOptions& options);

}  // namespace pgvault
