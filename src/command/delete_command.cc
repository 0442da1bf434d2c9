#include "command/delete_command.h"

#include <fmt/format.h>

#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "command/delete_backup_command.h"
#include "command/get_command.h"
#include "core/error.h"

namespace pgvault {

std::string RunDelete(const DeleteOptions& o) {
  std::string kind = CanonicalKind(o.kind);
  if (kind == "backup") return RunDeleteBackup({o.state_dir, o.name});
  if (kind == "volumesnapshot")
    throw UsageError("volume snapshots are deleted with their backup: pgvault delete backup NAME");
  auto catalog = Catalog::Open(o.state_dir);
  Catalog::Transaction t(*catalog);
  std::string stored_kind = kind == "scheduledbackup" ? "ScheduledBackup"
                            : kind == "cluster"       ? "Cluster"
                                                      : "VolumeSnapshotClass";
  if (!catalog->LoadResource(stored_kind, o.name))
    throw Error(fmt::format("{} '{}' is not applied (pgvault get {})", kind, o.name, kind));
  if (kind == "cluster") {
    for (const auto& s : catalog->ListResources("ScheduledBackup"))
      if (s.object["spec"]["cluster"].value("name", "") == o.name)
        throw Error(fmt::format("scheduledbackup {} backs up cluster {}: delete it first (pgvault delete "
                                "scheduledbackup {})",
                                s.name, o.name, s.name));
    FailAbandonedBackups(*catalog);
    for (const auto& b : catalog->ListBackups())
      if (b["spec"]["cluster"].value("name", "") == o.name && !BackupPhaseTerminal(b["status"].value("phase", "")))
        throw Error(fmt::format("backup {} of cluster {} is {}: wait for it to end, or delete it", b["metadata"].value("name", ""),
                                o.name, b["status"].value("phase", "")));
  }
  catalog->DeleteResource(stored_kind, o.name);
  if (kind == "volumesnapshotclass") {
    // The clusters left must still resolve their classes.
    try {
      AppliedClusterConfig(*catalog);
    } catch (const Error& e) {
      throw Error(fmt::format("volumesnapshotclass {} is still needed: {}", o.name, e.what()));
    }
  }
  catalog->AddEvent(stored_kind, o.name, "Normal", "Deleted", fmt::format("{} deleted", stored_kind));
  t.Commit();
  std::string group = kind == "volumesnapshotclass" ? "snapshot.storage.k8s.io"
                      : kind == "cluster"           ? "pgvault.io"
                                                    : "postgresql.cnpg.io";
  return fmt::format("{}.{} \"{}\" deleted\n", kind, group, o.name);
}

}  // namespace pgvault
