#include "cluster/cluster_config_source.h"

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

ClusterConfig AppliedClusterConfig(Catalog& catalog) {
  std::vector<nlohmann::json> docs;
  std::vector<std::string> where;
  for (const char* kind : {"VolumeSnapshotClass", "Cluster"}) {
    for (auto& r : catalog.ListResources(kind)) {
      docs.push_back(r.object);
      where.push_back(fmt::format("{} {} (applied {})", kind, r.name, r.updated_at));
    }
  }
  return ClusterConfigFromDocuments(docs, fmt::format("the applied objects in {}", catalog.path()), where);
}

ClusterConfig ResolveClusterConfig(const std::string& config_path, Catalog& catalog) {
  if (!config_path.empty()) return LoadClusterConfig(config_path);
  ClusterConfig config = AppliedClusterConfig(catalog);
  if (config.clusters.empty() && config.classes.empty())
    throw UsageError(fmt::format("no cluster is defined: apply one (pgvault apply -f cluster.yaml) or name a cluster "
                                 "file with --config FILE (or PGVAULT_CONFIG); catalog: {}",
                                 catalog.path()));
  return config;
}

ClusterConfig ResolveClusterConfig(const std::string& config_path, const std::string& state_dir) {
  if (!config_path.empty()) return LoadClusterConfig(config_path);
  auto catalog = Catalog::Open(state_dir);
  return ResolveClusterConfig(config_path, *catalog);
}

}  // namespace pgvault
