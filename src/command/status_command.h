// `pgvault status`: every instance of the cluster(s) in the cluster file with
// its role, WAL positions, streaming state and fence.
#pragma once

#include <string>

namespace pgvault {

struct StatusOptions {
  std::string config_path;
  std::string state_dir;
  std::string cluster;  // "" = all
  bool json = false;
};

std::string RenderStatus(const StatusOptions& options);

}  // namespace pgvault
