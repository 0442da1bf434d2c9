#include "command/delete_backup_command.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/backup_objects.h"
#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "core/error.h"
#include "core/posix_io.h"
#include "repo/garbage_collector.h"
#include "repo/repository.h"
#include "snapshot/snapshot_driver.h"
#include "snapshot/snapshot_record.h"
#include "storage/storage.h"

namespace pgvault {

int DiscardPlannedSnapshots(Catalog& catalog, const std::string& backup_name) {
  auto backup = catalog.LoadBackup(backup_name);
  if (!backup || (*backup)["status"].value("phase", "") != "failed" ||
      !(*backup)["status"].contains("plannedSnapshots"))
    return 0;
  int removed = 0;
  for (const auto& p : (*backup)["status"]["plannedSnapshots"]) {
    std::string path = p.value("path", ""), name = p.value("name", "");
    if (path.empty() || catalog.LoadSnapshot(name) || ::access(path.c_str(), F_OK) != 0) continue;
    ::unlink(SnapshotRecordPath(path).c_str());
    MakeSnapshotDriver(p.value("driver", ""))->Delete(path);
    ++removed;
  }
  (*backup)["status"].erase("plannedSnapshots");
  catalog.SaveBackup(*backup);
  if (removed)
    catalog.AddEvent("Backup", backup_name, "Normal", "SnapshotsDiscarded",
                     fmt::format("Removed {} snapshot(s) the failed backup left", removed));
  return removed;
}

std::string RunDeleteBackup(const DeleteBackupOptions& o) {
  auto catalog = Catalog::Open(o.state_dir);
  auto backup = catalog->LoadBackup(o.name);
  if (!backup)
    throw Error(fmt::format("no backup named {} in the catalog {} (pgvault get backup lists them)", o.name,
                            catalog->path()));
  FailAbandonedBackups(*catalog);
  backup = catalog->LoadBackup(o.name);
  std::string phase = (*backup)["status"].value("phase", "");
  if (!BackupPhaseTerminal(phase))
    throw Error(fmt::format("backup {} is {} (pgvault pid {} runs it): wait for it to end before deleting it", o.name,
                            phase, (*backup)["status"].value("/owner/pid"_json_pointer, int64_t{0})));
  int deleted = 0, retained = 0;
  auto remove = [&](const std::string& driver, const std::string& path) {
    // The record first: a snapshot without its record is not a backup.
    if (::unlink(SnapshotRecordPath(path).c_str()) != 0 && errno != ENOENT)
      throw Error(fmt::format("cannot remove {}: {}", SnapshotRecordPath(path), ErrnoText(errno)));
    MakeSnapshotDriver(driver)->Delete(path);
  };
  for (const auto& snap : catalog->ListSnapshots()) {
    if (snap["spec"].value("backup", "") != o.name) continue;
    std::string name = snap["metadata"]["name"], path = snap["status"]["path"];
    if (snap["spec"].value("deletionPolicy", "Delete") == "Retain") {
      ++retained;
    } else {
      remove(snap["spec"]["driver"], path);
      ++deleted;
    }
    catalog->DeleteSnapshot(name);
  }
  // A backup that died midway left snapshots without records: its plan names them.
  for (const auto& p : (*backup)["status"].value("plannedSnapshots", nlohmann::json::array())) {
    std::string path = p.value("path", "");
    if (path.empty() || ::access(path.c_str(), F_OK) != 0) continue;
    remove(p.value("driver", ""), path);
    ++deleted;
  }
  // A repository backup goes from the repository too, with the space only
  // it used (under the repository's writer lock: never during a backup).
  std::string repository_note;
  std::string backup_id = (*backup)["status"].value("backupId", "");
  std::string repository = (*backup)["status"].value("repository", "");
  if (IsRepositoryMethod((*backup)["spec"].value("method", "")) && phase == "completed" && !backup_id.empty() &&
      !repository.empty()) {
    try {
      AppliedClusterConfig(*catalog).Cluster((*backup)["spec"]["cluster"].value("name", "")).UseRepositoryCredentials();
    } catch (const std::exception&) {
      // The cluster is gone: the environment's credentials, if any, apply.
    }
    auto repo = Repository::Open(OpenStorage(repository));
    auto lock = repo->LockForWrite("delete backup " + o.name);
    BackupListing listing = repo->ListBackups();
    if (std::any_of(listing.backups.begin(), listing.backups.end(),
                    [&](const BackupManifest& m) { return m.id == backup_id; })) {
      repo->DeleteBackup(backup_id);
      GcReport gc = CollectGarbage(*repo, *lock, {});
      repository_note = fmt::format(", repository backup {} removed from {} ({} bytes reclaimed)", backup_id,
                                    repository, gc.bytes_reclaimed);
    }
  }
  catalog->DeleteBackup(o.name);
  catalog->AddEvent("Backup", o.name, "Normal", "Deleted",
                    fmt::format("Backup deleted: {} snapshot(s) removed, {} retained", deleted, retained));
  return fmt::format("backup {} deleted: {} snapshot(s) removed{}{}\n", o.name, deleted,
                     retained ? fmt::format(", {} kept on disk (deletionPolicy: Retain)", retained) : "",
                     repository_note);
}

}  // namespace pgvault
