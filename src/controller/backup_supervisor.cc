#include "controller/backup_supervisor.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/backup_objects.h"
#include "catalog/backup_lifecycle.h"
#include "core/error.h"
#include "core/posix_io.h"
#include "core/timestamp.h"

namespace pgvault {

using nlohmann::json;

std::unique_ptr<SupervisedBackup> SupervisedBackup::Start(const std::string& program,
                                                          const std::vector<std::string>& args,
                                                          const std::string& name, const std::string& cluster) {
  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  argv_strings.push_back("run-backup");
  argv_strings.push_back(name);
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw Error(fmt::format("cannot start a process for backup {}: {}", name, ErrnoText(errno)));
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(125);  // the parent died before prctl took effect
    // The supervisor may catch SIGTERM; the child starts with the defaults.
    struct sigaction sa{};
    sa.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  spdlog::info("backup {}: started pid {}", name, pid);
  return std::unique_ptr<SupervisedBackup>(new SupervisedBackup(pid, name, cluster));
}

SupervisedBackup::~SupervisedBackup() {
  // Never leave a child unwatched; on SIGTERM it undoes its work itself.
  if (!ended_) ::kill(pid_, SIGTERM);
}

void SupervisedBackup::Terminate(const std::string& reason) {
  if (ended_ || !stop_reason_.empty()) return;
  stop_reason_ = reason;
  terminated_at_ = std::chrono::steady_clock::now();
  spdlog::warn("backup {}: {}; sending SIGTERM to pid {}", name_, reason, pid_);
  ::kill(pid_, SIGTERM);
}

void SupervisedBackup::KillIfPastGrace() {
  if (ended_ || stop_reason_.empty() || killed_) return;
  if (std::chrono::steady_clock::now() - terminated_at_ < kGracePeriod) return;
  spdlog::error("backup {}: pid {} did not stop within {}s of SIGTERM; sending SIGKILL", name_, pid_,
                kGracePeriod.count());
  ::kill(pid_, SIGKILL);
  killed_ = true;
}

bool SupervisedBackup::Poll(Catalog& catalog) {
  if (ended_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    Finish(catalog, status);
    return true;
  }
  if (auto backup = catalog.LoadBackup(name_)) {
    std::string phase = (*backup)["status"].value("phase", "pending");
    std::string since = catalog.BackupPhaseSince(name_);
    if (!BackupPhaseTerminal(phase) && !since.empty()) {
      auto deadline = PhaseDeadline(*backup, phase);
      auto in_phase = std::chrono::system_clock::now() - ParseTimestamp(since);
      if (in_phase > deadline)
        Terminate(fmt::format("phase {} exceeded its deadline of {} ({}{})", phase,
                              FormatDuration(static_cast<double>(deadline.count())), kDeadlineAnnotationPrefix,
                              phase));
    }
  }
  KillIfPastGrace();
  return false;
}

void SupervisedBackup::Finish(Catalog& catalog, int status) {
  ended_ = true;
  std::string how = WIFEXITED(status)     ? fmt::format("exited with status {}", WEXITSTATUS(status))
                    : WIFSIGNALED(status) ? fmt::format("was killed by SIG{}", sigabbrev_np(WTERMSIG(status)))
                                          : std::string("ended");
  spdlog::info("backup {}: pid {} {}", name_, pid_, how);
  auto backup = catalog.LoadBackup(name_);
  if (!backup) return;
  std::string phase = (*backup)["status"].value("phase", "pending");
  int64_t owner = (*backup)["status"].value("/owner/pid"_json_pointer, int64_t{0});
  // Another process (a controller, apply --wait) claimed it first: not ours
  // to judge. Still pending: the child failed before it could claim it.
  if (phase != "pending" && owner != pid_) return;
  if (!BackupPhaseTerminal(phase)) {
    std::string reason =
        stop_reason_.empty()
            ? fmt::format("the backup process (pid {}) {} in phase {} without recording the end of the backup", pid_,
                          how, phase)
            : fmt::format("{}: the backup process (pid {}) was stopped and {}", stop_reason_, pid_, how);
    FailBackup(catalog, name_, reason);
  } else if (phase == "failed" && !stop_reason_.empty()) {
    // The child recorded "interrupted by SIGTERM ..."; say why it got it.
    Catalog::Transaction t(catalog);
    backup = catalog.LoadBackup(name_);
    if (backup) {
      (*backup)["status"]["error"] = stop_reason_ + ": " + (*backup)["status"].value("error", "");
      catalog.SaveBackup(*backup);
      catalog.AddEvent("Backup", name_, "Warning", "DeadlineExceeded", stop_reason_);
    }
    t.Commit();
  }
}

}  // namespace pgvault
