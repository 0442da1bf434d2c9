#include "command/delete_backup_command.h"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/catalog.h"
#include "core/error.h"
#include "snapshot/snapshot_driver.h"
#include "snapshot/snapshot_record.h"

namespace pgvault {

std::string RunDeleteBackup(const DeleteBackupOptions& o) {
  auto catalog = Catalog::Open(o.state_dir);
  auto backup = catalog->LoadBackup(o.name);
  if (!backup)
    throw Error(fmt::format("no backup named {} in the catalog {} (pgvault get backup lists them)", o.name,
                            catalog->path()));
  std::string phase = (*backup)["status"].value("phase", "");
  if (phase != "completed" && phase != "failed") {
    // A backup in progress owns its snapshots; refuse unless its process is gone.
    throw Error(fmt::format("backup {} is {}: wait for it to end before deleting it", o.name, phase));
  }
  int deleted = 0, retained = 0;
  for (const auto& snap : catalog->ListSnapshots()) {
    if (snap["spec"].value("backup", "") != o.name) continue;
    std::string name = snap["metadata"]["name"], path = snap["status"]["path"];
    if (snap["spec"].value("deletionPolicy", "Delete") == "Retain") {
      ++retained;
    } else {
      MakeSnapshotDriver(snap["spec"]["driver"])->Delete(path);
      ::unlink(SnapshotRecordPath(path).c_str());
      ++deleted;
    }
    catalog->DeleteSnapshot(name);
  }
  catalog->DeleteBackup(o.name);
  catalog->AddEvent("Backup", o.name, "Normal", "Deleted",
                    fmt::format("Backup deleted: {} snapshot(s) removed, {} retained", deleted, retained));
  return fmt::format("backup {} deleted: {} snapshot(s) removed{}\n", o.name, deleted,
                     retained ? fmt::format(", {} kept on disk (deletionPolicy: Retain)", retained) : "");
}

}  // namespace pgvault
