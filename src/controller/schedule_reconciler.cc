#include "controller/schedule_reconciler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/backup_objects.h"
#include "catalog/backup_lifecycle.h"
#include "controller/cron_schedule.h"

namespace pgvault {
namespace {

using nlohmann::json;

// YYYYMMDDhhmmss, UTC, as CloudNativePG names scheduled backups.
std::string NameTime(SystemTime t) {
  std::string id = FormatBackupIdTime(t);  // 20261124T135300
  return id.erase(8, 1);
}

CronSchedule ScheduleOf(const ResourceRecord& r) {
  const json& spec = r.object["spec"];
  return CronSchedule::Parse(spec.value("schedule", ""), spec.value("timeZone", ""));
}

json MakeBackup(const ResourceRecord& schedule, const std::string& name, bool immediate, SystemTime now) {
  const json& spec = schedule.object["spec"];
  std::string cluster = spec["cluster"].value("name", "");
  json labels = {{kClusterLabel, cluster},
                 {kScheduledBackupLabel, schedule.name},
                 {kImmediateBackupLabel, immediate ? "true" : "false"}};
  json metadata = {{"name", name}, {"creationTimestamp", FormatTimestamp(now)}, {"labels", labels}};
  if (auto a = schedule.object["metadata"].find("annotations"); a != schedule.object["metadata"].end())
    metadata["annotations"] = *a;
  std::string owner = spec.value("backupOwnerReference", "none");
  if (owner == "self")
    metadata["ownerReferences"] = json::array({{{"kind", "ScheduledBackup"}, {"name", schedule.name}}});
  else if (owner == "cluster")
    metadata["ownerReferences"] = json::array({{{"kind", "Cluster"}, {"name", cluster}}});
  json backup_spec = {{"cluster", {{"name", cluster}}}, {"method", spec.value("method", "barmanObjectStore")}};
  for (const char* key : {"target", "online", "onlineConfiguration"})
    if (spec.contains(key)) backup_spec[key] = spec[key];
  return {{"apiVersion", kCnpgApiVersion},
          {"kind", "Backup"},
          {"metadata", metadata},
          {"spec", backup_spec},
          {"status", {{"phase", "pending"}}}};
}

}  // namespace

std::string NextScheduleTimeText(const ResourceRecord& schedule, SystemTime now) {
  try {
    return FormatTimestamp(ScheduleOf(schedule).Next(now));
  } catch (const std::exception&) {
    return "";
  }
}

ScheduleOutcome ReconcileSchedule(Catalog& catalog, const ResourceRecord& schedule, SystemTime now) {
  ScheduleOutcome outcome;
  CronSchedule cron = ScheduleOf(schedule);
  const json& spec = schedule.object["spec"];
  json status = schedule.status.is_object() ? schedule.status : json::object();
  json before = status;
  std::string now_text = FormatTimestamp(now);

  auto create = [&](SystemTime nominal, bool immediate) {
    std::string name = fmt::format("{}-{}", schedule.name, NameTime(nominal));
    if (catalog.LoadBackup(name)) {
      spdlog::warn("scheduledbackup {}: backup {} exists already; not made again", schedule.name, name);
      return;
    }
    catalog.SaveBackup(MakeBackup(schedule, name, immediate, now));
    catalog.AddEvent("ScheduledBackup", schedule.name, "Normal", "BackupScheduled",
                     fmt::format("Created backup {}{}", name, immediate ? " (immediate)" : ""));
    catalog.AddEvent("Backup", name, "Normal", "Created",
                     fmt::format("Backup created by scheduledbackup {}", schedule.name));
    status["lastScheduleTime"] = FormatTimestamp(nominal);
    status["lastBackupName"] = name;
    outcome.created = name;
  };

  Catalog::Transaction t(catalog);
  bool suspended = spec.value("suspend", false);
  if (!status.contains("lastCheckTime")) {
    if (spec.value("immediate", false) && !suspended) create(now, true);
    status["lastCheckTime"] = now_text;
  } else {
    SystemTime due = cron.Next(ParseTimestamp(status["lastCheckTime"].get<std::string>()));
    if (now >= due && suspended) {
      // Passed over: resuming later does not catch up on it.
      status["lastCheckTime"] = now_text;
    } else if (now >= due) {
      bool busy = false;
      for (const auto& b : catalog.ListBackups())
        if (b.value("/metadata/labels"_json_pointer, json::object()).value(kScheduledBackupLabel, "") ==
                schedule.name &&
            !BackupPhaseTerminal(b["status"].value("phase", "pending")))
          busy = true;
      if (busy) {
        // Made as soon as the earlier one ends: lastCheckTime stays.
        status["nextScheduleTime"] = FormatTimestamp(due);
        outcome.next_time = now + std::chrono::seconds(1);
      } else {
        // Runs missed while pgvault was down (or busy) make one backup, named
        // after the latest of them.
        SystemTime nominal = due;
        for (int i = 0; i < 100000; ++i) {
          SystemTime n = cron.Next(nominal);
          if (n > now) break;
          nominal = n;
        }
        create(nominal, false);
        status["lastCheckTime"] = now_text;
      }
    }
  }
  if (!outcome.next_time) {
    SystemTime next = cron.Next(ParseTimestamp(status["lastCheckTime"].get<std::string>()));
    status["nextScheduleTime"] = FormatTimestamp(next);
    outcome.next_time = next;
  }
  if (status != before) catalog.SaveResourceStatus("ScheduledBackup", schedule.name, status);
  t.Commit();
  return outcome;
}

}  // namespace pgvault
