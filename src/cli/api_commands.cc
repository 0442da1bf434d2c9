// The declarative API: apply -f, controller, expire, and run-backup (the child
// process the controller and apply --wait run each Backup in; not for
// people, hidden from --help).
#include <limits.h>
#include <unistd.h>

#include <filesystem>

#include "catalog/catalog.h"
#include "cli/command_groups.h"
#include "command/apply_command.h"
#include "command/backup_object_runner.h"
#include "command/expire_command.h"
#include "controller/backup_waiter.h"
#include "controller/controller.h"
#include "controller/metrics_server.h"
#include "core/error.h"
#include "core/interruption.h"

namespace pgvault::cli {
namespace {

using nlohmann::json;

std::string ThisProgram() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw Error("cannot find this program's path (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

// The global options a backup child process needs, with paths made absolute.
std::vector<std::string> ChildArgs(const GlobalOptions& g) {
  std::vector<std::string> args = {"--log-level", g.log_level, "--no-progress", "--state-dir",
                                   std::filesystem::absolute(g.state_dir).string()};
  if (!g.config_path.empty()) {
    args.push_back("--config");
    args.push_back(std::filesystem::absolute(g.config_path).string());
  }
  return args;
}

class ApiCommands : public CommandGroup {
 public:
  void Register(CLI::App& app) override;
  std::optional<int> RunParsed(const GlobalOptions& global) override;

 private:
  ApplyOptions apply;
  bool apply_wait = false;
  bool apply_json = false;
  CLI::App* apply_cmd = nullptr;
  ControllerOptions controller;
  double tick_seconds = 1;
  CLI::App* controller_cmd = nullptr;
  BackupObjectRunOptions run;
  CLI::App* run_cmd = nullptr;
  ExpireOptions expire;
  bool expire_json = false;
  CLI::App* expire_cmd = nullptr;
};

void ApiCommands::Register(CLI::App& app) {
  apply_cmd = app.add_subcommand(
      "apply", "Create or update objects from YAML (Cluster, VolumeSnapshotClass, Backup, ScheduledBackup; several "
               "documents per file); nothing is applied unless every document is valid");
  apply_cmd->add_option("-f,--filename", apply.file, "The file, or - for standard input")->required();
  apply_cmd->add_flag("--wait", apply_wait,
                      "Run the Backups the file creates now, in the foreground, and wait for them to end (no "
                      "controller needed); exit 1 if one fails");
  apply_cmd->add_flag("--dry-run", apply.dry_run, "Check everything, store nothing");
  apply_cmd->add_flag("--json", apply_json, "With --wait: print the final Backup objects as JSON");

  controller_cmd = app.add_subcommand(
      "controller", "Run the controller in the foreground: pending and scheduled backups, deadlines, retention, "
                    "recovery after crashes, Prometheus metrics");
  controller_cmd->add_option("--metrics-addr", controller.metrics_addr,
                             "Serve Prometheus metrics on HOST:PORT (e.g. 127.0.0.1:9188, :9188); docs/declarative-api.md "
                             "lists them");
  controller_cmd->add_option("--tick", tick_seconds, "Seconds between looks at the world (default 1)")
      ->check(CLI::Range(0.05, 60.0));

  expire_cmd = app.add_subcommand(
      "expire", "Apply a cluster's retention (spec.backup.retentionPolicy, keep): delete the backups, snapshots and "
                "WAL no recovery point inside the window needs, reclaim repository space");
  expire_cmd->add_option("--cluster", expire.cluster, "The cluster (default: the only one)");
  expire_cmd->add_flag("--dry-run", expire.dry_run, "Say what would go, delete nothing");
  expire_cmd->add_flag("--json", expire_json, "Print the report as JSON");

  run_cmd = app.add_subcommand("run-backup", "Run one pending Backup object (used by the controller)");
  run_cmd->add_option("name", run.name, "Backup name")->required();
  run_cmd->group("");
}

std::optional<int> ApiCommands::RunParsed(const GlobalOptions& global) {
  if (apply_cmd->parsed()) {
    apply.state_dir = global.state_dir;
    ApplyResult result = RunApply(apply);
    for (const auto& line : result.lines) std::cout << line << "\n";
    std::cout.flush();
    if (!apply_wait || apply.dry_run) return 0;
    InstallInterruptHandlers();
    auto catalog = Catalog::Open(global.state_dir);
    int status = 0;
    json finals = json::array();
    for (const auto& name : result.new_backups) {
      json b = RunBackupAndWait(*catalog, ThisProgram(), ChildArgs(global), name, [&](const json& b) {
        const json& st = b["status"];
        std::string phase = st.value("phase", "");
        std::string detail = phase == "failed" ? ": " + st.value("error", "")
                             : phase == "started"
                                 ? " on instance " + st.value("/instanceID/podName"_json_pointer, std::string("?"))
                                 : "";
        std::fprintf(stderr, "backup %s: %s%s\n", name.c_str(), phase.c_str(), detail.c_str());
      });
      finals.push_back(b);
      if (b["status"].value("phase", "") != "completed") status = kExitError;
    }
    if (apply_json) std::cout << finals.dump(2) << "\n";
    return status;
  }
  if (controller_cmd->parsed()) {
    controller.config_path = global.config_path.empty() ? "" : std::filesystem::absolute(global.config_path).string();
    controller.state_dir = global.state_dir;
    controller.program = ThisProgram();
    controller.child_args = ChildArgs(global);
    controller.tick = std::chrono::milliseconds(static_cast<int64_t>(tick_seconds * 1000));
    if (!controller.metrics_addr.empty()) ParseListenAddress(controller.metrics_addr);  // a bad address: exit 2 now
    return RunController(controller);
  }
  if (expire_cmd->parsed()) {
    expire.config_path = global.config_path;
    expire.state_dir = global.state_dir;
    json report = RunExpire(expire);
    std::cout << (expire_json ? report.dump(2) + "\n" : RenderExpire(report));
    return 0;
  }
  if (run_cmd->parsed()) {
    run.config_path = global.config_path;
    run.state_dir = global.state_dir;
    json b = RunBackupObject(run);
    std::cout << b.dump(2) << "\n";
    return 0;
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<CommandGroup> MakeApiCommands() { return std::make_unique<ApiCommands>(); }

}  // namespace pgvault::cli
