#include "core/command_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"

namespace pgvault {

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t'\"\\$") == std::string::npos;
    line += plain ? a : "'" + a + "'";
  }
  return line;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& as_user) {
  if (argv.empty()) throw Error("RunCommand: empty command");
  struct passwd* pw = nullptr;
  bool switch_user = false;
  if (!as_user.empty()) {
    pw = ::getpwnam(as_user.c_str());
    if (!pw) throw Error(fmt::format("cannot run {}: there is no OS user '{}'", argv[0], as_user));
    if (pw->pw_uid != ::geteuid()) {
      if (::geteuid() != 0)
        throw Error(fmt::format("cannot run {} as OS user '{}': pgvault runs as uid {}, not root; run pgvault as "
                                "'{}' or as root",
                                argv[0], as_user, ::geteuid(), as_user));
      switch_user = true;
    }
  }
  // Copy what the child needs before fork: no allocation after it.
  uid_t uid = pw ? pw->pw_uid : 0;
  gid_t gid = pw ? pw->pw_gid : 0;
  std::string user_name = as_user;
  std::string home = pw && pw->pw_dir ? pw->pw_dir : "/";
  std::string home_env = "HOME=" + home;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw Error(fmt::format("pipe: {}", ErrnoText(errno)));
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw Error(fmt::format("cannot start {}: fork: {}", argv[0], ErrnoText(err)));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      if (devnull != 0) ::close(devnull);
    }
    if (switch_user) {
      if (::initgroups(user_name.c_str(), gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
        const char* msg = "pgvault: cannot switch user\n";
        (void)!::write(2, msg, std::strlen(msg));
        ::_exit(127);
      }
      ::putenv(const_cast<char*>(home_env.c_str()));
      if (::chdir(home.c_str()) != 0) (void)!::chdir("/");
    }
    ::execvp(args[0], args.data());
    const char* msg = "pgvault: cannot execute the program\n";
    (void)!::write(2, msg, std::strlen(msg));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with a signal sent to the group before the child ran
  ::close(pipe_fds[1]);
  CommandResult result;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      result.output.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(fmt::format("waitpid for {}: {}", argv[0], ErrnoText(errno)));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

}  // namespace pgvault
