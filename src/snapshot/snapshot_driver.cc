#include "snapshot/snapshot_driver.h"

#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

std::unique_ptr<SnapshotDriver> MakeBtrfsDriver();
std::unique_ptr<SnapshotDriver> MakeReflinkDriver();

std::unique_ptr<SnapshotDriver> MakeSnapshotDriver(const std::string& driver) {
  if (driver == "btrfs") return MakeBtrfsDriver();
  if (driver == "reflink") return MakeReflinkDriver();
  throw Error(fmt::format("snapshot driver '{}' is not available (available: btrfs, reflink)", driver));
}

uint64_t TreeSize(const std::string& path) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec) && !it->is_symlink(fec)) total += it->file_size(fec);
  }
  return total;
}

}  // namespace pgvault
