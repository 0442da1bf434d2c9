// Where a command finds the clusters: the cluster file named by --config
// (PGVAULT_CONFIG) when one is given, else the Cluster and
// VolumeSnapshotClass objects applied with `pgvault apply -f` (the catalog).
// Both hold the same documents and are read by the same rules.
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "cluster/cluster_spec.h"

namespace pgvault {

ClusterConfig ResolveClusterConfig(const std::string& config_path, Catalog& catalog);
// Opens the catalog only when no file is given.
ClusterConfig ResolveClusterConfig(const std::string& config_path, const std::string& state_dir);

// The applied objects alone (no file); empty when nothing was applied.
ClusterConfig AppliedClusterConfig(Catalog& catalog);

}  // namespace pgvault
