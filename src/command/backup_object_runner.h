// Runs one Backup object of the catalog (applied with `pgvault apply -f`, or
// made by a ScheduledBackup): claims it (pending -> started, atomically, so
// two runners never run one backup), takes it by its method on the instance
// its target selects, and records every phase, the result or the error.
// The controller runs each Backup in a child process running this
// (`pgvault run-backup NAME`), so that it can enforce deadlines with signals
// and survive a backup that crashes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace pgvault {

struct BackupObjectRunOptions {
  std::string config_path;  // "" = the applied clusters
  std::string state_dir;
  std::string name;
};

// Returns the completed Backup object. On failure the object is recorded as
// failed (with the reason) before the error is thrown.
nlohmann::json RunBackupObject(const BackupObjectRunOptions& options);

}  // namespace pgvault
