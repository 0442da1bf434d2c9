#include "repo/repository.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/test_pause.h"
#include "core/timestamp.h"
#include "repo/compressed_json.h"

namespace pgvault {

namespace {
constexpr const char* kConfigPath = "config.json";
constexpr const char* kManifestName = "manifest.json";
// The areas only written while holding the writer lock.
constexpr const char* kLockedPrefixes[] = {"packs", "index", "backups"};
}  // namespace

void Repository::Init(Storage& storage, RepositoryConfig config) {
  if (storage.Exists(kConfigPath))
    throw Error(fmt::format("a pgvault repository already exists at {}", storage.Describe()));
  if (!storage.List("").empty())
    throw Error(fmt::format("{} is not empty and is not a pgvault repository: choose an empty or new directory",
                            storage.Describe()));
  std::random_device rd;
  config.repository_id = fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
  config.created_at = FormatTimestamp(std::chrono::system_clock::now());
  storage.Write(kConfigPath, config.ToJson());
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
  return std::unique_ptr<Repository>(new Repository(std::move(storage), std::move(config)));
}

std::unique_ptr<StorageLock> Repository::LockForWrite(const std::string& command) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string holder = fmt::format("pid {} on {}, '{}' since {}", getpid(), host, command,
                                   FormatTimestamp(std::chrono::system_clock::now()));
  auto lock = storage_->Lock("lock", holder);
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
  if (removed > 0) spdlog::info("removed {} temporary file(s) left by interrupted writes in {}", removed, Describe());
  return lock;
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

std::vector<BackupManifest> Repository::ListBackups() {
  std::vector<BackupManifest> out;
  for (const auto& object : storage_->List("backups")) {
    if (!object.path.ends_with(std::string("/") + kManifestName)) continue;
    out.push_back(BackupManifest::FromJson(storage_->Read(object.path), Describe() + "/" + object.path));
  }
  std::sort(out.begin(), out.end(), [](const BackupManifest& a, const BackupManifest& b) {
    return a.start_time != b.start_time ? a.start_time < b.start_time : a.id < b.id;
  });
  return out;
}

BackupManifest Repository::LoadBackup(const std::string& id_or_latest) {
  if (id_or_latest.empty() || id_or_latest == "latest") {
    auto all = ListBackups();
    if (all.empty()) throw Error(fmt::format("repository {} has no backups", Describe()));
    return all.back();
  }
  std::string path = "backups/" + id_or_latest + "/" + kManifestName;
  try {
    return BackupManifest::FromJson(storage_->Read(path), Describe() + "/" + path);
  } catch (const NotFoundError&) {
    std::string ids;
    for (const auto& m : ListBackups()) ids += (ids.empty() ? "" : ", ") + m.id;
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
  return FileListFromJson(DecodeCompressedJson(stored, where), where);
}

std::string Repository::NewBackupId(const std::string& time_part) {
  std::string id = time_part + "F";
  for (int n = 2; storage_->Exists("backups/" + id + "/" + kManifestName); ++n) id = fmt::format("{}F-{}", time_part, n);
  return id;
}

void Repository::CommitBackup(BackupManifest& manifest, const std::vector<FileEntry>& files) {
  manifest.files_object = "backups/" + manifest.id + "/files.json.zst";
  WriteCompressedJson(*storage_, manifest.files_object, FileListToJson(files), &manifest.files_sha256,
                      &manifest.files_size);
  TestPausePoint("backup-file-list-written");
  std::string text = manifest.ToJson();
  manifest.stored_size += manifest.files_size + text.size();
  text = manifest.ToJson();
  // The commit point: Write() is temp + fsync + rename + fsync(dir).
  storage_->Write("backups/" + manifest.id + "/" + kManifestName, text);
  spdlog::debug("committed backup {}", manifest.id);
}

}  // namespace pgvault
