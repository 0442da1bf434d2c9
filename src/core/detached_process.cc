#include "core/detached_process.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"

namespace pgvault {

UniqueFd TryLockFile(const std::string& lock_path) {
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) throw Error(fmt::format("cannot open {}: {}", lock_path, ErrnoText(errno)));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return UniqueFd();
  return fd;
}

void StartDetachedUnlessRunning(const std::string& lock_path, const std::string& log_path,
                                const std::function<void()>& body) {
  {
    UniqueFd probe = TryLockFile(lock_path);
    if (!probe.valid()) return;  // one runs
  }
  pid_t child = ::fork();
  if (child < 0) throw Error(fmt::format("cannot start a background process: fork: {}", ErrnoText(errno)));
  if (child > 0) {
    int status;
    ::waitpid(child, &status, 0);
    return;
  }
  // The intermediate child detaches and leaves, so the caller never waits for
  // the background process and it is never a zombie of the caller.
  ::setsid();
  if (::fork() != 0) ::_exit(0);
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) ::dup2(null, 0);
  if (log >= 0) ::dup2(log, 1), ::dup2(log, 2);
  int code = 0;
  try {
    UniqueFd lock = TryLockFile(lock_path);  // lost a race: another one started meanwhile
    if (lock.valid()) body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pgvault background process: %s\n", e.what());
    code = 1;
  }
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace pgvault
