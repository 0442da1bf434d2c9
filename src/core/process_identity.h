// Which process holds something (a fence, a running backup), in a form that
// survives the process: host, pid and the pid's start time, so that a reused
// pid is not mistaken for the original owner.
#pragma once

#include <cstdint>
#include <string>

namespace pgvault {

struct ProcessIdentity {
  std::string host;
  int64_t pid = 0;
  uint64_t start_ticks = 0;  // field 22 of /proc/PID/stat
  // The pid namespace ("pid:[4026531836]"): containers sharing the host's
  // name do not share pids. "" when unknown (older records).
  std::string pid_namespace;
};

// This process. Throws if /proc cannot tell its start time.
ProcessIdentity CurrentProcess();
// False only when the process is known to be gone (same host and pid
// namespace, and the pid is absent or started at another time); a process of
// another host or namespace counts as alive.
bool ProcessAlive(const ProcessIdentity& process);
std::string HostName();

}  // namespace pgvault
