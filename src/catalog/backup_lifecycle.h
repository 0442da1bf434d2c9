// The phases of a Backup object (CloudNativePG's: pending, started, running,
// finalizing, then completed or failed) and the rule that no backup stays in
// a non-terminal phase after the process running it is gone.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "core/unique_fd.h"

namespace pgvault {

bool BackupPhaseTerminal(const std::string& phase);  // completed | failed

// True when `backup` is not terminal and the pgvault process that ran it
// (status.owner) no longer exists.
bool BackupAbandoned(const nlohmann::json& backup);

// Marks failed, with an event, every backup that can no longer end by
// itself: abandoned ones ("the pgvault process ... ended before the backup
// did") and pending ones past their deadline (no controller took them).
// Commands that show or change backups call it first, so a killed backup
// never looks like it is still running and a pending one never waits
// forever.
void FailAbandonedBackups(Catalog& catalog);

// Records `backup` (if not terminal yet) as failed with `reason`, and the
// BackupFailed event. Returns false when it had ended already.
bool FailBackup(Catalog& catalog, const std::string& name, const std::string& reason);

// One backup of a cluster at a time (as CloudNativePG serializes them), of
// either method: a flock on <state dir>/locks/backup-<cluster>.lock, which
// goes with the process, so a killed backup never blocks the next one.
// Throws naming the lock when another backup holds it.
UniqueFd LockClusterBackups(const std::string& state_dir, const std::string& cluster);

}  // namespace pgvault
