#include "cluster/instance_status.h"

#include <fmt/format.h>

#include "pg/connection.h"

namespace pgvault {

std::string ConninfoWithTimeout(const std::string& conninfo, int seconds) {
  if (conninfo.rfind("postgres://", 0) == 0 || conninfo.rfind("postgresql://", 0) == 0) {
    if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
    return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") + fmt::format("connect_timeout={}", seconds);
  }
  if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
  return conninfo + fmt::format(" connect_timeout={}", seconds);
}

InstanceStatus ProbeInstance(const InstanceSpec& instance) {
  InstanceStatus s;
  s.name = instance.name;
  try {
    PgConnection conn(ConninfoWithTimeout(instance.conninfo, 5));
    s.major_version = conn.server_version() / 10000;
    auto rows = conn.Query(
        "SELECT pg_is_in_recovery(), "
        "CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text "
        "     ELSE pg_current_wal_lsn()::text END, "
        "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text ELSE pg_current_wal_lsn()::text END, "
        "(SELECT status FROM pg_stat_wal_receiver), "
        "CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() <> 'not paused' ELSE false END");
    const auto& r = rows.at(0);
    s.in_recovery = r[0].value_or("f") == "t";
    s.received = r[1] ? ParseLsn(*r[1]) : 0;
    s.replayed = r[2] ? ParseLsn(*r[2]) : 0;
    s.wal_receiver = r[3].value_or("");
    s.replay_paused = r[4].value_or("f") == "t";
    s.reachable = true;
  } catch (const std::exception& e) {
    s.error = e.what();
  }
  return s;
}

std::vector<InstanceStatus> ProbeCluster(const ClusterSpec& cluster) {
  std::vector<InstanceStatus> out;
  for (const auto& i : cluster.instances) out.push_back(ProbeInstance(i));
  return out;
}

}  // namespace pgvault
