// Running programs from tests: pgvault itself, PostgreSQL's tools (as the
// postgres OS user when the tests run as root), and background load.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pgvault::test {

struct RunResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out, err;
};

// Runs argv to completion and captures its output.
RunResult Run(const std::vector<std::string>& argv);
// Same, through `runuser -u postgres --` when running as root.
RunResult RunAsPostgres(const std::vector<std::string>& argv);
// Runs and fails the calling test (ADD_FAILURE + throw) on non-zero exit.
std::string RunOk(const std::vector<std::string>& argv);
std::string RunAsPostgresOk(const std::vector<std::string>& argv);

// A background process whose output goes to a file; killed (SIGKILL to its
// process group) when destroyed unless it was waited for.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_path, bool as_postgres = false);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits; returns exit code (or -signal).
  int Wait();
  bool Running();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

bool RunningAsRoot();
std::string ShellQuote(const std::string& s);

}  // namespace pgvault::test
