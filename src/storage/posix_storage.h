// Storage on a local (or mounted) POSIX directory.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/unique_fd.h"
#include "storage/storage.h"

namespace pgvault {

class PosixStorage : public Storage {
 public:
  explicit PosixStorage(std::string root);

  std::string Describe() const override { return root_; }
  bool Exists(const std::string& path) override;
  std::string Read(const std::string& path) override;
  std::string ReadRange(const std::string& path, uint64_t offset, uint64_t length) override;
  uint64_t Size(const std::string& path) override;
  std::unique_ptr<ObjectWriter> Create(const std::string& path) override;
  std::vector<ObjectInfo> List(const std::string& prefix) override;
  void Remove(const std::string& path) override;
  void RemoveObjects(const std::vector<std::string>& paths) override;
  void RemoveEmptyDirectories(const std::string& prefix) override;
  size_t RemoveUncommitted(const std::string& prefix) override;
  size_t RemoveAbandoned(const std::string& prefix, std::chrono::seconds min_age) override;
  std::unique_ptr<StorageLock> Lock(const std::string& name, const std::string& holder_info) override;
  void SetGroupAccess(bool group_access) override;
  void RestrictRoot() override;

  const std::string& root() const { return root_; }
  mode_t file_mode() const { return file_mode_; }
  mode_t directory_mode() const { return directory_mode_; }

  // Makes the directory `dir` (a full path) exist, with its entry durable:
  // each level this creates is followed by an fsync of its parent, and each
  // level inside the root that already existed has its parent fsynced the
  // first time this object uses it (a killed writer may have created it
  // without that fsync). Without this, a crash could lose a new directory and
  // with it objects already reported as committed.
  void EnsureDirectory(const std::string& dir);
  // The same for a directory that was found missing after EnsureDirectory()
  // had seen it (another process removed it empty, see
  // RemoveEmptyDirectories): forgets it and makes it again.
  void EnsureDirectoryAgain(const std::string& dir);

 private:
  std::string FullPath(const std::string& path) const;
  // The modes everything this storage creates gets, set explicitly after
  // creation (mkdir/open only narrow them by the umask): a umask of 000 must
  // not make packs and manifests deletable by any local user.
  mode_t directory_mode_ = 0700;
  mode_t file_mode_ = 0600;
  // Objects never change once committed, so a read descriptor can be kept
  // and shared (pread is position-free): restore and verify read thousands
  // of chunks from the same few packs.
  std::shared_ptr<UniqueFd> ReadDescriptor(const std::string& full_path);
  std::string root_;
  std::mutex fd_cache_mutex_;
  std::unordered_map<std::string, std::shared_ptr<UniqueFd>> fd_cache_;
  // Held while directories are created, so that a writer that finds a
  // directory made by another thread also finds its parent already fsynced.
  std::mutex directories_mutex_;
  std::unordered_set<std::string> durable_directories_;
};

}  // namespace pgvault
