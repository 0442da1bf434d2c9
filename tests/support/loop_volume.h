// Real filesystems for snapshot tests: a sparse image file on a loop device,
// formatted btrfs or XFS (reflink=1) and mounted. Root only: tests call
// SnapshotTestsUnavailable() first and skip, visibly, when it says why not.
// Declare a LoopVolume after the TempDir holding it and before the servers
// living on it, so that servers stop before it is unmounted, and it is
// unmounted before the TempDir is removed.
#pragma once

#include <memory>
#include <string>

namespace pgvault::test {

// "" when loop devices, mkfs.btrfs and mkfs.xfs can be used here; else why not.
std::string SnapshotTestsUnavailable();

// First line of a snapshot test: skips it, visibly, where it cannot run.
#define SKIP_UNLESS_SNAPSHOTS()                                                  \
  do {                                                                           \
    std::string why = ::pgvault::test::SnapshotTestsUnavailable();              \
    if (!why.empty()) GTEST_SKIP() << "SKIPPED (volume snapshot tests): " << why; \
  } while (0)

class LoopVolume {
 public:
  // `fs_type`: "btrfs" or "xfs". The image is sparse: `size` is an upper bound.
  static std::unique_ptr<LoopVolume> Create(const std::string& fs_type, const std::string& image,
                                            const std::string& mount_point, const std::string& size = "4G");
  ~LoopVolume();
  LoopVolume(const LoopVolume&) = delete;
  LoopVolume& operator=(const LoopVolume&) = delete;

  const std::string& mount_point() const { return mount_point_; }
  // A btrfs subvolume (or, on XFS, a directory) under the mount point, owned by postgres.
  std::string CreateVolume(const std::string& name);
  // A plain directory under the mount point, owned by postgres.
  std::string CreateDirectory(const std::string& name);

 private:
  LoopVolume() = default;
  std::string fs_type_, image_, mount_point_, device_;
};

}  // namespace pgvault::test
