// `pgvault check`: is this server's WAL archiving into this repository
// working, and within the RPO? Checks the settings, then forces a segment
// switch and waits for that segment to arrive in the repository.
#pragma once

#include <string>
#include <vector>

namespace pgvault {

struct CheckOptions {
  std::string repo;
  std::string conninfo;
  int timeout_seconds = 60;
  int rpo_seconds = 300;  // archive_timeout above this is a warning
};

struct CheckFinding {
  std::string level;  // ok | warning | error
  std::string message;
};

struct CheckResult {
  std::vector<CheckFinding> findings;
  bool ok() const;
};

CheckResult RunCheck(const CheckOptions& options);

}  // namespace pgvault
