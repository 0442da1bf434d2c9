#include "snapshot/snapshot_driver.h"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/unique_fd.h"

namespace pgvault {

std::unique_ptr<SnapshotDriver> MakeBtrfsDriver();
std::unique_ptr<SnapshotDriver> MakeReflinkDriver();

std::unique_ptr<SnapshotDriver> MakeSnapshotDriver(const std::string& driver) {
  if (driver == "btrfs") return MakeBtrfsDriver();
  if (driver == "reflink") return MakeReflinkDriver();
  throw Error(fmt::format("snapshot driver '{}' is not available (available: btrfs, reflink)", driver));
}

namespace {

bool BtrfsFsid(const std::string& path, unsigned char (&fsid)[BTRFS_FSID_SIZE]) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return false;
  struct btrfs_ioctl_fs_info_args info;
  std::memset(&info, 0, sizeof info);
  if (::ioctl(fd.get(), BTRFS_IOC_FS_INFO, &info) != 0) return false;
  std::memcpy(fsid, info.fsid, BTRFS_FSID_SIZE);
  return true;
}

}  // namespace

bool SameFilesystem(const std::string& a, const std::string& b) {
  struct statfs fa, fb;
  if (::statfs(a.c_str(), &fa) != 0 || ::statfs(b.c_str(), &fb) != 0) return false;
  if (fa.f_type != fb.f_type) return false;
  if (static_cast<unsigned long>(fa.f_type) == BTRFS_SUPER_MAGIC) {
    unsigned char ia[BTRFS_FSID_SIZE], ib[BTRFS_FSID_SIZE];
    return BtrfsFsid(a, ia) && BtrfsFsid(b, ib) && std::memcmp(ia, ib, BTRFS_FSID_SIZE) == 0;
  }
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev;
}

void SnapshotDriver::CheckSnapshotDirectory(const std::string& volume, const std::string& snapshot_directory) const {
  if (!SameFilesystem(volume, snapshot_directory))
    throw Error(fmt::format("snapshots of {} cannot go to {}: the {} driver needs them on the same filesystem as the "
                            "volume (set the class's snapshotDir parameter to a directory there)",
                            volume, snapshot_directory, name()));
}

void RemoveClone(const std::string& path) {
  // The btrfs driver's Delete removes a subvolume, and a plain tree otherwise.
  MakeBtrfsDriver()->Delete(path);
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
