#include "cluster/backup_target.h"

#include <algorithm>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "core/error.h"

namespace pgvault {
namespace {

std::string Describe(const InstanceStatus& s) {
  if (!s.reachable) return fmt::format("{}: not reachable ({})", s.name, s.error);
  if (s.fenced) return fmt::format("{}: fenced", s.name);
  if (!s.in_recovery) return fmt::format("{}: primary at {}", s.name, FormatLsn(s.received));
  return fmt::format("{}: standby, received {}, replayed {}{}, WAL receiver {}", s.name, FormatLsn(s.received),
                     FormatLsn(s.replayed), s.replay_paused ? " (replay paused)" : "",
                     s.wal_receiver.empty() ? "not running" : s.wal_receiver);
}

}  // namespace

bool IsHealthyStandby(const InstanceStatus& s) {
  return s.reachable && s.in_recovery && !s.fenced && s.wal_receiver == "streaming";
}

BackupTargetChoice ChooseBackupTarget(const std::vector<InstanceStatus>& instances, const std::string& target) {
  std::vector<const InstanceStatus*> primaries, standbys;
  std::string states;
  for (const auto& s : instances) {
    states += (states.empty() ? "" : "; ") + Describe(s);
    if (s.reachable && !s.in_recovery) primaries.push_back(&s);
    if (IsHealthyStandby(s)) standbys.push_back(&s);
  }
  if (primaries.size() > 1)
    throw Error(fmt::format("more than one instance is a primary ({}, {}): refusing to back up a cluster in "
                            "split-brain; instances: {}",
                            primaries[0]->name, primaries[1]->name, states));
  const InstanceStatus* primary = primaries.empty() ? nullptr : primaries[0];
  if (target == "prefer-standby" || target.empty()) {
    if (!standbys.empty()) {
      std::sort(standbys.begin(), standbys.end(), [](const InstanceStatus* a, const InstanceStatus* b) {
        if (a->received != b->received) return a->received > b->received;
        if (a->replayed != b->replayed) return a->replayed > b->replayed;
        return a->name < b->name;
      });
      const auto* best = standbys[0];
      return {best->name, false,
              fmt::format("prefer-standby: {} is the most up-to-date healthy standby (received {}, replayed {}); "
                          "instances: {}",
                          best->name, FormatLsn(best->received), FormatLsn(best->replayed), states)};
    }
    if (!primary)
      throw Error(fmt::format("no instance can be backed up: no healthy streaming standby and no reachable primary; "
                              "instances: {}",
                              states));
    if (primary->fenced) throw Error(fmt::format("the primary {} is fenced; instances: {}", primary->name, states));
    return {primary->name, true,
            fmt::format("prefer-standby: no healthy streaming standby, falling back to the primary {}; instances: {}",
                        primary->name, states)};
  }
  if (target != "primary") throw UsageError(fmt::format("backup target '{}' is not primary or prefer-standby", target));
  if (!primary) throw Error(fmt::format("target primary: no reachable primary; instances: {}", states));
  if (primary->fenced) throw Error(fmt::format("the primary {} is fenced; instances: {}", primary->name, states));
  return {primary->name, true, fmt::format("target primary: {}", primary->name)};
}

BackupTargetChoice SelectBackupInstance(const ClusterSpec& cluster, Catalog& catalog, const std::string& target) {
  auto statuses = ProbeCluster(cluster);
  for (auto& s : statuses)
    if (catalog.LoadFence(s.name)) s.fenced = true;
  return ChooseBackupTarget(statuses, target);
}

}  // namespace pgvault
