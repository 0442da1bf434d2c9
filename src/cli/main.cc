// pgvault command line: global options, parsing, logging, and exceptions
// mapped to exit statuses. The commands themselves are registered and run
// by the groups in this folder (command_groups.h), each calling one module
// of src/command/.
#include <cstdio>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "catalog/catalog.h"
#include "cli/command_groups.h"
#include "core/error.h"
#include "core/interruption.h"

using namespace pgvault;
using namespace pgvault::cli;

namespace {

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
  GlobalOptions global;
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn (default), error, off")
      ->capture_default_str();
  app.add_flag("--no-progress", global.no_progress, "Never draw progress on the terminal");
  app.add_option("--config", global.config_path,
                 "Cluster file (YAML: Cluster, VolumeSnapshotClass); default $PGVAULT_CONFIG")
      ->envname("PGVAULT_CONFIG");
  app.add_option("--state-dir", global.state_dir,
                 "State directory (catalog.db); default $PGVAULT_STATE_DIR, /var/lib/pgvault as root, else "
                 "~/.local/state/pgvault")
      ->envname("PGVAULT_STATE_DIR");
  app.footer("Documentation: docs/commands.md. Exit status: 0 success, 1 failure (including damage found by verify), "
             "2 bad usage, 128+N interrupted by signal N.");

  std::vector<std::unique_ptr<CommandGroup>> groups;
  groups.push_back(MakeRepositoryCommands());
  groups.push_back(MakeBackupCli());
  groups.push_back(MakeRestoreCli());
  groups.push_back(MakeWalCommands());
  groups.push_back(MakeClusterCommands());
  for (auto& g : groups) g->Register(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  try {
    SetupLogging(global.log_level);
    if (global.state_dir.empty()) global.state_dir = DefaultStateDirectory();
    for (auto& g : groups)
      if (auto status = g->RunParsed(global)) return *status;
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
