#include "command/repo_delete_backup_command.h"

#include <fmt/format.h>

#include "core/byte_size.h"
#include "repo/repository.h"
#include "storage/storage.h"

namespace pgvault {

RepoDeleteBackupResult RunRepoDeleteBackup(const RepoDeleteBackupOptions& options) {
  auto repo = Repository::Open(OpenStorage(options.repo));
  // The writer lock: no backup is being written, gc is not deciding what is
  // referenced, and two deletions do not interleave.
  auto lock = repo->LockForWrite("repo delete-backup");
  RepoDeleteBackupResult result;
  result.id = options.id;
  BackupListing listing = repo->ListBackups();
  for (const auto& m : listing.backups)
    if (m.id == options.id) {
      result.start_time = m.start_time;
      result.stop_lsn = m.stop_lsn;
      result.size = m.size;
    }
  for (const auto& u : listing.unreadable)
    if (u.id == options.id) {
      result.readable = false;
      result.error = u.error;
    }
  lock->CheckHeld();
  repo->DeleteBackup(options.id);  // refuses, naming the backups there are, when there is no such backup
  result.backups_left = listing.backups.size() + listing.unreadable.size() - 1;
  return result;
}

std::string RenderRepoDeleteBackup(const RepoDeleteBackupResult& r, bool json) {
  if (json) {
    nlohmann::json j = {{"id", r.id}, {"deleted", true}, {"readable", r.readable}, {"backups_left", r.backups_left}};
    if (r.readable) {
      j["start_time"] = r.start_time;
      j["stop_lsn"] = r.stop_lsn;
      j["size"] = r.size;
    } else {
      j["error"] = r.error;
    }
    return j.dump(2) + "\n";
  }
  std::string what = r.readable ? fmt::format("started {}, {}", r.start_time, FormatBytes(r.size))
                                 : "its manifest could not be read";
  return fmt::format("deleted backup {} ({}); {} backup(s) left. Its chunks stay in the repository until "
                     "'pgvault repo gc' removes those no other backup uses\n",
                     r.id, what, r.backups_left);
}

}  // namespace pgvault
