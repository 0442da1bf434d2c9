// The backup history (history.json at the repository root): every committed
// backup, so that one that vanishes is noticed. A manifest is the commit
// object of its backup (format section 9.1); on its own, deleting it would
// silently turn "latest" into the backup before, and verify would find
// nothing wrong. The history remembers what was committed, like pgBackRest's
// backup.info, and readers compare the two (Repository::ListBackups).
//
// Written only under the writer lock, replaced as a whole (sealed JSON,
// sealed_json.h): by `repo init` (empty), after each backup's commit, and
// before a manifest is deleted. Each write takes in every readable manifest
// it finds, so a crash between a commit and its history update heals at the
// next write.
#pragma once

#include <string>
#include <vector>

namespace pgvault {

struct HistoryEntry {
  std::string id;
  std::string start_time, stop_time;  // as in the manifest
  std::string stop_lsn;
  uint32_t timeline = 0;
  std::string manifest_sha256;  // of the manifest's stored text
};

struct BackupHistory {
  std::vector<HistoryEntry> backups;  // by id

  const HistoryEntry* Find(const std::string& id) const;
  // Adds or replaces the entry with `entry.id`.
  void Put(HistoryEntry entry);
  void Remove(const std::string& id);

  std::string ToText() const;
  // IntegrityError naming `where` when damaged; Error for another version.
  static BackupHistory FromText(const std::string& text, const std::string& where);
};

}  // namespace pgvault
