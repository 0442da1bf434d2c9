// `restore`: from a repository (with point-in-time recovery), or from a
// volume snapshot (--from-snapshot).
#include "cli/command_groups.h"

#include "command/restore_command.h"
#include "command/snapshot_restore_command.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "core/timestamp.h"

namespace pgvault::cli {
namespace {

using nlohmann::json;

class RestoreCli : public CommandGroup {
 public:
  void Register(CLI::App& app) override;
  std::optional<int> RunParsed(const GlobalOptions& global) override;

 private:
  RestoreOptions restore;
  bool restore_json = false;
  CLI::App* restore_cmd = nullptr;
  SnapshotRestoreOptions snap_restore;
};

void RestoreCli::Register(CLI::App& app) {
  // restore
  restore_cmd = app.add_subcommand("restore", "Restore a backup (or a volume snapshot) into a data directory");
  AddOptionalRepoOption(restore_cmd, restore.repo);
  restore_cmd->add_option("--backup", restore.backup, "Backup id or 'latest' (default)");
  restore_cmd->add_option("--target", restore.target, "Directory to restore into (new or empty)")->required();
  restore_cmd->add_flag("--delta", restore.delta, "Reuse files in a non-empty target whose contents match");
  restore_cmd->add_flag("--force", restore.force, "Overwrite a non-empty target");
  restore_cmd->add_option("--jobs,-j", restore.jobs, "Parallel workers (default: twice the number of cores)")
      ->check(CLI::Range(1, 256));
  restore_cmd->add_option("--tablespace-map", restore.tablespace_map,
                          "Restore a tablespace elsewhere: OID=DIR or NAME=DIR (repeatable)");
  restore_cmd->add_option("--archive-mode", restore.archive_mode,
                          "off: the restored copy archives no WAL (archive_mode = off in postgresql.auto.conf), for "
                          "test and PITR copies; preserve (default): keep the restored archive settings")
      ->check(CLI::IsMember({"off", "preserve"}));
  restore_cmd->add_flag("--json", restore_json, "Print the result as a JSON object");
  restore_cmd->add_option("--from-snapshot", snap_restore.snapshot,
                          "Restore a volume snapshot backup: a snapshot name (or the path of its .json metadata)")
      ->group("Volume snapshots");
  restore_cmd->add_option("--wal-target", snap_restore.wal_target,
                          "Put pg_wal in this directory (a link from TARGET/pg_wal)")
      ->group("Volume snapshots");
  auto& rt = restore.recovery;
  restore_cmd->add_option("--target-time", rt.time, "Recover to this time ('YYYY-MM-DD HH:MM:SS[.ffffff]+TZ')")
      ->group("Point-in-time recovery");
  restore_cmd->add_option("--target-lsn", rt.lsn, "Recover to this WAL location (such as 0/16B3748)")->group("Point-in-time recovery");
  restore_cmd->add_option("--target-xid", rt.xid, "Recover to the commit of this transaction (decimal, as txid_current() returns it)")
      ->group("Point-in-time recovery");
  restore_cmd->add_option("--target-name", rt.name, "Recover to this restore point (pg_create_restore_point; at most 63 bytes)")
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
  restore_cmd->add_flag("--stop-at-wal-gap", rt.stop_at_wal_gap,
                        "With --target-timeline and no target: accept recovery to the end of the archive that stops at "
                        "a missing WAL segment although later WAL is archived (refused otherwise)")
      ->group("Point-in-time recovery");
  RefuseEmptyValues(restore_cmd);
}

std::optional<int> RestoreCli::RunParsed(const GlobalOptions& global) {
  bool progress = !global.no_progress;
  const std::string& config_path = global.config_path;
  const std::string& state_dir = global.state_dir;
  if (restore_cmd->parsed() && !snap_restore.snapshot.empty()) {
    if (restore.delta || restore.force || restore.backup != "latest")
      throw UsageError("--delta, --force and --backup do not apply to --from-snapshot");
    snap_restore.config_path = config_path;
    snap_restore.state_dir = state_dir;
    snap_restore.target = restore.target;
    snap_restore.tablespace_map = restore.tablespace_map;
    snap_restore.repo = restore.repo;
    snap_restore.recovery = restore.recovery;
    snap_restore.archive_mode = restore.archive_mode;
    SnapshotRestoreResult r = RunSnapshotRestore(snap_restore);
    if (restore_json) {
      std::cout << json{{"backup", r.backup}, {"target", restore.target}, {"method", r.method},
                        {"online", r.online}, {"recovery", r.recovery}, {"archive_mode", r.archive_mode},
                        {"archive_warning", r.archive_warning.empty() ? json(nullptr) : json(r.archive_warning)},
                        {"duration_seconds", r.seconds}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << fmt::format("restored snapshot backup {} into {} ({}) in {}\nstart it with: pg_ctl -D {} start; "
                               "it {}\n",
                               r.backup, restore.target, r.method, FormatDuration(r.seconds), restore.target,
                               r.recovery);
    }
    return 0;
  }
  if (restore_cmd->parsed()) {
    if (!snap_restore.wal_target.empty()) throw UsageError("--wal-target is for --from-snapshot");
    if (restore.repo.empty()) throw UsageError("--repo is required (or PGVAULT_REPO)");
    restore.progress = progress && !restore_json;
    RestoreResult r = RunRestore(restore);
    if (restore_json) {
      json j = {{"backup_id", r.backup_id},         {"target", restore.target},
                {"files", r.files_total},           {"files_written", r.files_written},
                {"files_unchanged", r.files_unchanged}, {"files_removed", r.files_removed},
                {"bytes_written", r.bytes_written}, {"written_paths", r.written_paths},
                {"duration_seconds", r.seconds},    {"archive_mode", r.archive_mode},
                {"archive_warning", r.archive_warning.empty() ? json(nullptr) : json(r.archive_warning)}};
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
    return 0;
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<CommandGroup> MakeRestoreCli() { return std::make_unique<RestoreCli>(); }

}  // namespace pgvault::cli
