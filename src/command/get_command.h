// `pgvault get cluster|backup|scheduledbackup|volumesnapshot|volumesnapshotclass [NAME]`: tables like
// `kubectl get`, or the objects with -o json|yaml.
#pragma once

#include <string>

namespace pgvault {

struct GetOptions {
  std::string config_path;
  std::string state_dir;
  std::string kind;    // volumesnapshot(s), volumesnapshotclass(es), backup(s)
  std::string name;    // "" = all
  std::string output;  // "" (table), wide, json, yaml
};

std::string RunGet(const GetOptions& options);

// "backup", "cluster", ... from what users type: plurals, kubectl's full
// names (backup.postgresql.cnpg.io), short names (vs). Throws for others.
std::string CanonicalKind(std::string kind);

}  // namespace pgvault
