#include "cluster/cluster_status.h"

#include <fmt/format.h>

#include "catalog/backup_lifecycle.h"
#include "cluster/instance_status.h"
#include "core/timestamp.h"
#include "pg/connection.h"
#include "pg/lsn.h"

namespace pgvault {

using nlohmann::json;

ArchiverStatus ProbeArchiver(const ClusterSpec& cluster) {
  ArchiverStatus a;
  a.error = "no instance answered as a primary";
  for (const auto& instance : cluster.instances) {
    try {
      PgConnection conn(ConninfoWithTimeout(instance.conninfo, 5));
      if (conn.QueryValue("SELECT pg_is_in_recovery()") == "t") continue;
      auto rows = conn.Query(
          "SELECT archived_count, failed_count, coalesce(last_archived_wal, ''), coalesce(last_failed_wal, ''), "
          "extract(epoch FROM last_archived_time)::text, extract(epoch FROM last_failed_time)::text, "
          "extract(epoch FROM now())::text, current_setting('archive_mode'), pg_current_wal_lsn()::text, "
          "current_setting('wal_segment_size')::text FROM pg_stat_archiver");
      const auto& r = rows.at(0);
      a.known = true;
      a.error.clear();
      a.instance = instance.name;
      a.archived_count = std::stoll(r[0].value_or("0"));
      a.failed_count = std::stoll(r[1].value_or("0"));
      a.last_archived_wal = r[2].value_or("");
      a.last_failed_wal = r[3].value_or("");
      if (r[4]) a.last_archived_time = std::stod(*r[4]);
      if (r[5]) a.last_failed_time = std::stod(*r[5]);
      a.now = std::stod(r[6].value_or("0"));
      a.archive_mode = r[7].value_or("");
      Lsn current = ParseLsn(r[8].value_or("0/0"));
      std::string seg_text = r[9].value_or("16MB");
      uint64_t segment_size = 16ull << 20;
      if (seg_text.ends_with("MB")) segment_size = std::stoull(seg_text) << 20;
      if (seg_text.ends_with("GB")) segment_size = std::stoull(seg_text) << 30;
      // The archived segment ends at (its number + 1) * segment size.
      uint64_t archived_end = 0;
      if (a.last_archived_wal.size() >= 24) {
        uint64_t log = std::stoull(a.last_archived_wal.substr(8, 8), nullptr, 16);
        uint64_t seg = std::stoull(a.last_archived_wal.substr(16, 8), nullptr, 16);
        uint64_t per_log = 0x100000000ull / segment_size;
        archived_end = (log * per_log + seg + 1) * segment_size;
      }
      a.lag_bytes = current > archived_end ? current - archived_end : 0;
      return a;
    } catch (const std::exception& e) {
      a.error = fmt::format("{}: {}", instance.name, e.what());
    }
  }
  return a;
}

namespace {

std::string FromUnix(double seconds) {
  return FormatTimestamp(SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::duration<double>(seconds))));
}

json Condition(const std::string& type, bool ok, const std::string& reason, const std::string& message,
               const std::string& since) {
  return {{"type", type}, {"status", ok ? "True" : "False"}, {"reason", reason}, {"message", message},
          {"lastTransitionTime", since}};
}

}  // namespace

json ClusterBackupStatus(Catalog& catalog, const ClusterSpec& cluster, const std::optional<ArchiverStatus>& archiver) {
  json status = json::object();
  json first_by_method = json::object(), last_by_method = json::object();
  std::string first, last, last_failed, last_backup_name, last_outcome_time;
  bool last_outcome_ok = true;
  std::string last_outcome_message;
  for (const auto& b : catalog.ListBackups()) {
    if (b["spec"]["cluster"].value("name", "") != cluster.name) continue;
    const json& st = b["status"];
    std::string phase = st.value("phase", "");
    std::string stopped = st.value("stoppedAt", "");
    std::string method = b["spec"].value("method", "");
    if (phase == "completed" && !stopped.empty()) {
      if (first.empty() || stopped < first) first = stopped;
      if (stopped > last) last = stopped;
      if (!first_by_method.contains(method) || stopped < first_by_method[method].get<std::string>())
        first_by_method[method] = stopped;
      if (!last_by_method.contains(method) || stopped > last_by_method[method].get<std::string>())
        last_by_method[method] = stopped;
    }
    if (phase == "failed" && stopped > last_failed) last_failed = stopped;
    if (BackupPhaseTerminal(phase) && stopped >= last_outcome_time) {
      last_outcome_time = stopped;
      last_outcome_ok = phase == "completed";
      last_backup_name = b["metadata"].value("name", "");
      last_outcome_message = phase == "completed" ? "" : st.value("error", "");
    }
  }
  if (!first.empty()) {
    status["firstRecoverabilityPoint"] = first;
    status["firstRecoverabilityPointByMethod"] = first_by_method;
    status["lastSuccessfulBackup"] = last;
    status["lastSuccessfulBackupByMethod"] = last_by_method;
  }
  if (!last_failed.empty()) status["lastFailedBackup"] = last_failed;
  json conditions = json::array();
  if (!last_outcome_time.empty())
    conditions.push_back(Condition("LastBackupSucceeded", last_outcome_ok,
                                   last_outcome_ok ? "LastBackupSucceeded" : "LastBackupFailed",
                                   last_outcome_ok ? "backup " + last_backup_name + " completed"
                                                   : "backup " + last_backup_name + ": " + last_outcome_message,
                                   last_outcome_time));
  if (archiver) {
    const ArchiverStatus& a = *archiver;
    if (!a.known) {
      conditions.push_back(Condition("ContinuousArchiving", false, "ContinuousArchivingUnknown", a.error, ""));
    } else if (a.archive_mode == "off") {
      conditions.push_back(Condition("ContinuousArchiving", false, "ContinuousArchivingOff",
                                     "archive_mode is off on the primary " + a.instance, ""));
    } else {
      bool failing = a.last_failed_time && (!a.last_archived_time || *a.last_failed_time > *a.last_archived_time);
      std::string message =
          failing ? fmt::format("archiving {} failed at {} ({} failures in all)", a.last_failed_wal,
                                FromUnix(*a.last_failed_time), a.failed_count)
          : a.last_archived_time
              ? fmt::format("last archived {} at {}", a.last_archived_wal, FromUnix(*a.last_archived_time))
              : std::string("nothing archived yet");
      std::string since = failing ? FromUnix(*a.last_failed_time)
                          : a.last_archived_time ? FromUnix(*a.last_archived_time)
                                                 : "";
      conditions.push_back(Condition("ContinuousArchiving", !failing,
                                     failing ? "ContinuousArchivingFailing" : "ContinuousArchivingSuccess", message,
                                     since));
    }
  }
  if (!conditions.empty()) status["conditions"] = conditions;
  return status;
}

}  // namespace pgvault
