// btrfs: a snapshot is a read-only subvolume snapshot (BTRFS_IOC_SNAP_CREATE_V2),
// taken atomically by the filesystem, in constant time. The volume must be a
// subvolume itself. Clones are writable snapshots of the snapshot when the
// target is on the same filesystem, else reflink/full copies.
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "core/unique_fd.h"
#include "snapshot/snapshot_driver.h"
#include "snapshot/tree_clone.h"

namespace pgvault {
namespace {

// The root directory of every btrfs subvolume has this inode number.
constexpr ino_t kSubvolumeRootInode = 256;

bool OnBtrfs(const std::string& path) {
  struct statfs fs;
  return ::statfs(path.c_str(), &fs) == 0 && static_cast<unsigned long>(fs.f_type) == BTRFS_SUPER_MAGIC;
}

bool IsSubvolume(const std::string& path) {
  struct stat st;
  return OnBtrfs(path) && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == kSubvolumeRootInode;
}

UniqueFd OpenDirectory(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) throw Error(fmt::format("cannot open directory {}: {}", path, ErrnoText(errno)));
  return fd;
}

void Snapshot(const std::string& source, const std::string& dest, bool read_only) {
  std::filesystem::path d(dest);
  std::string parent = d.parent_path().string(), leaf = d.filename().string();
  if (leaf.size() >= BTRFS_SUBVOL_NAME_MAX) throw Error(fmt::format("snapshot name {} is too long", leaf));
  UniqueFd src = OpenDirectory(source);
  UniqueFd dir = OpenDirectory(parent);
  struct btrfs_ioctl_vol_args_v2 args;
  std::memset(&args, 0, sizeof args);
  args.fd = src.get();
  args.flags = read_only ? BTRFS_SUBVOL_RDONLY : 0;
  std::strncpy(args.name, leaf.c_str(), BTRFS_SUBVOL_NAME_MAX);
  if (::ioctl(dir.get(), BTRFS_IOC_SNAP_CREATE_V2, &args) != 0) {
    int err = errno;
    throw Error(fmt::format("btrfs snapshot of {} as {} failed: {}{}", source, dest, ErrnoText(err),
                            err == EXDEV ? " (the snapshot must be on the same btrfs filesystem as the volume)"
                            : err == EPERM || err == EACCES
                                ? " (run as root or as the owner of the subvolume, with write access to the "
                                  "snapshot directory)"
                                : ""));
  }
}

class BtrfsDriver : public SnapshotDriver {
 public:
  std::string name() const override { return "btrfs"; }
  bool atomic() const override { return true; }

  void CheckVolume(const std::string& volume) const override {
    if (!OnBtrfs(volume))
      throw Error(fmt::format("{} is not on a btrfs filesystem: the btrfs snapshot class needs it to be a btrfs "
                              "subvolume (or use a reflink class on XFS)",
                              volume));
    if (!IsSubvolume(volume))
      throw Error(fmt::format("{} is a plain directory, not a btrfs subvolume: only subvolumes can be snapshotted. "
                              "Make it one (btrfs subvolume create, then move the data in while PostgreSQL is stopped)",
                              volume));
  }

  void Create(const std::string& volume, const std::string& snapshot_path) override {
    CheckVolume(volume);
    Snapshot(volume, snapshot_path, true);
  }

  std::string Clone(const std::string& snapshot_path, const std::string& target) override {
    std::string parent = std::filesystem::path(target).parent_path().string();
    if (OnBtrfs(parent)) {
      // A writable snapshot of the snapshot, when both are on one filesystem
      // (subvolumes each have their own st_dev, so just try).
      if (::rmdir(target.c_str()) != 0 && errno != ENOENT)
        throw Error(fmt::format("cannot replace {} with a snapshot: {}", target, ErrnoText(errno)));
      try {
        Snapshot(snapshot_path, target, false);
        return "btrfs snapshot";
      } catch (const Error& e) {
        spdlog::info("{}; copying instead", e.what());
      }
    }
    return CloneTree(snapshot_path, target, TreeCloneOptions{.allow_copy = true, .source_in_use = false});
  }

  void Delete(const std::string& snapshot_path) override {
    if (!IsSubvolume(snapshot_path)) {
      if (::access(snapshot_path.c_str(), F_OK) != 0) return;  // already gone
      RemoveTree(snapshot_path);
      return;
    }
    UniqueFd snap = OpenDirectory(snapshot_path);
    uint64_t flags = 0;  // make it writable first: a read-only subvolume cannot be destroyed by its owner
    ::ioctl(snap.get(), BTRFS_IOC_SUBVOL_SETFLAGS, &flags);
    snap.Reset();
    std::filesystem::path p(snapshot_path);
    UniqueFd dir = OpenDirectory(p.parent_path().string());
    struct btrfs_ioctl_vol_args args;
    std::memset(&args, 0, sizeof args);
    std::strncpy(args.name, p.filename().c_str(), BTRFS_PATH_NAME_MAX);
    if (::ioctl(dir.get(), BTRFS_IOC_SNAP_DESTROY, &args) != 0)
      throw Error(fmt::format("cannot delete btrfs snapshot {}: {}{}", snapshot_path, ErrnoText(errno),
                              errno == EPERM ? " (as a non-root user, mount with user_subvol_rm_allowed)" : ""));
  }
};

}  // namespace

std::unique_ptr<SnapshotDriver> MakeBtrfsDriver() { return std::make_unique<BtrfsDriver>(); }

}  // namespace pgvault
