// WAL archive commands: wal-push, wal-fetch, wal list, wal expire, check.
#include "cli/command_groups.h"

#include "command/check_command.h"
#include "command/wal_expire_command.h"
#include "command/wal_fetch_command.h"
#include "command/wal_list_command.h"
#include "command/wal_push_command.h"
#include "core/error.h"

namespace pgvault::cli {
namespace {

using nlohmann::json;

class WalCommands : public CommandGroup {
 public:
  void Register(CLI::App& app) override;
  std::optional<int> RunParsed(const GlobalOptions& global) override;

 private:
  WalPushOptions wal_push;
  CLI::App* wal_push_cmd = nullptr;
  WalFetchOptions wal_fetch;
  CLI::App* wal_fetch_cmd = nullptr;
  CheckOptions check;
  bool check_json = false;
  CLI::App* check_cmd = nullptr;
  CLI::App* wal_cmd = nullptr;
  std::string wal_list_repo;
  bool wal_list_json = false;
  CLI::App* wal_list_cmd = nullptr;
  WalExpireOptions wal_expire;
  bool wal_expire_json = false;
  CLI::App* wal_expire_cmd = nullptr;
};

void WalCommands::Register(CLI::App& app) {
  // wal-push / wal-fetch
  wal_push_cmd = app.add_subcommand(
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
  wal_fetch_cmd = app.add_subcommand(
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
  check_cmd = app.add_subcommand(
      "check", "Check that the server archives WAL into the repository: settings, then a forced segment switch");
  AddRepoOption(check_cmd, check.repo);
  check_cmd->add_option("--pg", check.conninfo, "libpq connection string to the server")->required();
  check_cmd->add_option("--timeout", check.timeout_seconds, "Seconds to wait for the switched segment (default 60)")
      ->check(CLI::Range(1, 3600));
  check_cmd->add_flag("--json", check_json, "Print JSON");

  // wal list
  wal_cmd = app.add_subcommand("wal", "Inspect the WAL archive");
  wal_cmd->require_subcommand(1);
  wal_list_cmd = wal_cmd->add_subcommand("list", "Archived WAL per timeline: ranges and gaps");
  AddRepoOption(wal_list_cmd, wal_list_repo);
  wal_list_cmd->add_flag("--json", wal_list_json, "Print JSON");
  wal_expire_cmd = wal_cmd->add_subcommand(
      "expire", "Remove archived WAL before a segment or LSN, on every timeline (history files stay)");
  AddRepoOption(wal_expire_cmd, wal_expire.repo);
  wal_expire_cmd->add_option("--before", wal_expire.before,
                             "First segment to keep (000000010000000A000000FF), or an LSN whose segment is kept "
                             "(typically the oldest kept backup's start LSN)")
      ->required();
  wal_expire_cmd->add_flag("--dry-run", wal_expire.dry_run, "Report what would be removed; change nothing");
  wal_expire_cmd->add_flag("--json", wal_expire_json, "Print JSON");
}

std::optional<int> WalCommands::RunParsed(const GlobalOptions& global) {
  if (check_cmd->parsed()) {
    CheckResult r = RunCheck(check);
    if (check_json) {
      json findings = json::array();
      for (const auto& f : r.findings) findings.push_back({{"level", f.level}, {"message", f.message}});
      std::cout << json{{"ok", r.ok()}, {"findings", findings}}.dump(2) << "\n";
    } else {
      for (const auto& f : r.findings) std::cout << fmt::format("{:<8} {}\n", f.level + ":", f.message);
    }
    return r.ok() ? 0 : kExitError;
  }
  if (wal_list_cmd->parsed()) {
    std::cout << RenderWalListing(ListWal(wal_list_repo), wal_list_json);
    return 0;
  }
  if (wal_expire_cmd->parsed()) {
    std::cout << RenderWalExpire(RunWalExpire(wal_expire), wal_expire_json);
    return 0;
  }
  if (wal_push_cmd->parsed()) {
    RunWalPush(wal_push);
    return 0;
  }
  if (wal_fetch_cmd->parsed()) {
    try {
      return RunWalFetch(wal_fetch) == WalFetchOutcome::kFetched ? 0 : 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pgvault: error: wal-fetch %s: %s\n", wal_fetch.name.c_str(), e.what());
      return kExitAbortRecovery;
    }
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<CommandGroup> MakeWalCommands() { return std::make_unique<WalCommands>(); }

}  // namespace pgvault::cli
