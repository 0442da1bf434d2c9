// Storage on a local (or mounted) POSIX directory.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

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
  std::unique_ptr<StorageLock> Lock(const std::string& name, const std::string& holder_info) override;

  const std::string& root() const { return root_; }

 private:
  std::string FullPath(const std::string& path) const;
  // Objects never change once committed, so a read descriptor can be kept
  // and shared (pread is position-free): restore and verify read thousands
  // of chunks from the same few packs.
  std::shared_ptr<UniqueFd> ReadDescriptor(const std::string& full_path);
  std::string root_;
  std::mutex fd_cache_mutex_;
  std::unordered_map<std::string, std::shared_ptr<UniqueFd>> fd_cache_;
};

}  // namespace pgvault
