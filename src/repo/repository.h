// Repository: a Storage plus the layout and rules of format v1
// (docs/repository-format.md). Commands talk to this, never to paths.
//
//   config.json                      RepositoryConfig
//   lock                             writer lock (flock on POSIX storage)
//   packs/<xx>/<name>.pack           chunks, see pack_format.h
//   index/<name>.json.zst            pack trailers, cached
//   backups/<id>/files.json.zst      file list of a backup
//   backups/<id>/manifest.json       the backup's commit object, written last
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "repo/backup_history.h"
#include "repo/backup_manifest.h"
#include "repo/repository_config.h"
#include "storage/storage.h"

namespace pgvault {

// A backup whose manifest exists but cannot be used: damaged, or of a format
// version this pgvault does not read.
// Or whose manifest is gone although the backup history records it
// (`vanished`: deleted by hand, a lost object).
struct UnreadableBackup {
  std::string id;     // its directory name under backups/
  std::string path;   // "backups/<id>/manifest.json"
  std::string error;  // why, naming the manifest
  bool vanished = false;
};

struct BackupListing {
  std::vector<BackupManifest> backups;       // readable, oldest first
  std::vector<UnreadableBackup> unreadable;  // by id
  // Why the backup history (backup_history.h) could not be compared with
  // the manifests: missing or damaged. Empty when it was.
  std::string history_problem;
};

// Whether the backup `id` started before `manifest`, judged from the id alone
// (a backup id is its start time to the second, then a sequence number
// within the second; section 9.1 of the format): all that is left to place a
// backup whose manifest cannot be read. False when it cannot tell, e.g. for
// an id pgvault would not have made.
bool StartedBefore(const std::string& id, const BackupManifest& manifest);

class Repository {
 public:
  // Creates a new repository at the storage root. Refuses one that exists.
  static void Init(Storage& storage, RepositoryConfig config);
  // Opens an existing repository; a clear error if there is none.
  static std::unique_ptr<Repository> Open(std::unique_ptr<Storage> storage);

  Storage& storage() { return *storage_; }
  const RepositoryConfig& config() const { return config_; }
  // Reads config.json again (checked as on Open): another process may have
  // bound the system identifier since.
  const RepositoryConfig& ReloadConfig();
  std::string Describe() const { return storage_->Describe(); }

  // Exclusive writer lock, held for the life of the returned object. Taking
  // it also removes what killed writers left (only lock holders write under
  // packs/, index/ and backups/): temporary files there, and backup
  // directories without a manifest (an interrupted backup before its commit,
  // or an interrupted DeleteBackup after its uncommit). With `clean_leftovers`
  // false (a dry run, which promises to remove nothing) they stay.
  // Also removes temporary files that killed pushes left in wal/ (see
  // RemoveAbandonedWalWrites).
  std::unique_ptr<StorageLock> LockForWrite(const std::string& command, bool clean_leftovers = true);

  // Removes the temporary files in wal/ that killed pushes left, once they
  // are certainly abandoned (untouched for a day; wal-push writes there
  // without the writer lock, so a fresh one may be a push in progress).
  // Needs no lock. Returns how many it removed.
  size_t RemoveAbandonedWalWrites();

  // Records the cluster's system identifier on first use; afterwards refuses
  // any other. Call with the writer lock held.
  void BindSystemIdentifier(uint64_t system_identifier);

  // Committed backups (those with a manifest). One manifest that cannot be
  // read does not hide the others: it is listed apart, for the caller to
  // report.
  BackupListing ListBackups();
  // "latest" or an id. Throws naming the available ids if not found. For
  // "latest", throws rather than fall back to an older backup when a backup
  // that may be newer cannot be read.
  BackupManifest LoadBackup(const std::string& id_or_latest);
  // The file list, checked against the hash recorded in the manifest.
  std::vector<FileEntry> LoadFileList(const BackupManifest& manifest);

  // Deletes backup `id`. First its manifest, the commit object: from that
  // moment it is no backup (section 9.1); then the rest of backups/<id>/. A
  // crash in between leaves a directory without a manifest, which no command
  // lists and the next LockForWrite removes. Works whether or not the
  // manifest can be read. The backup's chunks stay in their packs until gc
  // (garbage_collector.h). Call with the writer lock held. Throws Error
  // naming the backups there are when there is no backup `id`.
  void DeleteBackup(const std::string& id);

  // Moves damaged index files (ChunkIndex::damaged_index_files()) out of
  // index/ into quarantine/index/, for whoever wants to look at them: a copy
  // first, then the removal. Safe at any moment, since packs describe
  // themselves and every reader reads the trailers of packs no sound index
  // file lists; a writer then lists them in its own index file. Call with the
  // writer lock held.
  void QuarantineIndexFiles(const std::vector<std::pair<std::string, std::string>>& damaged);

  // Backup directories without a manifest: paths of the objects in them, by
  // id (object stores have no empty directories to show).
  std::vector<std::pair<std::string, std::vector<ObjectInfo>>> IncompleteBackups();

  // A fresh backup id for a backup that starts at `start` (unique in this repo).
  std::string NewBackupId(const std::string& time_part);
  // Stores the file list, fills the manifest's files_* fields, then commits the
  // manifest atomically: only after this returns is the backup visible. Adds
  // the file list's and the manifest's exact sizes to stored_size, which on
  // entry holds what the caller stored (packs, index file).
  void CommitBackup(BackupManifest& manifest, const std::vector<FileEntry>& files);

 private:
  // Reads backups/<id>/manifest.json and checks that it is that backup's;
  // `sha256_hex`, when given, receives the SHA-256 of its stored text.
  BackupManifest ReadManifest(const std::string& id, std::string* sha256_hex = nullptr);
  // The listing without the history's judgement, and each manifest's SHA-256.
  BackupListing ListManifests(std::map<std::string, std::string>* sha256_by_id);
  // Reads the history, takes in every readable manifest, applies `change`,
  // and replaces it. Call with the writer lock held.
  void UpdateHistory(const std::function<void(BackupHistory&)>& change);
  Repository(std::unique_ptr<Storage> storage, RepositoryConfig config)
      : storage_(std::move(storage)), config_(std::move(config)) {}
  std::unique_ptr<Storage> storage_;
  RepositoryConfig config_;
};

}  // namespace pgvault
