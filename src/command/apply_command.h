// `pgvault apply -f FILE|-`: the declarative API. Every document of the file
// (Cluster, VolumeSnapshotClass, Backup, ScheduledBackup) is checked, then
// checked against the others and against what was applied before (a Backup
// names a cluster that exists and can take that method; snapshot classes
// resolve); only when all of them are valid are they stored, in one catalog
// transaction. A new Backup is stored as pending: the controller runs it, or
// `apply --wait` here.
#pragma once

#include <string>
#include <vector>

namespace pgvault {

struct ApplyOptions {
  std::string state_dir;
  std::string file;  // "-" = standard input
  bool dry_run = false;
};

struct ApplyResult {
  // One line per object, as kubectl prints them:
  // "backup.postgresql.cnpg.io/NAME created".
  std::vector<std::string> lines;
  std::vector<std::string> new_backups;  // Backups created (pending), in file order
};

ApplyResult RunApply(const ApplyOptions& options);

}  // namespace pgvault
