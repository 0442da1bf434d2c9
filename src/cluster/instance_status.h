// What an instance of a cluster is doing right now, as seen over SQL: role,
// WAL positions, whether it streams from the primary. Target selection and
// `pgvault status` read it.
#pragma once

#include <string>
#include <vector>

#include "cluster/cluster_spec.h"
#include "pg/lsn.h"

namespace pgvault {

struct InstanceStatus {
  std::string name;
  bool reachable = false;
  std::string error;          // why not reachable
  bool in_recovery = false;   // a standby
  Lsn received = 0;           // standby: pg_last_wal_receive_lsn(); primary: pg_current_wal_lsn()
  Lsn replayed = 0;           // standby: pg_last_wal_replay_lsn(); primary: the same as received
  std::string wal_receiver;   // standby: pg_stat_wal_receiver.status ("streaming"), "" when none
  bool replay_paused = false;
  int major_version = 0;
  bool fenced = false;        // from the catalog
};

// Connects (5 s timeout) and reads the status; never throws for an
// unreachable server (reachable = false, error set).
InstanceStatus ProbeInstance(const InstanceSpec& instance);
std::vector<InstanceStatus> ProbeCluster(const ClusterSpec& cluster);

// The conninfo with a connection timeout, so a dead host cannot hang pgvault.
std::string ConninfoWithTimeout(const std::string& conninfo, int seconds);

}  // namespace pgvault
