#include "command/status_command.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "cluster/fencing.h"
#include "cluster/instance_status.h"
#include "terminal/table.h"

namespace pgvault {

std::string RenderStatus(const StatusOptions& o) {
  auto catalog = Catalog::Open(o.state_dir);
  ClusterConfig config = ResolveClusterConfig(o.config_path, *catalog);
  nlohmann::json out = nlohmann::json::array();
  Table table({"CLUSTER", "INSTANCE", "ROLE", "STATUS", "RECEIVED", "REPLAYED", "FENCE"});
  for (const auto& c : config.clusters) {
    if (!o.cluster.empty() && c.name != o.cluster) continue;
    for (const auto& i : c.instances) {
      InstanceStatus s = ProbeInstance(i);
      auto fence = catalog->LoadFence(i.name);
      std::string role = !s.reachable ? "-" : s.in_recovery ? "standby" : "primary";
      std::string status = !s.reachable ? "down"
                           : s.in_recovery
                               ? (s.wal_receiver.empty() ? "not streaming" : s.wal_receiver) +
                                     std::string(s.replay_paused ? ", replay paused" : "")
                               : "running";
      std::string fence_text = fence ? DescribeFence(*fence) : "";
      table.AddRow({c.name, i.name, role, status, s.reachable ? FormatLsn(s.received) : "-",
                    s.reachable ? FormatLsn(s.replayed) : "-", fence ? (FenceOwnerAlive(*fence) ? "fenced" : "fenced (orphaned)") : ""});
      nlohmann::json item = {{"cluster", c.name},
                             {"instance", i.name},
                             {"reachable", s.reachable},
                             {"role", role},
                             {"status", status},
                             {"receivedLSN", s.reachable ? FormatLsn(s.received) : ""},
                             {"replayedLSN", s.reachable ? FormatLsn(s.replayed) : ""},
                             {"walReceiver", s.wal_receiver},
                             {"replayPaused", s.replay_paused},
                             {"fenced", fence.has_value()}};
      if (!s.reachable) item["error"] = s.error;
      if (fence) {
        item["fence"] = {{"reason", fence->reason},     {"since", fence->since},
                         {"ownerPid", fence->owner_pid}, {"ownerHost", fence->owner_host},
                         {"ownerAlive", FenceOwnerAlive(*fence)}, {"message", fence_text}};
      }
      out.push_back(item);
    }
  }
  if (o.json) return out.dump(2) + "\n";
  std::string text = table.Render();
  for (const auto& item : out)
    if (item.contains("fence")) text += fmt::format("{}: {}\n", item["instance"].get<std::string>(),
                                                      item["fence"]["message"].get<std::string>());
  return text;
}

}  // namespace pgvault
