// `pgvault expire [--cluster NAME] [--dry-run]`: applies a cluster's
// retention (spec.backup.retentionPolicy, spec.backup.keep, the
// pgvault.io/keep annotation; the rule is retention/retention_rule.h) to
// each place its backups live:
//   - the repository: backups (every committed manifest, whether or not a
//     Backup object names it) deleted manifest first, then garbage
//     collection, all under the repository's writer lock, so never while a
//     backup writes; then the archived WAL below the start of the oldest
//     backup kept (repository or snapshot) on every timeline;
//   - volume snapshot backups: their snapshots (per the class's
//     deletionPolicy) and records;
//   - failed Backup objects that ended before the oldest backup kept.
// The controller runs it after every completed backup of a cluster and at
// least every 30 minutes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/timestamp.h"

namespace pgvault {

struct ExpireOptions {
  std::string config_path;  // "" = the applied clusters
  std::string state_dir;
  std::string cluster;  // "" = the only cluster
  bool dry_run = false;
};

// What was (or, in a dry run, would be) kept and removed, and why.
nlohmann::json RunExpire(const ExpireOptions& options);
std::string RenderExpire(const nlohmann::json& report);

// The clock retention judges by: now, unless PGVAULT_TEST_NOW (RFC 3339)
// says otherwise — for tests only, which cannot wait for a day-long window.
SystemTime RetentionNow();

}  // namespace pgvault
