// `pgvault repo gc --repo R [--dry-run]`: garbage collection of a repository
// (repo/garbage_collector.h) under the writer lock.
#pragma once

#include <string>

#include "repo/garbage_collector.h"

namespace pgvault {

struct RepoGcOptions {
  std::string repo;
  bool dry_run = false;
  double repack_threshold = 0.5;
  bool progress = true;
};

// Takes the writer lock (refusing at once, naming the holder, when a backup
// or another gc holds it) and collects garbage. A dry run takes the lock too,
// so that what it reports is not a backup's half-written state, but leaves
// even the leftovers of killed writers in place.
GcReport RunRepoGc(const RepoGcOptions& options);
std::string RenderGcReport(const GcReport& report, bool json);

}  // namespace pgvault
