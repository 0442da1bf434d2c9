// `pgvault list` and `pgvault info`: what a repository holds.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "repo/backup_manifest.h"

namespace pgvault {

// The `list --json` object for one backup.
nlohmann::json BackupSummaryJson(const BackupManifest& m);
// `list`: table or JSON array.
std::string RenderBackupList(const std::string& repo, bool json);
// `info`: the repository, or one backup in detail.
std::string RenderInfo(const std::string& repo, const std::string& backup, bool json);

}  // namespace pgvault
