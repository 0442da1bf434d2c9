// `backup`: a repository backup of one server or of a cluster's target
// instance, or a volume-snapshot backup of a cluster (--method volumeSnapshot).
#include "cli/command_groups.h"

#include "catalog/catalog.h"
#include "cluster/backup_target.h"
#include "cluster/cluster_config_source.h"
#include "command/backup_command.h"
#include "command/list_command.h"
#include "command/snapshot_backup_command.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "core/interruption.h"
#include "core/timestamp.h"

namespace pgvault::cli {
namespace {

using nlohmann::json;

class BackupCli : public CommandGroup {
 public:
  void Register(CLI::App& app) override;
  std::optional<int> RunParsed(const GlobalOptions& global) override;

 private:
  BackupOptions backup;
  bool backup_json = false;
  std::string checkpoint = "fast";
  CLI::App* backup_cmd = nullptr;
  SnapshotBackupOptions snap_backup;
  std::string backup_method, backup_online;
};

void BackupCli::Register(CLI::App& app) {
  // backup
  backup_cmd = app.add_subcommand(
      "backup", "Take a base backup: into a repository (hot, of one server or of a cluster's target instance), or as "
                "volume snapshots of a cluster's target instance (--method volumeSnapshot, hot or cold)");
  AddOptionalRepoOption(backup_cmd, backup.repo);
  backup_cmd->add_option("--pgdata", backup.pgdata, "Data directory of the server (read directly)");
  backup_cmd->add_option("--pg", backup.conninfo, "libpq connection string to the same server");
  backup_cmd->add_option("--cluster", snap_backup.cluster, "Back up this cluster of the --config file")
      ->group("Cluster backups (--config)");
  backup_cmd->add_option("--method", backup_method, "volumeSnapshot, or repository (default; alias barmanObjectStore)")
      ->check(CLI::IsMember({"volumeSnapshot", "repository", "barmanObjectStore"}))
      ->group("Cluster backups (--config)");
  backup_cmd->add_option("--target", snap_backup.target,
                         "primary or prefer-standby (default: the cluster's spec.backup.target)")
      ->check(CLI::IsMember({"primary", "prefer-standby"}))
      ->group("Cluster backups (--config)");
  backup_cmd->add_option("--online", backup_online,
                         "volumeSnapshot: true (hot, default from the cluster) or false (cold: the target is fenced)")
      ->group("Cluster backups (--config)");
  backup_cmd->add_option("--name", snap_backup.name, "volumeSnapshot: backup name (default <cluster>-<YYYYMMDDhhmmss>)")
      ->group("Cluster backups (--config)");
  backup_cmd->add_flag("--fence-primary", snap_backup.fence_primary,
                       "Allow a cold backup to stop the primary (downtime) when it is the target")
      ->group("Cluster backups (--config)");
  backup_cmd->add_option("--compress", backup.compress, "zstd (default), lz4 or none")
      ->check(CLI::IsMember({"zstd", "lz4", "none"}));
  backup_cmd->add_option("--compress-level", backup.compress_level, "Compression level (zstd: default 1)");
  backup_cmd->add_option("--jobs,-j", backup.jobs, "Parallel workers (default: number of cores)")
      ->check(CLI::Range(1, 256));
  backup_cmd->add_option("--checkpoint", checkpoint, "fast (default) or spread checkpoint at backup start")
      ->check(CLI::IsMember({"fast", "spread"}));
  backup_cmd->add_option("--label", backup.label, "Backup label passed to pg_backup_start");
  backup_cmd->add_flag("--json", backup_json, "Print the result as a JSON object");
  backup_cmd->add_flag("--wait-for-archive,!--no-wait-for-archive", backup.wait_for_archive,
                       "With WAL archiving in use, wait until the backup's last segment is archived (default on)");
  backup_cmd->add_option("--archive-timeout", backup.archive_timeout_seconds,
                         "Seconds to wait for that segment (default 60)")
      ->check(CLI::Range(1, 86400));
  backup_cmd
      ->add_option("--reuse-check", backup.reuse_check,
                   "How a chunk the repository already has is proven before it is reused: read (its stored bytes "
                   "are read back and hashed), pack (its pack exists and lists it), auto (default: read for "
                   "directories, pack for object stores)")
      ->check(CLI::IsMember({"auto", "pack", "read"}));
}

std::optional<int> BackupCli::RunParsed(const GlobalOptions& global) {
  bool progress = !global.no_progress;
  const std::string& config_path = global.config_path;
  const std::string& state_dir = global.state_dir;
  if (backup_cmd->parsed() && backup_method == "volumeSnapshot") {
    // Only commands that must undo what they did (unfence) catch signals;
    // every other command keeps the default: a signal ends it at once.
    InstallInterruptHandlers();
    snap_backup.config_path = config_path;
    snap_backup.state_dir = state_dir;
    snap_backup.online = ParseBoolOption("--online", backup_online);
    if (backup_cmd->get_option("--checkpoint")->count() > 0) snap_backup.immediate_checkpoint = checkpoint == "fast";
    if (backup_cmd->get_option("--wait-for-archive")->count() > 0 ||
        backup_cmd->get_option("--no-wait-for-archive")->count() > 0)
      snap_backup.wait_for_archive = backup.wait_for_archive;
    snap_backup.archive_timeout_seconds = backup.archive_timeout_seconds;
    json b = RunSnapshotBackup(snap_backup);
    if (backup_json) {
      std::cout << b.dump(2) << "\n";
    } else {
      const auto& st = b["status"];
      std::string elements;
      for (const auto& e : st["snapshotBackupStatus"]["elements"])
        elements += (elements.empty() ? "" : ", ") + e["name"].get<std::string>();
      std::cout << fmt::format("backup {} completed: {} volume snapshot of instance {} ({}), WAL {} .. {}; snapshots: "
                               "{}{}\n",
                               b["metadata"]["name"].get<std::string>(),
                               st.value("online", true) ? "online" : "offline",
                               st["instanceID"]["podName"].get<std::string>(), st.value("targetReason", ""),
                               st.value("beginLSN", ""), st.value("endLSN", ""), elements,
                               st.value("online", true)
                                   ? std::string()
                                   : fmt::format("; instance fenced for {}", FormatDuration(st.value("fenceSeconds", 0.0))));
      if (st.contains("warning")) std::fprintf(stderr, "pgvault: warning: %s\n", st["warning"].get<std::string>().c_str());
    }
    return 0;
  }
  if (backup_cmd->parsed()) {
    if (!backup_online.empty() || !snap_backup.name.empty() || snap_backup.fence_primary)
      throw UsageError("--online, --name and --fence-primary are for --method volumeSnapshot");
    if (!snap_backup.cluster.empty() || (backup.pgdata.empty() && !config_path.empty())) {
      // A repository backup of the cluster's target instance.
      if (!backup.pgdata.empty() || !backup.conninfo.empty())
        throw UsageError("--cluster picks the instance itself: drop --pgdata and --pg");
      auto catalog = Catalog::Open(state_dir);
      ClusterConfig config = ResolveClusterConfig(config_path, *catalog);
      const ClusterSpec& cluster = config.Cluster(snap_backup.cluster);
      BackupTargetChoice choice = SelectBackupInstance(
          cluster, *catalog, snap_backup.target.empty() ? cluster.backup.target : snap_backup.target);
      const InstanceSpec& instance = cluster.Instance(choice.instance);
      spdlog::info("{}", choice.reason);
      backup.pgdata = instance.pgdata;
      backup.conninfo = instance.conninfo;
      if (backup.repo.empty()) backup.repo = cluster.repository;
      if (backup.repo == cluster.repository) cluster.UseRepositoryCredentials();
      if (backup.repo.empty())
        throw UsageError(fmt::format("cluster {} has no spec.repository: set it or pass --repo", cluster.name));
    } else if (!snap_backup.target.empty()) {
      throw UsageError("--target chooses among a cluster's instances: give --config and --cluster");
    }
    if (backup.repo.empty()) throw UsageError("--repo is required (or PGVAULT_REPO, or --cluster with --config)");
    if (backup.pgdata.empty() || backup.conninfo.empty())
      throw UsageError("--pgdata and --pg are required (or --cluster with --config)");
    backup.fast_checkpoint = checkpoint == "fast";
    backup.progress = progress && !backup_json;
    BackupManifest m = RunBackup(backup);
    for (const auto& w : m.warnings) std::fprintf(stderr, "pgvault: warning: %s\n", w.c_str());
    if (backup_json) {
      std::cout << BackupSummaryJson(m).dump(2) << "\n";
    } else {
      std::cout << fmt::format("backup {} {}: {} from {} ({}), WAL {} .. {}, {} in {} ({}/s), {} new in the "
                               "repository\n",
                               m.id, m.status == "complete" ? "completed" : "completed with warnings", m.backup_from,
                               m.source_host, m.source_pgdata, m.start_lsn, m.stop_lsn, FormatBytes(m.size),
                               FormatDuration(m.duration_seconds),
                               FormatBytes(m.duration_seconds > 0 ? static_cast<uint64_t>(m.size / m.duration_seconds) : 0),
                               FormatBytes(m.stored_size));
    }
    return 0;
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<CommandGroup> MakeBackupCli() { return std::make_unique<BackupCli>(); }

}  // namespace pgvault::cli
