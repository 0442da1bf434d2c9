// `pgvault backup --method volumeSnapshot`: a base backup as volume snapshots
// of one instance of a cluster (CloudNativePG's volumeSnapshot method).
//   cold (online=false): fence the target (clean stop), snapshot PGDATA, the
//     WAL volume and tablespace volumes, record pg_controldata, unfence;
//   hot (online=true): pg_backup_start on a held connection (with a temporary
//     slot), snapshot PGDATA and tablespaces, pg_backup_stop, then snapshot
//     the WAL volume, which so holds every segment up to the backup's end;
//     backup_label and tablespace_map go into the snapshots' metadata.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace pgvault {

struct SnapshotBackupOptions {
  std::string config_path;
  std::string state_dir;
  std::string cluster;                  // "" = the only cluster of the file
  std::string name;                     // "" = <cluster>-<YYYYMMDDhhmmss>
  std::string target;                   // "" = the cluster's spec.backup.target
  std::optional<bool> online;           // unset = the cluster's volumeSnapshot.online
  std::optional<bool> immediate_checkpoint;
  std::optional<bool> wait_for_archive;
  bool fence_primary = false;           // allow a cold backup to stop the primary
  int archive_timeout_seconds = 60;     // hot backup of a standby: waiting for its last segment
  // Run the Backup object `name` of the catalog, which this process has
  // claimed (backup_object_runner.h), instead of creating one.
  bool adopt = false;
};

// Runs the backup and returns the Backup object (CNPG's shape: metadata,
// spec, status with phase completed). On failure the backup is recorded as
// failed, the snapshots it made are removed, a fenced instance is started
// again, and the error is thrown.
nlohmann::json RunSnapshotBackup(const SnapshotBackupOptions& options);

}  // namespace pgvault
