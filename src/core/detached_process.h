// Background helpers that outlive the command that started them (the
// asynchronous WAL archiver, the WAL prefetcher): one per lock file.
#pragma once

#include <functional>
#include <string>

#include "core/unique_fd.h"

namespace pgvault {

// Holds the flock on `lock_path` if it is free; an invalid fd when another
// process holds it.
UniqueFd TryLockFile(const std::string& lock_path);

// Unless a process holds `lock_path`, starts `body` in a detached process
// (double fork, new session, stdin from /dev/null, stdout and stderr appended
// to `log_path`) that holds the lock while it runs. Returns at once. Call it
// from a single-threaded process: it forks.
void StartDetachedUnlessRunning(const std::string& lock_path, const std::string& log_path,
                                const std::function<void()>& body);

}  // namespace pgvault
