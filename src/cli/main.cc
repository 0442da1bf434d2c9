// pgvault command line. One subcommand per module in src/command/; this file
// only parses arguments, sets up logging and prints results.
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "command/backup_command.h"
#include "command/check_command.h"
#include "command/delete_backup_command.h"
#include "command/describe_command.h"
#include "command/fence_command.h"
#include "command/get_command.h"
#include "command/snapshot_backup_command.h"
#include "command/snapshot_restore_command.h"
#include "command/status_command.h"
#include "catalog/catalog.h"
#include "cluster/backup_target.h"
#include "cluster/cluster_spec.h"
#include "cluster/instance_status.h"
#include "core/interruption.h"
#include "command/wal_list_command.h"
#include "command/list_command.h"
#include "command/repo_init_command.h"
#include "command/restore_command.h"
#include "command/verify_command.h"
#include "command/wal_fetch_command.h"
#include "command/wal_push_command.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "core/timestamp.h"

using namespace pgvault;
using nlohmann::json;

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
// wal-fetch: any status above 125 makes PostgreSQL's startup process stop
// with FATAL instead of taking the failure for the end of the archive.
constexpr int kExitAbortRecovery = 126;

void AddRepoOption(CLI::App* app, std::string& repo) {
  app->add_option("--repo", repo, "Repository location (a directory); default $PGVAULT_REPO")
      ->envname("PGVAULT_REPO")
      ->required();
}

// For commands that take the repository from the cluster file too.
void AddOptionalRepoOption(CLI::App* app, std::string& repo) {
  app->add_option("--repo", repo, "Repository location (a directory); default $PGVAULT_REPO")->envname("PGVAULT_REPO");
}

std::optional<bool> ParseBoolOption(const std::string& name, const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (value == "true" || value == "on" || value == "yes" || value == "1") return true;
  if (value == "false" || value == "off" || value == "no" || value == "0") return false;
  throw UsageError(fmt::format("{}={}: use true or false", name, value));
}

void SetupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("pgvault");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw CLI::ValidationError("--log-level", "must be one of trace, debug, info, warn, error, off");
  spdlog::set_level(parsed);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pgvault: PostgreSQL backup and disaster recovery", "pgvault"};
  app.require_subcommand(1);
  // Global options are accepted after the command too ("pgvault backup ... --no-progress").
  app.fallthrough();
  app.set_version_flag("--version", std::string("pgvault ") + PGVAULT_VERSION);
  std::string log_level = "warn";
  bool no_progress = false;
  app.add_option("--log-level", log_level, "trace, debug, info, warn (default), error, off")->capture_default_str();
  app.add_flag("--no-progress", no_progress, "Never draw progress on the terminal");
  std::string config_path, state_dir;
  app.add_option("--config", config_path, "Cluster file (YAML: Cluster, VolumeSnapshotClass); default $PGVAULT_CONFIG")
      ->envname("PGVAULT_CONFIG");
  app.add_option("--state-dir", state_dir,
                 "State directory (catalog.db); default $PGVAULT_STATE_DIR, /var/lib/pgvault as root, else "
                 "~/.local/state/pgvault")
      ->envname("PGVAULT_STATE_DIR");
  app.footer("Documentation: docs/commands.md. Exit status: 0 success, 1 failure (including damage found by verify), "
             "2 bad usage.");

  // repo init
  auto* repo_cmd = app.add_subcommand("repo", "Manage repositories");
  repo_cmd->require_subcommand(1);
  RepoInitOptions init;
  auto* init_cmd = repo_cmd->add_subcommand("init", "Create a new, empty repository");
  AddRepoOption(init_cmd, init.repo);
  init_cmd->add_option("--chunk-size", init.chunk_size, "Chunk size in bytes (default 1 MiB)");
  init_cmd->add_option("--pack-size", init.pack_size, "Target pack file size in bytes (default 64 MiB)");

  // backup
  BackupOptions backup;
  bool backup_json = false;
  std::string checkpoint = "fast";
  auto* backup_cmd = app.add_subcommand(
      "backup", "Take a base backup: into a repository (hot, of one server or of a cluster's target instance), or as "
                "volume snapshots of a cluster's target instance (--method volumeSnapshot, hot or cold)");
  AddOptionalRepoOption(backup_cmd, backup.repo);
  backup_cmd->add_option("--pgdata", backup.pgdata, "Data directory of the server (read directly)");
  backup_cmd->add_option("--pg", backup.conninfo, "libpq connection string to the same server");
  SnapshotBackupOptions snap_backup;
  std::string backup_method, backup_online;
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

  // list / info
  std::string list_repo;
  bool list_json = false;
  auto* list_cmd = app.add_subcommand("list", "List the backups in a repository");
  AddRepoOption(list_cmd, list_repo);
  list_cmd->add_flag("--json", list_json, "Print a JSON array");
  std::string info_repo, info_backup;
  bool info_json = false;
  auto* info_cmd = app.add_subcommand("info", "Describe a repository, or one backup with --backup");
  AddRepoOption(info_cmd, info_repo);
  info_cmd->add_option("--backup", info_backup, "Backup id or 'latest'");
  info_cmd->add_flag("--json", info_json, "Print JSON");

  // restore
  RestoreOptions restore;
  bool restore_json = false;
  auto* restore_cmd = app.add_subcommand("restore", "Restore a backup (or a volume snapshot) into a data directory");
  AddOptionalRepoOption(restore_cmd, restore.repo);
  restore_cmd->add_option("--backup", restore.backup, "Backup id or 'latest' (default)");
  restore_cmd->add_option("--target", restore.target, "Directory to restore into (new or empty)")->required();
  restore_cmd->add_flag("--delta", restore.delta, "Reuse files in a non-empty target whose contents match");
  restore_cmd->add_flag("--force", restore.force, "Overwrite a non-empty target");
  restore_cmd->add_option("--jobs,-j", restore.jobs, "Parallel workers (default: twice the number of cores)")
      ->check(CLI::Range(1, 256));
  restore_cmd->add_option("--tablespace-map", restore.tablespace_map,
                          "Restore a tablespace elsewhere: OID=DIR or NAME=DIR (repeatable)");
  restore_cmd->add_flag("--json", restore_json, "Print the result as a JSON object");
  SnapshotRestoreOptions snap_restore;
  restore_cmd->add_option("--from-snapshot", snap_restore.snapshot,
                          "Restore a volume snapshot backup: a snapshot name (or the path of its .json metadata)")
      ->group("Volume snapshots");
  restore_cmd->add_option("--wal-target", snap_restore.wal_target,
                          "Put pg_wal in this directory (a link from TARGET/pg_wal)")
      ->group("Volume snapshots");
  auto& rt = restore.recovery;
  restore_cmd->add_option("--target-time", rt.time, "Recover to this time ('YYYY-MM-DD HH:MM:SS[.ffffff]+TZ')")
      ->group("Point-in-time recovery");
  restore_cmd->add_option("--target-lsn", rt.lsn, "Recover to this WAL location")->group("Point-in-time recovery");
  restore_cmd->add_option("--target-xid", rt.xid, "Recover to the commit of this transaction")
      ->group("Point-in-time recovery");
  restore_cmd->add_option("--target-name", rt.name, "Recover to this restore point (pg_create_restore_point)")
      ->group("Point-in-time recovery");
  restore_cmd->add_flag("--target-immediate", rt.immediate, "Recover only to the end of the backup, then act")
      ->group("Point-in-time recovery");
  restore_cmd->add_option("--target-timeline", rt.timeline, "latest (default), current or a timeline number")
      ->group("Point-in-time recovery");
  restore_cmd->add_flag("--target-exclusive", rt.exclusive, "Stop just before the target instead of just after it")
      ->group("Point-in-time recovery");
  restore_cmd->add_option("--target-action", rt.action, "At the target: promote (default), pause or shutdown")
      ->check(CLI::IsMember({"promote", "pause", "shutdown"}))
      ->group("Point-in-time recovery");
  restore_cmd->add_option("--wal-prefetch", rt.wal_prefetch,
                          "Segments the written restore_command fetches ahead (wal-fetch --prefetch; default 8, 0: off)")
      ->check(CLI::Range(0, 256))
      ->group("Point-in-time recovery");

  // wal-push / wal-fetch
  WalPushOptions wal_push;
  auto* wal_push_cmd = app.add_subcommand(
      "wal-push", "Archive one WAL file (archive_command = 'pgvault wal-push --repo DIR %p')");
  AddRepoOption(wal_push_cmd, wal_push.repo);
  wal_push_cmd->add_option("path", wal_push.path, "The WAL file (%p)")->required();
  wal_push_cmd->add_option("--compress", wal_push.compress, "zstd (default), lz4 or none")
      ->check(CLI::IsMember({"zstd", "lz4", "none"}));
  wal_push_cmd->add_option("--compress-level", wal_push.compress_level, "Compression level (zstd: default 1)");
  wal_push_cmd->add_flag("--async", wal_push.async,
                         "Push ready segments ahead in parallel through a spool; acknowledge each once durable");
  wal_push_cmd->add_option("--spool", wal_push.spool, "Spool directory for --async (default pg_wal/pgvault-spool)");
  wal_push_cmd->add_option("--async-jobs", wal_push.async_jobs, "Parallel pushes for --async (default 4)")
      ->check(CLI::Range(1, 64));
  wal_push_cmd->add_option("--async-queue-max", wal_push.async_queue_max,
                           "Segments pushed ahead and not yet acknowledged, at most (default 64)")
      ->check(CLI::Range(1, 10000));
  WalFetchOptions wal_fetch;
  auto* wal_fetch_cmd = app.add_subcommand(
      "wal-fetch", "Restore one archived WAL file (restore_command = 'pgvault wal-fetch --repo DIR %f %p'); exit 1 "
                   "when it is not archived, 126 on any error so that recovery stops");
  AddRepoOption(wal_fetch_cmd, wal_fetch.repo);
  wal_fetch_cmd->add_option("name", wal_fetch.name, "The WAL file name (%f)")->required();
  wal_fetch_cmd->add_option("destination", wal_fetch.destination, "Where to write it (%p)")->required();
  wal_fetch_cmd->add_option("--prefetch", wal_fetch.prefetch,
                            "Fetch this many following segments ahead, in parallel, into the spool (default 0)")
      ->check(CLI::Range(0, 256));
  wal_fetch_cmd->add_option("--spool", wal_fetch.spool, "Spool directory for --prefetch (default pg_wal/pgvault-spool)");

  // check
  CheckOptions check;
  bool check_json = false;
  auto* check_cmd = app.add_subcommand(
      "check", "Check that the server archives WAL into the repository: settings, then a forced segment switch");
  AddRepoOption(check_cmd, check.repo);
  check_cmd->add_option("--pg", check.conninfo, "libpq connection string to the server")->required();
  check_cmd->add_option("--timeout", check.timeout_seconds, "Seconds to wait for the switched segment (default 60)")
      ->check(CLI::Range(1, 3600));
  check_cmd->add_flag("--json", check_json, "Print JSON");

  // wal list
  auto* wal_cmd = app.add_subcommand("wal", "Inspect the WAL archive");
  wal_cmd->require_subcommand(1);
  std::string wal_list_repo;
  bool wal_list_json = false;
  auto* wal_list_cmd = wal_cmd->add_subcommand("list", "Archived WAL per timeline: ranges and gaps");
  AddRepoOption(wal_list_cmd, wal_list_repo);
  wal_list_cmd->add_flag("--json", wal_list_json, "Print JSON");

  // verify
  VerifyOptions verify;
  bool verify_json = false;
  auto* verify_cmd = app.add_subcommand("verify", "Re-read and check every chunk of one or all backups");
  AddRepoOption(verify_cmd, verify.repo);
  verify_cmd->add_option("--backup", verify.backup, "Backup id or 'latest' (default: all backups)");
  verify_cmd->add_option("--jobs,-j", verify.jobs, "Parallel workers (default: number of cores)")
      ->check(CLI::Range(1, 256));
  verify_cmd->add_flag("--json", verify_json, "Print the result as a JSON object");

  // fence on|off
  FenceOptions fence;
  auto* fence_cmd = app.add_subcommand("fence", "Take an instance out of service (clean stop, recorded) or bring it back");
  fence_cmd->require_subcommand(1);
  auto* fence_on_cmd = fence_cmd->add_subcommand("on", "Fence: stop the instance cleanly and record it as fenced");
  fence_on_cmd->add_option("instance", fence.instance, "Instance name from the cluster file")->required();
  auto* fence_off_cmd =
      fence_cmd->add_subcommand("off", "Unfence: start the instance, wait until it serves (streams), clear the fence");
  fence_off_cmd->add_option("instance", fence.instance, "Instance name from the cluster file")->required();

  // get / describe / status / delete
  GetOptions get;
  auto* get_cmd = app.add_subcommand("get", "List volumesnapshot, volumesnapshotclass or backup objects");
  get_cmd->add_option("kind", get.kind, "volumesnapshot, volumesnapshotclass or backup")->required();
  get_cmd->add_option("name", get.name, "Only this object");
  get_cmd->add_option("-o,--output", get.output, "json, yaml or wide");
  bool get_json = false;
  get_cmd->add_flag("--json", get_json, "Same as -o json");
  DescribeOptions describe;
  auto* describe_cmd = app.add_subcommand("describe", "Show a backup (or an instance) with its events");
  describe_cmd->add_option("kind", describe.kind, "backup or instance")->required();
  describe_cmd->add_option("name", describe.name, "Its name")->required();
  StatusOptions status;
  auto* status_cmd = app.add_subcommand("status", "Instances of the cluster file: role, WAL positions, streaming, fences");
  status_cmd->add_option("--cluster", status.cluster, "Only this cluster");
  status_cmd->add_flag("--json", status.json, "Print JSON");
  DeleteBackupOptions delete_backup;
  auto* delete_cmd = app.add_subcommand("delete", "Delete an object");
  delete_cmd->require_subcommand(1);
  auto* delete_backup_cmd =
      delete_cmd->add_subcommand("backup", "Delete a volume snapshot backup and its snapshots (per deletionPolicy)");
  delete_backup_cmd->add_option("name", delete_backup.name, "Backup name")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  try {
    SetupLogging(log_level);
    bool progress = !no_progress;
    if (state_dir.empty()) state_dir = DefaultStateDirectory();
    if (init_cmd->parsed()) {
      RunRepoInit(init);
      std::printf("initialized pgvault repository at %s\n", init.repo.c_str());
    } else if (backup_cmd->parsed() && backup_method == "volumeSnapshot") {
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
    } else if (backup_cmd->parsed()) {
      if (!backup_online.empty() || !snap_backup.name.empty() || snap_backup.fence_primary)
        throw UsageError("--online, --name and --fence-primary are for --method volumeSnapshot");
      if (!snap_backup.cluster.empty() || (backup.pgdata.empty() && !config_path.empty())) {
        // A repository backup of the cluster's target instance.
        if (!backup.pgdata.empty() || !backup.conninfo.empty())
          throw UsageError("--cluster picks the instance itself: drop --pgdata and --pg");
        ClusterConfig config = LoadClusterConfig(config_path);
        const ClusterSpec& cluster = config.Cluster(snap_backup.cluster);
        auto catalog = Catalog::Open(state_dir);
        auto statuses = ProbeCluster(cluster);
        for (auto& st : statuses)
          if (catalog->LoadFence(st.name)) st.fenced = true;
        BackupTargetChoice choice =
            ChooseBackupTarget(statuses, snap_backup.target.empty() ? cluster.backup.target : snap_backup.target);
        const InstanceSpec& instance = cluster.Instance(choice.instance);
        spdlog::info("{}", choice.reason);
        backup.pgdata = instance.pgdata;
        backup.conninfo = instance.conninfo;
        if (backup.repo.empty()) backup.repo = cluster.repository;
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
    } else if (list_cmd->parsed()) {
      std::cout << RenderBackupList(list_repo, list_json);
    } else if (info_cmd->parsed()) {
      std::cout << RenderInfo(info_repo, info_backup, info_json);
    } else if (restore_cmd->parsed() && !snap_restore.snapshot.empty()) {
      if (restore.delta || restore.force || restore.backup != "latest")
        throw UsageError("--delta, --force and --backup do not apply to --from-snapshot");
      snap_restore.config_path = config_path;
      snap_restore.state_dir = state_dir;
      snap_restore.target = restore.target;
      snap_restore.tablespace_map = restore.tablespace_map;
      snap_restore.repo = restore.repo;
      snap_restore.recovery = restore.recovery;
      SnapshotRestoreResult r = RunSnapshotRestore(snap_restore);
      if (restore_json) {
        std::cout << json{{"backup", r.backup}, {"target", restore.target}, {"method", r.method},
                          {"online", r.online}, {"recovery", r.recovery}, {"duration_seconds", r.seconds}}
                         .dump(2)
                  << "\n";
      } else {
        std::cout << fmt::format("restored snapshot backup {} into {} ({}) in {}\nstart it with: pg_ctl -D {} start; "
                                 "it {}\n",
                                 r.backup, restore.target, r.method, FormatDuration(r.seconds), restore.target,
                                 r.recovery);
      }
    } else if (restore_cmd->parsed()) {
      if (!snap_restore.wal_target.empty()) throw UsageError("--wal-target is for --from-snapshot");
      if (restore.repo.empty()) throw UsageError("--repo is required (or PGVAULT_REPO)");
      restore.progress = progress && !restore_json;
      RestoreResult r = RunRestore(restore);
      if (restore_json) {
        json j = {{"backup_id", r.backup_id},         {"target", restore.target},
                  {"files", r.files_total},           {"files_written", r.files_written},
                  {"files_unchanged", r.files_unchanged}, {"files_removed", r.files_removed},
                  {"bytes_written", r.bytes_written}, {"written_paths", r.written_paths},
                  {"duration_seconds", r.seconds}};
        if (!r.recovery_target.empty()) j["recovery_target"] = r.recovery_target;
        std::cout << j.dump(2) << "\n";
      } else {
        std::cout << fmt::format("restored backup {} into {}: {} files ({} written, {} unchanged, {} removed), {} "
                                 "written in {}\nstart it with: pg_ctl -D {} start\n",
                                 r.backup_id, restore.target, r.files_total, r.files_written, r.files_unchanged,
                                 r.files_removed, FormatBytes(r.bytes_written), FormatDuration(r.seconds),
                                 restore.target);
        if (!r.recovery_target.empty())
          std::cout << fmt::format("on start it recovers from the WAL archive to {} (restore_command and "
                                   "recovery.signal are set)\n",
                                   r.recovery_target);
      }
    } else if (check_cmd->parsed()) {
      CheckResult r = RunCheck(check);
      if (check_json) {
        json findings = json::array();
        for (const auto& f : r.findings) findings.push_back({{"level", f.level}, {"message", f.message}});
        std::cout << json{{"ok", r.ok()}, {"findings", findings}}.dump(2) << "\n";
      } else {
        for (const auto& f : r.findings) std::cout << fmt::format("{:<8} {}\n", f.level + ":", f.message);
      }
      return r.ok() ? 0 : kExitError;
    } else if (wal_list_cmd->parsed()) {
      std::cout << RenderWalListing(ListWal(wal_list_repo), wal_list_json);
    } else if (wal_push_cmd->parsed()) {
      RunWalPush(wal_push);
    } else if (wal_fetch_cmd->parsed()) {
      try {
        return RunWalFetch(wal_fetch) == WalFetchOutcome::kFetched ? 0 : 1;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "pgvault: error: wal-fetch %s: %s\n", wal_fetch.name.c_str(), e.what());
        return kExitAbortRecovery;
      }
    } else if (fence_on_cmd->parsed() || fence_off_cmd->parsed()) {
      InstallInterruptHandlers();
      fence.config_path = config_path;
      fence.state_dir = state_dir;
      fence.on = fence_on_cmd->parsed();
      std::cout << RunFence(fence) << "\n";
    } else if (get_cmd->parsed()) {
      get.config_path = config_path;
      get.state_dir = state_dir;
      if (get_json) get.output = "json";
      std::cout << RunGet(get);
    } else if (describe_cmd->parsed()) {
      describe.state_dir = state_dir;
      std::cout << RunDescribe(describe);
    } else if (status_cmd->parsed()) {
      status.config_path = config_path;
      status.state_dir = state_dir;
      std::cout << RenderStatus(status);
    } else if (delete_backup_cmd->parsed()) {
      delete_backup.state_dir = state_dir;
      std::cout << RunDeleteBackup(delete_backup);
    } else if (verify_cmd->parsed()) {
      verify.progress = progress && !verify_json;
      VerifyResult r = RunVerify(verify);
      if (verify_json) {
        json problems = json::array();
        for (const auto& p : r.problems)
          problems.push_back({{"backup", p.backup_id}, {"path", p.path}, {"message", p.message}});
        json j = {{"ok", r.problems.empty()}, {"backups", r.backups}, {"chunks_checked", r.chunks_checked},
                  {"bytes_checked", r.bytes_checked}, {"wal_files_checked", r.wal_files_checked},
                  {"problems", problems}};
        std::cout << j.dump(2) << "\n";
      } else {
        for (const auto& p : r.problems) std::fprintf(stderr, "pgvault: error: %s\n", p.message.c_str());
        if (r.problems.empty())
          std::cout << fmt::format("verified {} backup(s): {} chunks, {}; {} archived WAL file(s): no problems\n",
                                   r.backups, r.chunks_checked, FormatBytes(r.bytes_checked), r.wal_files_checked);
        else
          std::cout << fmt::format("verify found {} problem(s) ({} backup(s) checked)\n", r.problems.size(), r.backups);
      }
      return r.problems.empty() ? 0 : kExitError;
    }
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "pgvault: error: %s\n", e.what());
    return kExitUsage;
  } catch (const InterruptedError& e) {
    std::fprintf(stderr, "pgvault: error: %s\n", e.what());
    return 128 + e.signal();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "pgvault: error: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pgvault: error: %s\n", e.what());
    return kExitError;
  }
  return 0;
}
