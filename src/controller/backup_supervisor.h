// A Backup object run in a child process (`pgvault run-backup NAME`) and
// watched from outside: every phase must end before its deadline
// (PhaseDeadline: pgvault.io/deadline.<phase> or the default), or the child
// gets SIGTERM (a volume snapshot backup then unfences and records the
// failure itself), then SIGKILL after a grace period. When the child ends
// without having recorded the end of its backup, the supervisor records it
// failed, with the reason. The child also gets SIGTERM when the supervising
// process dies (PR_SET_PDEATHSIG), so a killed controller leaves no backup
// running unwatched.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace pgvault {

class SupervisedBackup {
 public:
  // Starts `program args... run-backup NAME`. `args` are the global options
  // the child needs (--state-dir, --config, --log-level).
  static std::unique_ptr<SupervisedBackup> Start(const std::string& program, const std::vector<std::string>& args,
                                                 const std::string& name, const std::string& cluster);
  ~SupervisedBackup();

  // Enforces the deadline of the backup's current phase and reaps the child.
  // True once the child has ended (the backup is then recorded as ended).
  bool Poll(Catalog& catalog);
  // Asks the child to stop (SIGTERM), recording `reason` as the cause.
  void Terminate(const std::string& reason);

  const std::string& name() const { return name_; }
  const std::string& cluster() const { return cluster_; }
  pid_t pid() const { return pid_; }
  // Seconds a child has after SIGTERM to undo its work (unfence) before SIGKILL.
  static constexpr std::chrono::seconds kGracePeriod{120};

 private:
  SupervisedBackup(pid_t pid, std::string name, std::string cluster)
      : pid_(pid), name_(std::move(name)), cluster_(std::move(cluster)) {}
  void KillIfPastGrace();
  void Finish(Catalog& catalog, int wait_status);

  pid_t pid_;
  std::string name_, cluster_;
  bool ended_ = false;
  std::string stop_reason_;  // why the supervisor stopped it, "" if it did not
  std::chrono::steady_clock::time_point terminated_at_;
  bool killed_ = false;
};

}  // namespace pgvault
