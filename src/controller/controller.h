// `pgvault controller`: the foreground daemon of the declarative API. Each
// tick it
//   - fails backups that can no longer end (their process died, or they
//     waited past their pending deadline);
//   - releases fences left by dead backup processes and removes the
//     snapshots their backups left (after a SIGKILL of a controller and its
//     backup, or a crash);
//   - evaluates every ScheduledBackup (schedule_reconciler.h);
//   - runs pending Backups, each in a supervised child process
//     (backup_supervisor.h), never two of one cluster at once, oldest first;
//   - applies retention after a backup of a cluster completes, and at least
//     every retention interval;
// and it serves Prometheus metrics on --metrics-addr. SIGTERM or SIGINT stop
// it: running backups are asked to stop (they unfence) and waited for.
// One controller per state directory (a lock file says which).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace pgvault {

struct ControllerOptions {
  std::string config_path;  // "" = the applied clusters (the usual case)
  std::string state_dir;
  std::string metrics_addr;  // "" = no metrics endpoint
  std::string program;       // this pgvault binary, run for each backup
  std::vector<std::string> child_args;  // global options for it
  std::chrono::milliseconds tick{1000};
  std::chrono::seconds retention_interval{1800};
};

// Runs until SIGTERM/SIGINT; returns the exit status.
int RunController(const ControllerOptions& options);

}  // namespace pgvault
