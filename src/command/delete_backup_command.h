// `pgvault delete backup NAME`: removes a Backup object and what it made: a
// volume snapshot backup's snapshots (following its class's deletionPolicy:
// Delete removes the snapshot, Retain keeps it on disk with its metadata
// file), a repository backup's manifest and the space only it used
// (garbage collection), then its catalog records.
#pragma once

#include <string>

namespace pgvault {

struct DeleteBackupOptions {
  std::string state_dir;
  std::string name;
};

std::string RunDeleteBackup(const DeleteBackupOptions& options);

class Catalog;
// A failed backup whose process died mid-way may have left snapshots that it
// planned (status.plannedSnapshots) but never recorded: removes those that
// exist, then forgets the plan. The controller calls it for failed backups;
// returns how many snapshots it removed.
int DiscardPlannedSnapshots(Catalog& catalog, const std::string& backup_name);

}  // namespace pgvault
