// A cluster's backup status, in CloudNativePG's Cluster.status terms:
// firstRecoverabilityPoint, lastSuccessfulBackup, lastFailedBackup (and per
// method), the conditions LastBackupSucceeded and ContinuousArchiving. It is
// computed when asked for, from the catalog's Backup objects and (for
// archiving) the primary's pg_stat_archiver, so `get cluster` and
// `describe cluster` tell the truth whether or not a controller runs.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "cluster/cluster_spec.h"

namespace pgvault {

// WAL archiving as the primary sees it (pg_stat_archiver).
struct ArchiverStatus {
  bool known = false;        // a primary answered
  std::string instance;      // the primary
  std::string error;         // why not known
  std::string archive_mode;  // on, always, off
  int64_t archived_count = 0, failed_count = 0;
  std::string last_archived_wal, last_failed_wal;
  std::optional<double> last_archived_time, last_failed_time;  // unix seconds
  double now = 0;                                              // the server's clock, unix seconds
  uint64_t lag_bytes = 0;  // WAL written since the end of the last archived segment
};

ArchiverStatus ProbeArchiver(const ClusterSpec& cluster);

// The status object. `archiver` is nullopt when not probed (the archiving
// condition is then left out).
nlohmann::json ClusterBackupStatus(Catalog& catalog, const ClusterSpec& cluster,
                                   const std::optional<ArchiverStatus>& archiver);

}  // namespace pgvault
