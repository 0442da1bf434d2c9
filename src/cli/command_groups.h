// The command line, split by subject: each group registers its subcommands
// on the CLI11 application and runs the one that was parsed. main.cc only
// adds the global options, parses, sets up logging and maps exceptions to
// exit statuses.
#pragma once

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace pgvault::cli {

inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
// wal-fetch: any status above 125 makes PostgreSQL's startup process stop
// with FATAL instead of taking the failure for the end of the archive.
inline constexpr int kExitAbortRecovery = 126;

struct GlobalOptions {
  std::string log_level = "warn";
  bool no_progress = false;
  std::string config_path;  // --config / PGVAULT_CONFIG
  std::string state_dir;    // --state-dir / PGVAULT_STATE_DIR (resolved to the default before RunParsed)
};

class CommandGroup {
 public:
  virtual ~CommandGroup() = default;
  virtual void Register(CLI::App& app) = 0;
  // Runs the group's command that was parsed and returns its exit status;
  // nullopt when none of this group's commands was given.
  virtual std::optional<int> RunParsed(const GlobalOptions& global) = 0;
};

std::unique_ptr<CommandGroup> MakeRepositoryCommands();  // repo init, list, info, verify
std::unique_ptr<CommandGroup> MakeBackupCli();           // backup
std::unique_ptr<CommandGroup> MakeRestoreCli();          // restore
std::unique_ptr<CommandGroup> MakeWalCommands();         // wal-push, wal-fetch, wal list, check
std::unique_ptr<CommandGroup> MakeClusterCommands();     // fence, status, get, describe, delete
std::unique_ptr<CommandGroup> MakeApiCommands();         // apply, controller, run-backup

// --repo, from PGVAULT_REPO when not given; `required` unless the command can
// take the repository from the cluster file.
void AddRepoOption(CLI::App* app, std::string& repo, bool required = true);
inline void AddOptionalRepoOption(CLI::App* app, std::string& repo) { AddRepoOption(app, repo, false); }
// Makes `--option ""` a usage error naming the option, for every option of
// `app` that takes a value. Call after adding them.
void RefuseEmptyValues(CLI::App* app);
// "--online=false" and the like: true/false (also on/off, yes/no, 1/0); nullopt when empty.
std::optional<bool> ParseBoolOption(const std::string& name, const std::string& value);

}  // namespace pgvault::cli
