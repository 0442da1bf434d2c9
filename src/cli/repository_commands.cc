// Repository commands: repo init, repo delete-backup, repo gc, list, info, verify.
#include "cli/command_groups.h"

#include "command/list_command.h"
#include "command/repo_delete_backup_command.h"
#include "command/repo_gc_command.h"
#include "command/repo_init_command.h"
#include "command/verify_command.h"
#include "core/byte_size.h"
#include "core/error.h"

namespace pgvault::cli {
namespace {

using nlohmann::json;

class RepositoryCommands : public CommandGroup {
 public:
  void Register(CLI::App& app) override;
  std::optional<int> RunParsed(const GlobalOptions& global) override;

 private:
  CLI::App* repo_cmd = nullptr;
  RepoInitOptions init;
  CLI::App* init_cmd = nullptr;
  RepoDeleteBackupOptions delete_backup;
  bool delete_backup_json = false;
  CLI::App* delete_backup_cmd = nullptr;
  RepoGcOptions gc;
  double gc_repack_percent = 50;
  bool gc_json = false;
  CLI::App* gc_cmd = nullptr;
  std::string list_repo;
  bool list_json = false;
  CLI::App* list_cmd = nullptr;
  std::string info_repo, info_backup;
  bool info_json = false;
  CLI::App* info_cmd = nullptr;
  VerifyOptions verify;
  bool verify_json = false;
  CLI::App* verify_cmd = nullptr;
};

void RepositoryCommands::Register(CLI::App& app) {
  // repo init
  repo_cmd = app.add_subcommand("repo", "Manage repositories");
  repo_cmd->require_subcommand(1);
  init_cmd = repo_cmd->add_subcommand("init", "Create a new, empty repository");
  AddRepoOption(init_cmd, init.repo);
  init_cmd->add_option("--chunk-size", init.chunk_size, "Chunk size in bytes (default 1 MiB)");
  init_cmd->add_option("--pack-size", init.pack_size, "Target pack file size in bytes (default 64 MiB)");
  init_cmd->add_flag("--group-read", init.group_read,
                     "Let the owner's group read a local repository: directories 0750 and files 0640 instead of "
                     "0700 and 0600 (kept in config.json, for every later write)");

  // repo delete-backup / repo gc
  delete_backup_cmd = repo_cmd->add_subcommand(
      "delete-backup", "Delete one backup by id (also one whose manifest cannot be read); 'repo gc' reclaims its space");
  AddRepoOption(delete_backup_cmd, delete_backup.repo);
  delete_backup_cmd->add_option("id", delete_backup.id, "The backup id, as 'pgvault list' shows it")->required();
  delete_backup_cmd->add_flag("--json", delete_backup_json, "Print JSON");
  gc_cmd = repo_cmd->add_subcommand(
      "gc", "Remove the chunks no backup references (after delete-backup) and what interrupted writers left");
  AddRepoOption(gc_cmd, gc.repo);
  gc_cmd->add_flag("--dry-run", gc.dry_run, "Report what would be removed and reclaimed; change nothing");
  gc_cmd->add_option("--repack-threshold", gc_repack_percent,
                     "Rewrite a partly used pack when more than this percentage of it is unreferenced (default 50; "
                     "100 never rewrites)")
      ->check(CLI::Range(0.0, 100.0));
  gc_cmd->add_flag("--json", gc_json, "Print JSON");

  // list / info
  list_cmd = app.add_subcommand("list", "List the backups in a repository");
  AddRepoOption(list_cmd, list_repo);
  list_cmd->add_flag("--json", list_json, "Print a JSON array");
  info_cmd = app.add_subcommand("info", "Describe a repository, or one backup with --backup");
  AddRepoOption(info_cmd, info_repo);
  info_cmd->add_option("--backup", info_backup, "Backup id or 'latest'");
  info_cmd->add_flag("--json", info_json, "Print JSON");

  // verify
  verify_cmd = app.add_subcommand("verify", "Re-read and check every chunk of one or all backups");
  AddRepoOption(verify_cmd, verify.repo);
  verify_cmd->add_option("--backup", verify.backup, "Backup id or 'latest' (default: all backups)");
  verify_cmd->add_option("--jobs,-j", verify.jobs, "Parallel workers (default: number of cores)")
      ->check(CLI::Range(1, 256));
  verify_cmd->add_flag("--json", verify_json, "Print the result as a JSON object");
}

std::optional<int> RepositoryCommands::RunParsed(const GlobalOptions& global) {
  bool progress = !global.no_progress;
  if (init_cmd->parsed()) {
    RunRepoInit(init);
    std::printf("initialized pgvault repository at %s\n", init.repo.c_str());
    return 0;
  }
  if (delete_backup_cmd->parsed()) {
    std::cout << RenderRepoDeleteBackup(RunRepoDeleteBackup(delete_backup), delete_backup_json);
    return 0;
  }
  if (gc_cmd->parsed()) {
    gc.repack_threshold = gc_repack_percent / 100.0;
    gc.progress = progress && !gc_json;
    GcReport report = RunRepoGc(gc);
    for (const auto& p : report.unreadable_packs)
      std::fprintf(stderr, "pgvault: warning: kept pack %s\n", p.c_str());
    std::cout << RenderGcReport(report, gc_json);
    return 0;
  }
  if (list_cmd->parsed()) {
    std::cout << RenderBackupList(list_repo, list_json);
    return 0;
  }
  if (info_cmd->parsed()) {
    std::cout << RenderInfo(info_repo, info_backup, info_json);
    return 0;
  }
  if (verify_cmd->parsed()) {
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
  return std::nullopt;
}

}  // namespace

std::unique_ptr<CommandGroup> MakeRepositoryCommands() { return std::make_unique<RepositoryCommands>(); }

}  // namespace pgvault::cli
