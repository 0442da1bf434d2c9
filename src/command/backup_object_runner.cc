#include "command/backup_object_runner.h"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/backup_objects.h"
#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/backup_target.h"
#include "cluster/cluster_config_source.h"
#include "command/backup_command.h"
#include "command/snapshot_backup_command.h"
#include "core/error.h"
#include "core/interruption.h"
#include "core/process_identity.h"
#include "core/timestamp.h"

namespace pgvault {
namespace {

using nlohmann::json;

std::string Now() { return FormatTimestamp(std::chrono::system_clock::now()); }

json RunRepositoryBackup(Catalog& catalog, const ClusterSpec& cluster, json backup,
                         const std::string& state_dir) {
  std::string name = backup["metadata"]["name"];
  auto save = [&] { catalog.SaveBackup(backup); };
  UniqueFd lock = LockClusterBackups(state_dir, cluster.name);
  std::string target = backup["spec"].value("target", cluster.backup.target);
  BackupTargetChoice choice = SelectBackupInstance(cluster, catalog, target);
  const InstanceSpec& instance = cluster.Instance(choice.instance);
  auto& st = backup["status"];
  st["startedAt"] = Now();
  st["method"] = "barmanObjectStore";
  st["online"] = true;
  st["target"] = target;
  st["instanceID"] = {{"podName", instance.name}};
  st["targetReason"] = choice.reason;
  st["repository"] = cluster.repository;
  save();
  catalog.AddEvent("Backup", name, "Normal", "BackupStarted",
                   fmt::format("Backup started on instance {} into {} ({})", instance.name, cluster.repository,
                               choice.reason));
  BackupOptions options;
  options.repo = cluster.repository;
  options.pgdata = instance.pgdata;
  options.conninfo = instance.conninfo;
  options.progress = false;
  options.label = "pgvault " + name;
  options.on_phase = [&](const std::string& phase) {
    st["phase"] = phase;
    save();
  };
  cluster.UseRepositoryCredentials();
  BackupManifest m = RunBackup(options);
  st["phase"] = "completed";
  st["stoppedAt"] = Now();
  st["backupId"] = m.id;
  st["backupName"] = name;
  st["beginWal"] = m.start_wal;
  st["endWal"] = m.stop_wal;
  st["beginLSN"] = m.start_lsn;
  st["endLSN"] = m.stop_lsn;
  st["timeline"] = m.timeline;
  st["backupStartTime"] = m.start_time;
  st["backupEndTime"] = m.stop_time;
  st["size"] = m.size;
  st["storedSize"] = m.stored_size;
  st["durationSeconds"] = m.duration_seconds;
  st["majorVersion"] = std::to_string(m.pg_version / 10000);
  if (!m.warnings.empty()) {
    std::string all;
    for (const auto& w : m.warnings) all += (all.empty() ? "" : "; ") + w;
    st["warning"] = all;
  }
  save();
  catalog.AddEvent("Backup", name, "Normal", "BackupCompleted",
                   fmt::format("Backup {} completed: {} bytes from instance {}", m.id, m.size, instance.name));
  return backup;
}

}  // namespace

json RunBackupObject(const BackupObjectRunOptions& o) {
  auto catalog = Catalog::Open(o.state_dir);
  FailAbandonedBackups(*catalog);
  auto backup = catalog->LoadBackup(o.name);
  if (!backup) throw Error(fmt::format("no backup named {} in {} (pgvault get backup)", o.name, catalog->path()));
  std::string phase = (*backup)["status"].value("phase", "pending");
  if (phase != "pending")
    throw Error(fmt::format("backup {} is {}, not pending: only a pending backup can be run", o.name, phase));
  ProcessIdentity me = CurrentProcess();
  if (!catalog->ClaimBackup(o.name, {{"host", me.host}, {"pid", me.pid}, {"startTicks", me.start_ticks}}))
    throw Error(fmt::format("backup {} was taken by another process just now (pgvault get backup {})", o.name, o.name));
  catalog->AddEvent("Backup", o.name, "Normal", "Claimed", fmt::format("Taken by pgvault pid {} on {}", me.pid, me.host));
  try {
    backup = catalog->LoadBackup(o.name);
    const json& spec = (*backup)["spec"];
    std::string method = spec.value("method", "barmanObjectStore");
    ClusterConfig config = ResolveClusterConfig(o.config_path, *catalog);
    const ClusterSpec& cluster = config.Cluster(spec["cluster"].value("name", ""));
    if (method == "volumeSnapshot") {
      // A cold backup must unfence its instance on SIGTERM (a deadline, the
      // controller's death): signals become interruptions at safe points.
      InstallInterruptHandlers();
      SnapshotBackupOptions so;
      so.config_path = o.config_path;
      so.state_dir = o.state_dir;
      so.cluster = cluster.name;
      so.name = o.name;
      so.adopt = true;
      if (spec.contains("target")) so.target = spec["target"];
      if (spec.contains("online")) so.online = spec["online"].get<bool>();
      if (auto c = spec.find("onlineConfiguration"); c != spec.end()) {
        if (c->contains("waitForArchive")) so.wait_for_archive = (*c)["waitForArchive"].get<bool>();
        if (c->contains("immediateCheckpoint")) so.immediate_checkpoint = (*c)["immediateCheckpoint"].get<bool>();
      }
      return RunSnapshotBackup(so);
    }
    if (!IsRepositoryMethod(method)) throw Error(fmt::format("method {} is not supported", method));
    if (cluster.repository.empty())
      throw Error(fmt::format("cluster {} has no spec.repository to back up into", cluster.name));
    return RunRepositoryBackup(*catalog, cluster, *backup, o.state_dir);
  } catch (const std::exception& e) {
    FailBackup(*catalog, o.name, e.what());
    throw;
  }
}

}  // namespace pgvault
