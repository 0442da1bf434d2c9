// What `pgvault controller --metrics-addr` serves: backups (last success,
// last failure, duration, size, counts by phase), recoverability, WAL
// archiving (pg_stat_archiver of each cluster's primary: archived and failed
// counts, last times, lag in bytes and seconds) and the schedules. Rendered
// on each scrape from the catalog (its own connection: the scrape runs on
// the metrics server's thread) and a short query to each primary.
#pragma once

#include <atomic>
#include <string>

namespace pgvault {

// Counted by the controller as it runs (reset when it restarts, as
// Prometheus counters may be).
struct ControllerCounters {
  std::atomic<uint64_t> backups_started{0};
  std::atomic<uint64_t> backups_failed{0};
};

std::string RenderControllerMetrics(const std::string& state_dir, const std::string& config_path,
                                    const ControllerCounters& counters);

}  // namespace pgvault
