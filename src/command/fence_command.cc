#include "command/fence_command.h"

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "cluster/fencing.h"
#include "cluster/instance_control.h"
#include "core/error.h"

namespace pgvault {

std::string RunFence(const FenceOptions& o) {
  auto catalog = Catalog::Open(o.state_dir);
  ClusterConfig config = ResolveClusterConfig(o.config_path, *catalog);
  const ClusterSpec& cluster = config.ClusterOfInstance(o.instance);
  const InstanceSpec& instance = cluster.Instance(o.instance);
  auto existing = catalog->LoadFence(o.instance);
  if (o.on) {
    if (existing) throw Error(fmt::format("instance {} is already {}", o.instance, DescribeFence(*existing)));
    FenceInstance(*catalog, cluster, instance, "fence on", false, "Instance", o.instance);
    return fmt::format("instance {} is fenced (stopped); 'pgvault fence off {}' brings it back", o.instance,
                       o.instance);
  }
  if (!existing) {
    if (InstanceRunning(instance)) return fmt::format("instance {} is not fenced", o.instance);
    // Not fenced but down: starting it is what the user asks for anyway.
  } else if (existing->owner_pid != 0 && FenceOwnerAlive(*existing)) {
    throw Error(fmt::format("instance {} is {}: that backup unfences it when it ends (stop it with SIGTERM to end it "
                            "now)",
                            o.instance, DescribeFence(*existing)));
  }
  UnfenceInstance(*catalog, instance, true, "Instance", o.instance);
  return fmt::format("instance {} is unfenced and {}", o.instance,
                     "serving again");
}

}  // namespace pgvault
