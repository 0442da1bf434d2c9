// A snapshot driver cuts a point-in-time copy of one volume (a directory
// tree: PGDATA, a WAL directory, a tablespace) and makes writable clones of
// it for restores. Like the storage interface for repositories, this is the
// one seam between pgvault and where snapshots live: the backup and restore
// commands never know which driver they use.
//
// Drivers here: btrfs (subvolume snapshots: atomic, instant) and reflink
// (FICLONE clone of every file, on XFS or btrfs: cheap but not atomic, so only
// for a stopped instance or between pg_backup_start and pg_backup_stop).
// lvm, zfs and csi fit the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace pgvault {

class SnapshotDriver {
 public:
  virtual ~SnapshotDriver() = default;
  virtual std::string name() const = 0;
  // True when Create() captures the whole volume at one instant
  // (crash-consistent even while PostgreSQL writes).
  virtual bool atomic() const = 0;
  // Throws an Error that says what to change when `volume` cannot be
  // snapshotted by this driver (wrong filesystem, not a subvolume, ...).
  virtual void CheckVolume(const std::string& volume) const = 0;
  // Throws unless snapshots of `volume` can be made in `snapshot_directory`
  // (btrfs and reflink: on the same filesystem). Called before any instance
  // is stopped.
  virtual void CheckSnapshotDirectory(const std::string& volume, const std::string& snapshot_directory) const;
  // Creates the snapshot of `volume` at `snapshot_path` (which must not
  // exist; its parent must, on the same filesystem). Read-only where the
  // filesystem supports it.
  virtual void Create(const std::string& volume, const std::string& snapshot_path) = 0;
  // A writable copy of the snapshot at `target` (absent or an empty
  // directory). Returns how it was made: "btrfs snapshot", "reflink" or
  // "copy" (another filesystem: a full copy).
  virtual std::string Clone(const std::string& snapshot_path, const std::string& target) = 0;
  // Removes the snapshot.
  virtual void Delete(const std::string& snapshot_path) = 0;
};

// Whether two paths are on one filesystem (btrfs: the same filesystem UUID,
// whatever the subvolume; others: the same device).
bool SameFilesystem(const std::string& a, const std::string& b);

// "btrfs" or "reflink"; an Error for anything else.
std::unique_ptr<SnapshotDriver> MakeSnapshotDriver(const std::string& driver);

// Removes a directory a Clone() made, whichever way it was made (a writable
// btrfs snapshot, or a plain tree of reflinks or copies).
void RemoveClone(const std::string& path);

// Apparent size in bytes of the files under `path` (RESTORESIZE).
uint64_t TreeSize(const std::string& path);

}  // namespace pgvault
