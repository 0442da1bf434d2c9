// pgvault command line: global options, parsing, logging, and exceptions
// mapped to exit statuses. The commands themselves are registered and run
// by the groups in this folder (command_groups.h), each calling one module
// of src/command/.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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
  // Object-store settings: each is handed down in the environment (as
  // PGVAULT_CLI_<variable>), so that storage (storage_settings.h) and the
  // processes pgvault starts (async archiver, WAL prefetcher) all see one
  // configuration, in which an option wins over the file and the environment.
  // Secrets have no options: environment or --repo-credentials file only.
  struct EnvOption {
    const char* flag;
    const char* variable;
    const char* help;
    std::string value;
  };
  std::vector<EnvOption> env_options = {
      {"--s3-endpoint", "AWS_ENDPOINT_URL", "S3-compatible endpoint URL (MinIO, Ceph, Swift...); default AWS, or GCS for gs://", ""},
      {"--s3-uri-style", "PGVAULT_S3_URI_STYLE", "path or host; default path with --s3-endpoint, else host", ""},
      {"--s3-region", "AWS_REGION", "S3 region; default us-east-1 (auto for gs://)", ""},
      {"--s3-sse", "PGVAULT_S3_SSE", "S3 server-side encryption: AES256 or aws:kms", ""},
      {"--s3-sse-kms-key-id", "PGVAULT_S3_SSE_KMS_KEY_ID", "KMS key for --s3-sse aws:kms", ""},
      {"--repo-credentials", "PGVAULT_REPO_CREDENTIALS",
       "File of NAME=value lines (AWS_*, GOOGLE_HMAC_*, AZURE_STORAGE_*) read after the environment", ""},
      {"--repo-ca-file", "PGVAULT_REPO_CA_FILE", "PEM CA bundle to verify the object store's TLS certificate", ""},
  };
  for (auto& o : env_options) app.add_option(o.flag, o.value, o.help);
  bool no_verify_tls = false;
  app.add_flag("--repo-no-verify-tls", no_verify_tls, "Do not verify the object store's TLS certificate (testing only)");
  app.footer("Documentation: docs/commands.md. Exit status: 0 success, 1 failure (including damage found by verify), "
             "2 bad usage, 128+N interrupted by signal N.");

  std::vector<std::unique_ptr<CommandGroup>> groups;
  groups.push_back(MakeRepositoryCommands());
  groups.push_back(MakeBackupCli());
  groups.push_back(MakeRestoreCli());
  groups.push_back(MakeWalCommands());
  groups.push_back(MakeClusterCommands());
  groups.push_back(MakeApiCommands());
  for (auto& g : groups) g->Register(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  try {
    SetupLogging(global.log_level);
    for (auto& o : env_options) {
      if (o.value.empty()) continue;
      // Files are named absolutely: restore_command repeats them, and
      // PostgreSQL runs it in the data directory.
      if (std::string(o.flag) == "--repo-credentials" || std::string(o.flag) == "--repo-ca-file")
        o.value = std::filesystem::absolute(o.value).lexically_normal().string();
      // The credentials file's own variable is read as is; the others as
      // options, ahead of the file and the environment (storage_settings.h).
      std::string variable = o.variable;
      if (variable != "PGVAULT_REPO_CREDENTIALS") variable = "PGVAULT_CLI_" + variable;
      ::setenv(variable.c_str(), o.value.c_str(), 1);
    }
    if (no_verify_tls) ::setenv("PGVAULT_CLI_PGVAULT_REPO_VERIFY_TLS", "n", 1);
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
