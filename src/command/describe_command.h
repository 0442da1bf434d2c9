// `pgvault describe backup|instance NAME`: the object and its events, like
// `kubectl describe`.
#pragma once

#include <string>

namespace pgvault {

struct DescribeOptions {
  std::string state_dir;
  std::string kind;  // backup | instance
  std::string name;
};

std::string RunDescribe(const DescribeOptions& options);

}  // namespace pgvault
