#include "controller/controller_metrics.h"

#include <map>

#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "cluster/cluster_status.h"
#include "controller/prometheus_text.h"
#include "controller/schedule_reconciler.h"
#include "core/timestamp.h"

namespace pgvault {
namespace {

using nlohmann::json;

double Unix(const std::string& rfc3339) {
  try {
    return std::chrono::duration<double>(ParseTimestamp(rfc3339).time_since_epoch()).count();
  } catch (const std::exception&) {
    return 0;
  }
}

struct LastBackup {
  std::string stopped;
  json object;
};

}  // namespace

std::string RenderControllerMetrics(const std::string& state_dir, const std::string& config_path,
                                    const ControllerCounters& counters) {
  PrometheusText t;
  auto catalog = Catalog::Open(state_dir);
  ClusterConfig config = ResolveClusterConfig(config_path, *catalog);
  t.Declare("pgvault_controller_up", MetricType::kGauge, "1 while the controller runs.");
  t.Add("pgvault_controller_up", 1);
  t.Declare("pgvault_controller_backups_started_total", MetricType::kCounter,
            "Backups this controller process started.");
  t.Add("pgvault_controller_backups_started_total", static_cast<double>(counters.backups_started.load()));
  t.Declare("pgvault_controller_backups_failed_total", MetricType::kCounter,
            "Backups this controller process ran that failed.");
  t.Add("pgvault_controller_backups_failed_total", static_cast<double>(counters.backups_failed.load()));

  t.Declare("pgvault_backups", MetricType::kGauge, "Backup objects by cluster and phase.");
  t.Declare("pgvault_backup_last_success_timestamp_seconds", MetricType::kGauge,
            "When the last completed backup of the cluster ended (by method), Unix time; 0 if none.");
  t.Declare("pgvault_backup_last_duration_seconds", MetricType::kGauge,
            "How long the last completed backup took, from start to end (by method).");
  t.Declare("pgvault_backup_last_size_bytes", MetricType::kGauge,
            "Size of the data of the last completed backup (by method): files backed up, or snapshot sizes.");
  t.Declare("pgvault_backup_last_failure_timestamp_seconds", MetricType::kGauge,
            "When the last failed backup of the cluster ended, Unix time; 0 if none.");
  t.Declare("pgvault_first_recoverability_point_timestamp_seconds", MetricType::kGauge,
            "The earliest point the cluster can be recovered to from its backups, Unix time; 0 if none.");
  t.Declare("pgvault_wal_archived_total", MetricType::kCounter, "WAL files archived (pg_stat_archiver).");
  t.Declare("pgvault_wal_archive_failed_total", MetricType::kCounter,
            "Failed attempts to archive WAL files (pg_stat_archiver).");
  t.Declare("pgvault_wal_last_archived_timestamp_seconds", MetricType::kGauge,
            "When the last WAL file was archived, Unix time; 0 if never.");
  t.Declare("pgvault_wal_last_failed_timestamp_seconds", MetricType::kGauge,
            "When archiving a WAL file last failed, Unix time; 0 if never.");
  t.Declare("pgvault_wal_archive_lag_bytes", MetricType::kGauge,
            "WAL written on the primary since the end of the last archived segment.");
  t.Declare("pgvault_wal_archive_lag_seconds", MetricType::kGauge,
            "Seconds since the last WAL file was archived (the server's clock).");
  t.Declare("pgvault_wal_archiving_ok", MetricType::kGauge,
            "1 when the last archive attempt succeeded (condition ContinuousArchiving), 0 when it failed or the "
            "primary cannot be asked.");

  FailAbandonedBackups(*catalog);
  std::vector<json> backups = catalog->ListBackups();
  for (const auto& c : config.clusters) {
    std::map<std::string, int> by_phase = {{"pending", 0}, {"started", 0},   {"running", 0},
                                           {"finalizing", 0}, {"completed", 0}, {"failed", 0}};
    std::map<std::string, LastBackup> last_by_method;
    std::string last_failed;
    for (const auto& b : backups) {
      if (b["spec"]["cluster"].value("name", "") != c.name) continue;
      const json& st = b["status"];
      std::string phase = st.value("phase", "pending");
      by_phase[phase]++;
      std::string stopped = st.value("stoppedAt", "");
      std::string method = b["spec"].value("method", "");
      if (phase == "completed" && stopped > last_by_method[method].stopped) last_by_method[method] = {stopped, b};
      if (phase == "failed" && stopped > last_failed) last_failed = stopped;
    }
    for (const auto& [phase, n] : by_phase) t.Add("pgvault_backups", {{"cluster", c.name}, {"phase", phase}}, n);
    for (const char* method : {"barmanObjectStore", "volumeSnapshot"}) {
      MetricLabels labels = {{"cluster", c.name}, {"method", method}};
      auto it = last_by_method.find(method);
      if (it == last_by_method.end() && std::string(method) == "barmanObjectStore")
        it = last_by_method.find("repository");
      if (it == last_by_method.end() || it->second.stopped.empty()) {
        t.Add("pgvault_backup_last_success_timestamp_seconds", labels, 0);
        continue;
      }
      const json& st = it->second.object["status"];
      t.Add("pgvault_backup_last_success_timestamp_seconds", labels, Unix(it->second.stopped));
      t.Add("pgvault_backup_last_duration_seconds", labels,
            Unix(it->second.stopped) - Unix(st.value("startedAt", it->second.stopped)));
      double size = st.value("size", 0.0);
      if (std::string(method) == "volumeSnapshot")
        for (const auto& s : catalog->ListSnapshots())
          if (s["spec"].value("backup", "") == it->second.object["metadata"].value("name", ""))
            size += s["status"].value("restoreSize", 0.0);
      t.Add("pgvault_backup_last_size_bytes", labels, size);
    }
    t.Add("pgvault_backup_last_failure_timestamp_seconds", {{"cluster", c.name}}, last_failed.empty() ? 0 : Unix(last_failed));
    ArchiverStatus a = ProbeArchiver(c);
    json status = ClusterBackupStatus(*catalog, c, a);
    t.Add("pgvault_first_recoverability_point_timestamp_seconds", {{"cluster", c.name}},
          Unix(status.value("firstRecoverabilityPoint", "")));
    MetricLabels cl = {{"cluster", c.name}};
    bool ok = false;
    for (const auto& cond : status.value("conditions", json::array()))
      if (cond.value("type", "") == "ContinuousArchiving") ok = cond.value("status", "") == "True";
    t.Add("pgvault_wal_archiving_ok", cl, ok ? 1 : 0);
    if (!a.known) continue;
    t.Add("pgvault_wal_archived_total", cl, static_cast<double>(a.archived_count));
    t.Add("pgvault_wal_archive_failed_total", cl, static_cast<double>(a.failed_count));
    t.Add("pgvault_wal_last_archived_timestamp_seconds", cl, a.last_archived_time.value_or(0));
    t.Add("pgvault_wal_last_failed_timestamp_seconds", cl, a.last_failed_time.value_or(0));
    t.Add("pgvault_wal_archive_lag_bytes", cl, static_cast<double>(a.lag_bytes));
    if (a.last_archived_time) t.Add("pgvault_wal_archive_lag_seconds", cl, a.now - *a.last_archived_time);
  }

  t.Declare("pgvault_scheduled_backup_next_timestamp_seconds", MetricType::kGauge,
            "When the ScheduledBackup runs next, Unix time (0 when suspended).");
  t.Declare("pgvault_scheduled_backup_last_timestamp_seconds", MetricType::kGauge,
            "Nominal time of the last Backup the ScheduledBackup made, Unix time; 0 if none.");
  auto now = std::chrono::system_clock::now();
  for (const auto& s : catalog->ListResources("ScheduledBackup")) {
    MetricLabels labels = {{"scheduledbackup", s.name}, {"cluster", s.object["spec"]["cluster"].value("name", "")}};
    bool suspended = s.object["spec"].value("suspend", false);
    std::string next = s.status.value("nextScheduleTime", NextScheduleTimeText(s, now));
    t.Add("pgvault_scheduled_backup_next_timestamp_seconds", labels, suspended ? 0 : Unix(next));
    t.Add("pgvault_scheduled_backup_last_timestamp_seconds", labels, Unix(s.status.value("lastScheduleTime", "")));
  }
  return t.Render();
}

}  // namespace pgvault
