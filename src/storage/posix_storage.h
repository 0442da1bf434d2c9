// Storage on a local (or mounted) POSIX directory.
#pragma once

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
  std::string root_;
};

}  // namespace pgvault
