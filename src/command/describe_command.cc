#include "command/describe_command.h"

#include <chrono>

#include <fmt/format.h>

#include "api/yaml_json.h"
#include "catalog/backup_lifecycle.h"
#include "api/backup_objects.h"
#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "cluster/cluster_status.h"
#include "controller/cron_schedule.h"
#include "controller/schedule_reconciler.h"
#include "core/error.h"
#include "core/timestamp.h"
#include "terminal/table.h"

namespace pgvault {

std::string RunDescribe(const DescribeOptions& o) {
  auto catalog = Catalog::Open(o.state_dir);
  FailAbandonedBackups(*catalog);
  std::string kind = o.kind;
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string text, event_kind;
  if (kind == "backup" || kind == "backups") {
    auto b = catalog->LoadBackup(o.name);
    if (!b) throw Error(fmt::format("backup '{}' not found", o.name));
    text = ToYaml(*b);
    event_kind = "Backup";
  } else if (kind == "cluster" || kind == "clusters") {
    ClusterConfig config = ResolveClusterConfig(o.config_path, *catalog);
    const ClusterSpec& cluster = config.Cluster(o.name);
    nlohmann::json object = cluster.manifest;
    object["status"] = ClusterBackupStatus(*catalog, cluster, ProbeArchiver(cluster));
    text = ToYaml(object);
    event_kind = "Cluster";
  } else if (kind == "scheduledbackup" || kind == "scheduledbackups") {
    auto r = catalog->LoadResource("ScheduledBackup", o.name);
    if (!r) throw Error(fmt::format("scheduledbackup '{}' not found", o.name));
    nlohmann::json object = r->object;
    object["metadata"]["creationTimestamp"] = r->created_at;
    object["status"] = r->status;
    if (!object["status"].contains("nextScheduleTime"))
      object["status"]["nextScheduleTime"] = NextScheduleTimeText(*r, std::chrono::system_clock::now());
    text = ToYaml(object);
    const auto& spec = r->object["spec"];
    text += fmt::format("Schedule: {}\n",
                        CronSchedule::Parse(spec.value("schedule", ""), spec.value("timeZone", "")).Describe());
    text += "Backups:\n";
    bool any = false;
    for (const auto& b : catalog->ListBackups()) {
      if (b.value("/metadata/labels"_json_pointer, nlohmann::json::object()).value(kScheduledBackupLabel, "") != o.name)
        continue;
      any = true;
      text += fmt::format("  {}  {}\n", b["metadata"].value("name", ""), b["status"].value("phase", ""));
    }
    if (!any) text += "  <none>\n";
    event_kind = "ScheduledBackup";
  } else if (kind == "instance" || kind == "instances") {
    text = fmt::format("Name: {}\n", o.name);
    if (auto f = catalog->LoadFence(o.name)) text += fmt::format("Fenced: since {} ({})\n", f->since, f->reason);
    event_kind = "Instance";
  } else {
    throw UsageError(fmt::format("describe: unknown kind '{}': use backup, cluster, scheduledbackup or instance", o.kind));
  }
  Table events({"TYPE", "REASON", "AGE", "MESSAGE"});
  auto now = std::chrono::system_clock::now();
  for (const auto& e : catalog->Events(event_kind, o.name)) {
    double age = 0;
    try {
      age = std::chrono::duration<double>(now - ParseTimestamp(e.at)).count();
    } catch (const std::exception&) {
    }
    events.AddRow({e.type, e.reason, FormatAge(age), e.message});
  }
  text += "Events:\n";
  if (events.empty()) return text + "  <none>\n";
  std::string rendered = events.Render();
  std::string indented;
  size_t start = 0;
  while (start < rendered.size()) {
    size_t end = rendered.find('\n', start);
    indented += "  " + rendered.substr(start, end - start + 1);
    start = end + 1;
  }
  return text + indented;
}

}  // namespace pgvault
