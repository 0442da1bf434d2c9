// reflink: the snapshot is a FICLONE clone of every file of the volume into a
// directory on the same XFS (reflink=1) or btrfs filesystem. Cloning a file
// costs metadata only, but the volume is walked file by file, so the result is
// NOT one instant: use it on a stopped instance (cold backups) or between
// pg_backup_start and pg_backup_stop (hot backups replay WAL to consistency).
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "snapshot/snapshot_driver.h"
#include "snapshot/tree_clone.h"

namespace pgvault {
namespace {

constexpr unsigned long kXfsMagic = 0x58465342;  // XFS_SUPER_MAGIC, not in linux/magic.h

class ReflinkDriver : public SnapshotDriver {
 public:
  std::string name() const override { return "reflink"; }
  bool atomic() const override { return false; }

  void CheckVolume(const std::string& volume) const override {
    struct statfs fs;
    if (::statfs(volume.c_str(), &fs) != 0) throw Error(fmt::format("cannot use {}: {}", volume, ErrnoText(errno)));
    auto type = static_cast<unsigned long>(fs.f_type);
    if (type != kXfsMagic && type != BTRFS_SUPER_MAGIC)
      throw Error(fmt::format("{} is not on XFS or btrfs: the reflink snapshot class needs a filesystem with "
                              "reflinks (XFS made with -m reflink=1, or btrfs)",
                              volume));
  }

  void Create(const std::string& volume, const std::string& snapshot_path) override {
    CheckVolume(volume);
    if (::access(snapshot_path.c_str(), F_OK) == 0) throw Error(fmt::format("snapshot {} exists already", snapshot_path));
    try {
      CloneTree(volume, snapshot_path, TreeCloneOptions{.allow_copy = false, .source_in_use = true});
    } catch (...) {
      try {
        RemoveTree(snapshot_path);
      } catch (...) {
      }
      throw;
    }
    // Read-only by mode is all a plain directory offers; the clone for a
    // restore is a new tree anyway.
  }

  std::string Clone(const std::string& snapshot_path, const std::string& target) override {
    return CloneTree(snapshot_path, target, TreeCloneOptions{.allow_copy = true, .source_in_use = false});
  }

  void Delete(const std::string& snapshot_path) override { RemoveTree(snapshot_path); }
};

}  // namespace

std::unique_ptr<SnapshotDriver> MakeReflinkDriver() { return std::make_unique<ReflinkDriver>(); }

}  // namespace pgvault
