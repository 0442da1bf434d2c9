// The phases of a Backup object (CloudNativePG's: pending, started, running,
// finalizing, then completed or failed) and the rule that no backup stays in
// a non-terminal phase after the process running it is gone.
#pragma once

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"

namespace pgvault {

bool BackupPhaseTerminal(const std::string& phase);  // completed | failed

// True when `backup` is not terminal and the pgvault process that ran it
// (status.owner) no longer exists.
bool BackupAbandoned(const nlohmann::json& backup);

// Marks every abandoned backup failed ("the pgvault process ... ended before
// the backup did"), with an event. Commands that show or change backups call
// it first, so a killed backup never looks like it is still running.
void FailAbandonedBackups(Catalog& catalog);

}  // namespace pgvault
