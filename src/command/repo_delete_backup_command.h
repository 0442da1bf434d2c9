// `pgvault repo delete-backup --repo R ID`: removes one backup of a
// repository, by id, whether or not its manifest can be read
// (Repository::DeleteBackup). Its space comes back with `pgvault repo gc`.
// Not to be confused with `pgvault delete backup NAME` (volume snapshot
// backups of the catalog, delete_backup_command.h).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace pgvault {

struct RepoDeleteBackupOptions {
  std::string repo;
  std::string id;
};

struct RepoDeleteBackupResult {
  std::string id;
  bool readable = true;     // its manifest could be read before the deletion
  std::string error;        // why not, when it could not
  std::string start_time, stop_lsn;  // from the manifest, when readable
  uint64_t size = 0;
  uint64_t backups_left = 0;  // committed backups in the repository afterwards
};

RepoDeleteBackupResult RunRepoDeleteBackup(const RepoDeleteBackupOptions& options);
std::string RenderRepoDeleteBackup(const RepoDeleteBackupResult& result, bool json);

}  // namespace pgvault
