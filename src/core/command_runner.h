// Running another program (pg_ctl, pg_controldata, systemctl) to completion
// and capturing what it printed. As root, a program can be run as another OS
// user (PostgreSQL refuses to run as root). The child gets a process group of
// its own, so a Ctrl-C meant for pgvault does not kill a pg_ctl half-way: the
// interrupted pgvault decides what to do and cleans up.
#pragma once

#include <string>
#include <vector>

namespace pgvault {

struct CommandResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string output;  // stdout and stderr, interleaved
  bool ok() const { return exit_code == 0; }
};

// `as_user` "" runs as the current user; otherwise, as root, switches to that
// user (its groups, its home in HOME); not as root, it must be the current user.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& as_user = "");

// The argv as one line for messages.
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace pgvault
