// Which instance a backup runs on (CloudNativePG's target election):
// `primary`, or `prefer-standby`: among healthy streaming standbys the one
// with the highest received LSN, then the highest replayed LSN, then the
// name; the primary when there is none.
#pragma once

#include <string>
#include <vector>

#include "cluster/instance_status.h"

namespace pgvault {

class Catalog;

struct BackupTargetChoice {
  std::string instance;
  bool is_primary = false;
  std::string reason;  // recorded on the backup: why this instance
};

// A healthy standby: reachable, in recovery, its WAL receiver streaming, not fenced.
bool IsHealthyStandby(const InstanceStatus& s);

// Throws an Error naming every instance's state when nothing qualifies (no
// reachable primary for `primary`; neither standby nor primary otherwise) or
// when two instances claim to be primary.
BackupTargetChoice ChooseBackupTarget(const std::vector<InstanceStatus>& instances, const std::string& target);

// Probes every instance of `cluster`, marks those fenced in `catalog`, and
// chooses: what both snapshot and repository backups of a cluster call.
BackupTargetChoice SelectBackupInstance(const ClusterSpec& cluster, Catalog& catalog, const std::string& target);

}  // namespace pgvault
