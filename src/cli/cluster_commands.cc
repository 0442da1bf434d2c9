// Cluster commands: fence on|off, status, get, describe, delete.
#include "cli/command_groups.h"

#include "command/delete_command.h"
#include "command/describe_command.h"
#include "command/fence_command.h"
#include "command/get_command.h"
#include "command/status_command.h"
#include "core/interruption.h"

namespace pgvault::cli {
namespace {

using nlohmann::json;

class ClusterCommands : public CommandGroup {
 public:
  void Register(CLI::App& app) override;
  std::optional<int> RunParsed(const GlobalOptions& global) override;

 private:
  FenceOptions fence;
  CLI::App* fence_cmd = nullptr;
  CLI::App* fence_on_cmd = nullptr;
  CLI::App* fence_off_cmd = nullptr;
  GetOptions get;
  CLI::App* get_cmd = nullptr;
  bool get_json = false;
  DescribeOptions describe;
  CLI::App* describe_cmd = nullptr;
  StatusOptions status;
  CLI::App* status_cmd = nullptr;
  DeleteOptions delete_options;
  CLI::App* delete_cmd = nullptr;
};

void ClusterCommands::Register(CLI::App& app) {
  // fence on|off
  fence_cmd = app.add_subcommand("fence", "Take an instance out of service (clean stop, recorded) or bring it back");
  fence_cmd->require_subcommand(1);
  fence_on_cmd = fence_cmd->add_subcommand("on", "Fence: stop the instance cleanly and record it as fenced");
  fence_on_cmd->add_option("instance", fence.instance, "Instance name from the cluster file")->required();
  fence_off_cmd =
      fence_cmd->add_subcommand("off", "Unfence: start the instance, wait until it serves (streams), clear the fence");
  fence_off_cmd->add_option("instance", fence.instance, "Instance name from the cluster file")->required();

  // get / describe / status / delete
  get_cmd = app.add_subcommand("get", "List objects: cluster, backup, scheduledbackup, volumesnapshot, "
                                      "volumesnapshotclass");
  get_cmd->add_option("kind", get.kind, "cluster, backup, scheduledbackup, volumesnapshot or volumesnapshotclass")
      ->required();
  get_cmd->add_option("name", get.name, "Only this object");
  get_cmd->add_option("-o,--output", get.output, "json, yaml or wide");
  get_cmd->add_flag("--json", get_json, "Same as -o json");
  describe_cmd = app.add_subcommand("describe", "Show an object with its status and events");
  describe_cmd->add_option("kind", describe.kind, "backup, cluster, scheduledbackup or instance")->required();
  describe_cmd->add_option("name", describe.name, "Its name")->required();
  status_cmd = app.add_subcommand("status", "Instances of the cluster file: role, WAL positions, streaming, fences");
  status_cmd->add_option("--cluster", status.cluster, "Only this cluster");
  status_cmd->add_flag("--json", status.json, "Print JSON");
  delete_cmd = app.add_subcommand("delete", "Delete an object: a backup (its snapshots per deletionPolicy), a "
                                            "scheduledbackup, a cluster or a volumesnapshotclass");
  delete_cmd->add_option("kind", delete_options.kind, "backup, scheduledbackup, cluster or volumesnapshotclass")
      ->required();
  delete_cmd->add_option("name", delete_options.name, "Its name")->required();
}

std::optional<int> ClusterCommands::RunParsed(const GlobalOptions& global) {
  const std::string& config_path = global.config_path;
  const std::string& state_dir = global.state_dir;
  if (fence_on_cmd->parsed() || fence_off_cmd->parsed()) {
    InstallInterruptHandlers();
    fence.config_path = config_path;
    fence.state_dir = state_dir;
    fence.on = fence_on_cmd->parsed();
    std::cout << RunFence(fence) << "\n";
    return 0;
  }
  if (get_cmd->parsed()) {
    get.config_path = config_path;
    get.state_dir = state_dir;
    if (get_json) get.output = "json";
    std::cout << RunGet(get);
    return 0;
  }
  if (describe_cmd->parsed()) {
    describe.config_path = config_path;
    describe.state_dir = state_dir;
    std::cout << RunDescribe(describe);
    return 0;
  }
  if (status_cmd->parsed()) {
    status.config_path = config_path;
    status.state_dir = state_dir;
    std::cout << RenderStatus(status);
    return 0;
  }
  if (delete_cmd->parsed()) {
    delete_options.state_dir = state_dir;
    std::cout << RunDelete(delete_options);
    return 0;
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<CommandGroup> MakeClusterCommands() { return std::make_unique<ClusterCommands>(); }

}  // namespace pgvault::cli
