#include "repo/repository.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/test_pause.h"
#include "core/timestamp.h"
#include "repo/compressed_json.h"
#include "repo/file_list_paths.h"

namespace pgvault {

namespace {
constexpr const char* kConfigPath = "config.json";
constexpr const char* kManifestName = "manifest.json";
constexpr const char* kHistoryPath = "history.json";
// The areas only written while holding the writer lock.
constexpr const char* kLockedPrefixes[] = {"packs", "index", "backups"};

std::string ManifestPath(const std::string& id) { return "backups/" + id + "/" + kManifestName; }

void RemoveObjectsOf(Storage& storage, const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> paths;
  for (const auto& o : objects) paths.push_back(o.path);
  storage.RemoveObjects(paths);
}

// A backup id taken apart: "20261124T184401F-2" is {"20261124T184401", 2},
// "20261124T184401F" is {..., 1}. Empty time if pgvault would not make it.
struct IdParts {
  std::string time;
  unsigned long sequence = 0;
};
IdParts ParseId(const std::string& id) {
  if (id.size() < 16 || id[8] != 'T' || id[15] != 'F') return {};
  for (size_t i = 0; i < 15; ++i)
    if (i != 8 && !std::isdigit(static_cast<unsigned char>(id[i]))) return {};
  if (id.size() == 16) return {id.substr(0, 15), 1};
  if (id[16] != '-' || id.size() == 17 || id.size() > 22) return {};
  for (size_t i = 17; i < id.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(id[i]))) return {};
  return {id.substr(0, 15), std::stoul(id.substr(17))};
}

// The id's time form of a manifest's start_time ("2026-11-24T18:44:01.410Z").
std::string StartTimeToSecond(const std::string& start_time) {
  std::string out;
  for (char c : start_time.substr(0, 19))
    if (c != '-' && c != ':') out += c;
  return out.size() == 15 ? out : "";
}
}  // namespace

bool StartedBefore(const std::string& id, const BackupManifest& manifest) {
  IdParts mine = ParseId(id), theirs = ParseId(manifest.id);
  std::string their_time = StartTimeToSecond(manifest.start_time);
  if (mine.time.empty() || their_time.empty()) return false;
  if (mine.time != their_time) return mine.time < their_time;
  // Same second: "<time>F-n" is only chosen once "<time>F" .. "<time>F-(n-1)"
  // have manifests, so a lower number is an earlier backup.
  return theirs.time == mine.time && mine.sequence < theirs.sequence;
}

void Repository::Init(Storage& storage, RepositoryConfig config) {
  if (storage.Exists(kConfigPath))
    throw Error(fmt::format("a pgvault repository already exists at {}", storage.Describe()));
  if (!storage.List("").empty())
    throw Error(fmt::format("{} is not empty and is not a pgvault repository: choose an empty or new directory",
                            storage.Describe()));
  // The modes before anything is made: an existing root first, so that a
  // root whose mode cannot be set leaves nothing written.
  storage.SetGroupAccess(config.group_access);
  storage.RestrictRoot();
  std::random_device rd;
  config.repository_id = fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
  config.created_at = FormatTimestamp(std::chrono::system_clock::now());
  storage.Write(kConfigPath, config.ToJson());
  storage.Write(kHistoryPath, BackupHistory{}.ToText());
}

std::unique_ptr<Repository> Repository::Open(std::unique_ptr<Storage> storage) {
  std::string text;
  try {
    text = storage->Read(kConfigPath);
  } catch (const NotFoundError&) {
    throw Error(fmt::format("no pgvault repository at {}: create one with 'pgvault repo init --repo {}'",
                            storage->Describe(), storage->Describe()));
  }
  RepositoryConfig config = RepositoryConfig::FromJson(text, storage->Describe() + "/" + kConfigPath);
  storage->SetGroupAccess(config.group_access);
  return std::unique_ptr<Repository>(new Repository(std::move(storage), std::move(config)));
}

namespace {

// A wal-push holds the writer lock only to record the system identifier in
// a repository that has none yet (a few requests; seconds when an object
// store needs retries). A backup that starts at that moment, typically the
// very first one, waits for it instead of failing. Any other holder (a
// backup, gc, expiry: minutes or hours) is refused at once.
constexpr auto kWaitForWalBinding = std::chrono::seconds(60);

// The note a writer leaves in the lock, and the command read back from a
// holder's note: written and read here only, so the format has one owner.
std::string LockNote(const std::string& command) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return fmt::format("pid {} on {}, '{}' since {}", getpid(), host, command,
                     FormatTimestamp(std::chrono::system_clock::now()));
}
std::string CommandInLockNote(const std::string& note) {
  size_t open = note.find(", '");
  size_t close = note.rfind("' since ");
  if (open == std::string::npos || close == std::string::npos || close < open + 3) return "";
  return note.substr(open + 3, close - open - 3);
}

std::unique_ptr<StorageLock> TakeLockWaitingForWalBinding(Storage& storage, const std::string& holder) {
  auto deadline = std::chrono::steady_clock::now() + kWaitForWalBinding;
  for (bool said = false;; said = true) {
    try {
      return storage.Lock("lock", holder);
    } catch (const LockHeldError& e) {
      if (CommandInLockNote(e.holder()) != "wal-push" || std::chrono::steady_clock::now() > deadline) throw;
      if (!said) spdlog::info("waiting for a wal-push that is recording the system identifier ({})", e.holder());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace

std::unique_ptr<StorageLock> Repository::LockForWrite(const std::string& command, bool clean_leftovers) {
  auto lock = TakeLockWaitingForWalBinding(*storage_, LockNote(command));
  if (!clean_leftovers) return lock;
  // Every writer under these prefixes holds this lock, so whatever uncommitted
  // objects are there now were left by writers that died. Other prefixes
  // (a later wal/ area is written without the lock) are not ours to clean.
  // Leftovers are harmless, so failing to remove them does not stop a backup.
  size_t removed = 0;
  for (const char* prefix : kLockedPrefixes) {
    try {
      removed += storage_->RemoveUncommitted(prefix);
    } catch (const Error& e) {
      spdlog::warn("cannot remove temporary files left by interrupted writes: {}", e.what());
    }
  }
  try {
    removed += RemoveAbandonedWalWrites();
  } catch (const Error& e) {
    spdlog::warn("cannot remove temporary files left by interrupted WAL pushes: {}", e.what());
  }
  if (removed > 0) spdlog::info("removed {} temporary file(s) left by interrupted writes in {}", removed, Describe());
  // Likewise a backup directory without a manifest: no backup (section 9.1),
  // and nobody is writing it now.
  try {
    auto incomplete = IncompleteBackups();
    for (const auto& [id, objects] : incomplete) RemoveObjectsOf(*storage_, objects);
    storage_->RemoveEmptyDirectories("backups");
    if (!incomplete.empty())
      spdlog::info("removed {} backup director{} without a manifest (interrupted backup or delete-backup) in {}",
                   incomplete.size(), incomplete.size() == 1 ? "y" : "ies", Describe());
  } catch (const Error& e) {
    spdlog::warn("cannot remove backup directories left by interrupted writes: {}", e.what());
  }
  return lock;
}

void Repository::QuarantineIndexFiles(const std::vector<std::pair<std::string, std::string>>& damaged) {
  for (const auto& [path, why] : damaged) {
    try {
      storage_->Write("quarantine/" + path, storage_->Read(path));
    } catch (const NotFoundError&) {
      continue;  // already moved
    }
    storage_->Remove(path);
    spdlog::warn("moved damaged index file {} to {}/quarantine/{} ({}); its packs are listed again by this command's "
                 "own index file",
                 path, Describe(), path, why);
  }
}

size_t Repository::RemoveAbandonedWalWrites() {
  // wal/ is written without the writer lock, by any number of concurrent
  // wal-push processes (on this host or another sharing the repository), so
  // a temporary file there may be a push in progress. Its name carries no
  // writer pid, and a pid would not do: another host's, or another pid
  // namespace's, cannot be checked, and pids are reused. Its age can: a push
  // writes its temporary file, fsyncs it and links it in within seconds
  // (minutes for a 1 GB segment on a slow disk), so one untouched for a day
  // was left by a push that was killed. Even a push stopped for longer than
  // that loses nothing when its file goes: its link fails, it reports the
  // error, and PostgreSQL retries the segment.
  constexpr auto kAbandonedAfter = std::chrono::hours(24);
  return storage_->RemoveAbandoned("wal", kAbandonedAfter);
}

std::vector<std::pair<std::string, std::vector<ObjectInfo>>> Repository::IncompleteBackups() {
  std::map<std::string, std::vector<ObjectInfo>> by_id;
  std::set<std::string> committed;
  const std::string prefix = "backups/";
  for (auto& object : storage_->List("backups")) {
    auto slash = object.path.find('/', prefix.size());
    if (slash == std::string::npos) continue;  // a file directly in backups/: not a backup's
    std::string id = object.path.substr(prefix.size(), slash - prefix.size());
    if (object.path == ManifestPath(id)) committed.insert(id);
    by_id[id].push_back(std::move(object));
  }
  std::vector<std::pair<std::string, std::vector<ObjectInfo>>> out;
  for (auto& [id, objects] : by_id)
    if (!committed.count(id)) out.emplace_back(id, std::move(objects));
  return out;
}

void Repository::DeleteBackup(const std::string& id) {
  // The id becomes a path: nothing that could leave backups/<id>/.
  bool plain = !id.empty() && id[0] != '.' && id.size() <= 128;
  for (char c : id) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  bool recorded = false;
  if (plain && !storage_->Exists(ManifestPath(id))) {
    // Vanished (its manifest removed outside pgvault): deleting it accepts
    // the loss, by forgetting it in the history.
    try {
      recorded = BackupHistory::FromText(storage_->Read(kHistoryPath), kHistoryPath).Find(id) != nullptr;
    } catch (const Error&) {
    }
  }
  if (recorded) {
    UpdateHistory([&](BackupHistory& history) { history.Remove(id); });
    RemoveObjectsOf(*storage_, storage_->List("backups/" + id));
    storage_->RemoveEmptyDirectories("backups");
    spdlog::info("forgot vanished backup {} (its manifest was already gone)", id);
    return;
  }
  if (!plain || !storage_->Exists(ManifestPath(id))) {
    BackupListing listing = ListBackups();
    std::string ids;
    for (const auto& m : listing.backups) ids += (ids.empty() ? "" : ", ") + m.id;
    for (const auto& u : listing.unreadable) ids += (ids.empty() ? "" : ", ") + u.id + " (unreadable)";
    throw Error(fmt::format("backup '{}' does not exist in {} (backups: {})", id, Describe(),
                            ids.empty() ? "none" : ids));
  }
  // The history forgets it first: a crash after this leaves a manifest the
  // history does not record, which the next history write takes in again
  // (the delete is then simply not done), never a recorded backup without a
  // manifest, which would look lost.
  UpdateHistory([&](BackupHistory& history) { history.Remove(id); });
  // Uncommit: once the manifest is gone (durably: Remove() is), no
  // reader takes this for a backup, whatever is still in the directory.
  storage_->Remove(ManifestPath(id));
  TestPausePoint("delete-backup-uncommitted");
  RemoveObjectsOf(*storage_, storage_->List("backups/" + id));
  storage_->RemoveEmptyDirectories("backups");
  spdlog::debug("deleted backup {}", id);
}

const RepositoryConfig& Repository::ReloadConfig() {
  config_ = RepositoryConfig::FromJson(storage_->Read(kConfigPath), Describe() + "/" + kConfigPath);
  return config_;
}

void Repository::BindSystemIdentifier(uint64_t system_identifier) {
  // Re-read: another writer may have bound it since Open().
  std::string where = Describe() + "/" + kConfigPath;
  std::string text = storage_->Read(kConfigPath);
  config_ = RepositoryConfig::FromJson(text, where);
  if (config_.system_identifier) {
    if (*config_.system_identifier != system_identifier)
      throw Error(fmt::format("repository {} belongs to the cluster with system identifier {}, but this cluster's is "
                              "{}: use a separate repository for each cluster",
                              Describe(), *config_.system_identifier, system_identifier));
    return;
  }
  // Rewritten from the text, not from config_, so that keys this version does
  // not know survive.
  storage_->Write(kConfigPath, RepositoryConfig::WithSystemIdentifier(text, system_identifier, where));
  config_.system_identifier = system_identifier;
}

BackupManifest Repository::ReadManifest(const std::string& id, std::string* sha256_hex) {
  std::string path = ManifestPath(id);
  std::string where = Describe() + "/" + path;
  std::string text = storage_->Read(path);
  if (sha256_hex) *sha256_hex = DigestHex(Sha256(text));
  BackupManifest m = BackupManifest::FromJson(text, where);
  // Backups are found, named and placed by their directory: a manifest that
  // claims another id (copied by hand?) would make all three disagree.
  if (m.id != id) throw IntegrityError(fmt::format("{} is damaged: it is the manifest of backup {}", where, m.id));
  return m;
}

BackupListing Repository::ListBackups() {
  std::map<std::string, std::string> sha256_by_id;
  BackupListing out = ListManifests(&sha256_by_id);
  std::string where = Describe() + "/" + kHistoryPath;
  BackupHistory history;
  try {
    history = BackupHistory::FromText(storage_->Read(kHistoryPath), where);
  } catch (const NotFoundError&) {
    out.history_problem = fmt::format("{} is missing: a backup that vanished from the repository could go unnoticed; "
                                      "the next backup writes it again",
                                      where);
    return out;
  } catch (const Error& e) {
    out.history_problem = fmt::format("{}; the next backup writes it again from the manifests", e.what());
    return out;
  }
  // A committed manifest replaced by another (sealed) one is not its backup.
  std::vector<BackupManifest> kept;
  for (auto& m : out.backups) {
    const HistoryEntry* e = history.Find(m.id);
    if (e && e->manifest_sha256 != sha256_by_id[m.id]) {
      out.unreadable.push_back({m.id, ManifestPath(m.id),
                                fmt::format("{}/{} is not the manifest committed for backup {} (it differs from the "
                                            "one the backup history records)",
                                            Describe(), ManifestPath(m.id), m.id)});
      continue;
    }
    kept.push_back(std::move(m));
  }
  out.backups = std::move(kept);
  // Recorded, and neither readable nor unreadable: vanished.
  std::set<std::string> present;
  for (const auto& m : out.backups) present.insert(m.id);
  for (const auto& u : out.unreadable) present.insert(u.id);
  for (const auto& e : history.backups) {
    if (present.count(e.id)) continue;
    out.unreadable.push_back(
        {e.id, ManifestPath(e.id),
         fmt::format("{}/{} is missing, but the backup history records backup {} (stopped {} at {}): it was removed "
                     "outside pgvault or lost; 'pgvault repo delete-backup {}' accepts the loss",
                     Describe(), ManifestPath(e.id), e.id, e.stop_time, e.stop_lsn, e.id),
         true});
  }
  std::sort(out.unreadable.begin(), out.unreadable.end(),
            [](const UnreadableBackup& a, const UnreadableBackup& b) { return a.id < b.id; });
  return out;
}

BackupListing Repository::ListManifests(std::map<std::string, std::string>* sha256_by_id) {
  BackupListing out;
  const std::string prefix = "backups/", suffix = std::string("/") + kManifestName;
  for (const auto& object : storage_->List("backups")) {
    if (!object.path.ends_with(suffix)) continue;
    std::string id = object.path.substr(prefix.size(), object.path.size() - prefix.size() - suffix.size());
    try {
      out.backups.push_back(ReadManifest(id, sha256_by_id ? &(*sha256_by_id)[id] : nullptr));
    } catch (const NotFoundError&) {
      // Deleted (delete-backup) since the listing: no longer a backup.
    } catch (const Error& e) {  // damage, a newer version, or an I/O error: this backup only
      out.unreadable.push_back({id, object.path, e.what()});
    } catch (const std::exception& e) {
      // A parse slip that FromJson does not turn into an IntegrityError (say a
      // bare std::stoull) must still cost this backup only.
      out.unreadable.push_back(
          {id, object.path, fmt::format("{}/{} is damaged: {}", Describe(), object.path, e.what())});
    }
  }
  std::sort(out.backups.begin(), out.backups.end(), [](const BackupManifest& a, const BackupManifest& b) {
    return a.start_time != b.start_time ? a.start_time < b.start_time : a.id < b.id;
  });
  std::sort(out.unreadable.begin(), out.unreadable.end(),
            [](const UnreadableBackup& a, const UnreadableBackup& b) { return a.id < b.id; });
  return out;
}

BackupManifest Repository::LoadBackup(const std::string& id_or_latest) {
  if (id_or_latest.empty() || id_or_latest == "latest") {
    BackupListing listing = ListBackups();
    // Falling back to an older backup without a word could restore a state
    // much older than the user expects: only a backup that provably started
    // before the newest readable one may be skipped.
    for (const auto& u : listing.unreadable) {
      if (!listing.backups.empty() && StartedBefore(u.id, listing.backups.back())) continue;
      std::string readable;
      for (const auto& m : listing.backups) readable += (readable.empty() ? "" : ", ") + m.id;
      throw Error(fmt::format("the latest backup in {} may be {}, whose manifest cannot be read ({}); pass --backup "
                              "ID explicitly to use an older backup (readable: {})",
                              Describe(), u.id, u.error, readable.empty() ? "none" : readable));
    }
    if (listing.backups.empty()) throw Error(fmt::format("repository {} has no backups", Describe()));
    return listing.backups.back();
  }
  try {
    return ReadManifest(id_or_latest);
  } catch (const NotFoundError&) {
    std::string ids;
    for (const auto& m : ListBackups().backups) ids += (ids.empty() ? "" : ", ") + m.id;
    throw Error(fmt::format("backup '{}' does not exist in {} (available: {})", id_or_latest, Describe(),
                            ids.empty() ? "none" : ids));
  }
}

std::vector<FileEntry> Repository::LoadFileList(const BackupManifest& manifest) {
  std::string where = Describe() + "/" + manifest.files_object;
  std::string stored;
  try {
    stored = storage_->Read(manifest.files_object);
  } catch (const NotFoundError&) {
    throw IntegrityError(fmt::format("backup {}: file list {} is missing", manifest.id, where));
  }
  if (DigestHex(Sha256(stored)) != manifest.files_sha256)
    throw IntegrityError(fmt::format("backup {}: file list {} is damaged (checksum mismatch)", manifest.id, where));
  std::vector<FileEntry> files = FileListFromJson(DecodeCompressedJson(stored, where), where);
  // Sizes and chunk lists must agree (section 6.1): restore sizes files from
  // one and fills them from the other.
  for (const auto& f : files) {
    if (f.type != FileType::kFile) continue;
    // (global/pg_control, one chunk whatever the chunk size, agrees: it is
    // 8192 bytes and no chunk is smaller.)
    uint64_t expected = f.size / manifest.chunk_size + (f.size % manifest.chunk_size != 0);
    if (f.chunks.size() != expected)
      throw IntegrityError(fmt::format("backup {}: file list {} is damaged: {} has {} bytes in {} chunks of {}",
                                       manifest.id, where, f.path, f.size, f.chunks.size(), manifest.chunk_size));
  }
  CheckTablespaceEntries(files, manifest, where);
  return files;
}

std::string Repository::NewBackupId(const std::string& time_part) {
  // Nor an id the history still records: a backup whose manifest vanished
  // keeps its id until delete-backup accepts the loss.
  BackupHistory history;
  try {
    history = BackupHistory::FromText(storage_->Read(kHistoryPath), kHistoryPath);
  } catch (const Error&) {
  }
  std::string id = time_part + "F";
  for (int n = 2; storage_->Exists(ManifestPath(id)) || history.Find(id); ++n) id = fmt::format("{}F-{}", time_part, n);
  return id;
}

void Repository::UpdateHistory(const std::function<void(BackupHistory&)>& change) {
  std::string where = Describe() + "/" + kHistoryPath;
  BackupHistory history;
  try {
    history = BackupHistory::FromText(storage_->Read(kHistoryPath), where);
  } catch (const NotFoundError&) {
    spdlog::warn("{} is missing: writing it again from the manifests there are", where);
  } catch (const Error& e) {
    spdlog::warn("{}: writing it again from the manifests there are (what it alone recorded is lost)", e.what());
  }
  // Takes in committed backups it does not record: a commit interrupted
  // before its history update, or a history written again.
  std::map<std::string, std::string> sha256_by_id;
  for (const auto& m : ListManifests(&sha256_by_id).backups)
    if (!history.Find(m.id)) history.Put({m.id, m.start_time, m.stop_time, m.stop_lsn, m.timeline, sha256_by_id[m.id]});
  change(history);
  storage_->Write(kHistoryPath, history.ToText());
}

void Repository::CommitBackup(BackupManifest& manifest, const std::vector<FileEntry>& files) {
  manifest.files_object = "backups/" + manifest.id + "/files.json.zst";
  WriteCompressedJson(*storage_, manifest.files_object, FileListToJson(files), &manifest.files_sha256,
                      &manifest.files_size);
  TestPausePoint("backup-file-list-written");
  // stored_size counts the manifest itself, whose length depends on the digits
  // of stored_size: iterate to the fixed point. The length only grows with the
  // guess, so this ends, in two or three rounds.
  const uint64_t others = manifest.stored_size + manifest.files_size;
  std::string text;
  for (uint64_t guess = 0;; guess = text.size()) {
    manifest.stored_size = others + guess;
    text = manifest.ToJson();
    if (text.size() == guess) break;
  }
  // The commit point: Write() is temp + fsync + rename + fsync(dir).
  storage_->Write(ManifestPath(manifest.id), text);
  spdlog::debug("committed backup {}", manifest.id);
  TestPausePoint("backup-manifest-written");
  // After the commit point: a crash before this leaves a committed backup the
  // history does not record yet, which the next history write takes in.
  std::string sha256 = DigestHex(Sha256(text));
  UpdateHistory([&](BackupHistory& history) {
    history.Put({manifest.id, manifest.start_time, manifest.stop_time, manifest.stop_lsn, manifest.timeline, sha256});
  });
}

}  // namespace pgvault
