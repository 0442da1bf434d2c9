#include "support/loop_volume.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace pgvault::test {

std::string SnapshotTestsUnavailable() {
  if (!RunningAsRoot()) return "snapshot tests need root (loop devices, mkfs, mount); run the tests as root";
  if (::access("/dev/loop-control", F_OK) != 0) return "no /dev/loop-control: this kernel has no loop devices";
  for (const char* tool : {"/usr/sbin/mkfs.btrfs", "/usr/sbin/mkfs.xfs", "/usr/bin/btrfs"})
    if (::access(tool, X_OK) != 0)
      return std::string(tool) + " is missing: install btrfs-progs and xfsprogs (scripts/setup does)";
  return "";
}

std::unique_ptr<LoopVolume> LoopVolume::Create(const std::string& fs_type, const std::string& image,
                                               const std::string& mount_point, const std::string& size) {
  std::unique_ptr<LoopVolume> v(new LoopVolume());
  v->fs_type_ = fs_type;
  v->image_ = image;
  v->mount_point_ = mount_point;
  RunOk({"truncate", "-s", size, image});
  v->device_ = RunOk({"losetup", "--find", "--show", image});
  while (!v->device_.empty() && v->device_.back() == '\n') v->device_.pop_back();
  if (fs_type == "btrfs")
    RunOk({"mkfs.btrfs", "-q", "-f", v->device_});
  else
    RunOk({"mkfs.xfs", "-q", "-f", "-m", "reflink=1", v->device_});
  std::filesystem::create_directories(mount_point);
  RunOk({"mount", "-o", fs_type == "btrfs" ? "noatime,user_subvol_rm_allowed" : "noatime", v->device_, mount_point});
  ChownToPostgres(mount_point);
  return v;
}

LoopVolume::~LoopVolume() {
  if (!mount_point_.empty()) {
    if (Run({"umount", mount_point_}).exit_code != 0) Run({"umount", "-l", mount_point_});
  }
  if (!device_.empty()) Run({"losetup", "-d", device_});
  if (!image_.empty()) ::unlink(image_.c_str());
}

std::string LoopVolume::CreateVolume(const std::string& name) {
  std::string path = mount_point_ + "/" + name;
  if (fs_type_ == "btrfs")
    RunOk({"btrfs", "subvolume", "create", path});
  else
    std::filesystem::create_directories(path);
  ChownToPostgres(path);
  ::chmod(path.c_str(), 0700);
  return path;
}

std::string LoopVolume::CreateDirectory(const std::string& name) {
  std::string path = mount_point_ + "/" + name;
  std::filesystem::create_directories(path);
  ChownToPostgres(path);
  return path;
}

}  // namespace pgvault::test
