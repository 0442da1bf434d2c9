// `pgvault delete backup NAME`: removes a volume snapshot backup: each of its
// snapshots (following its class's deletionPolicy: Delete removes the
// snapshot, Retain keeps it on disk with its metadata file), then its catalog
// records.
#pragma once

#include <string>

namespace pgvault {

struct DeleteBackupOptions {
  std::string state_dir;
  std::string name;
};

std::string RunDeleteBackup(const DeleteBackupOptions& options);

}  // namespace pgvault
