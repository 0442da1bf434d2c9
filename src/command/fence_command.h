// `pgvault fence on|off INSTANCE`: take an instance out of service by hand
// (clean stop, recorded in the catalog so nothing restarts it) and bring it
// back (start, wait until it streams again). `fence off` also clears a fence
// left behind by a pgvault that died during a cold backup.
#pragma once

#include <string>

namespace pgvault {

struct FenceOptions {
  std::string config_path;
  std::string state_dir;
  std::string instance;
  bool on = true;
};

// Returns what was done, in words.
std::string RunFence(const FenceOptions& options);

}  // namespace pgvault
