// `pgvault describe backup|cluster|scheduledbackup|instance NAME`: the object and its events, like
// `kubectl describe`.
#pragma once

#include <string>

namespace pgvault {

struct DescribeOptions {
  std::string config_path;  // "" = the applied clusters
  std::string state_dir;
  std::string kind;  // backup | cluster | scheduledbackup | instance
  std::string name;
};

std::string RunDescribe(const DescribeOptions& options);

}  // namespace pgvault
