#include "command/get_command.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/yaml_json.h"
#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "cluster/cluster_status.h"
#include "controller/schedule_reconciler.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "core/timestamp.h"
#include "terminal/table.h"

namespace pgvault {
namespace {

using nlohmann::json;

double AgeSeconds(const std::string& rfc3339) {
  if (rfc3339.empty()) return 0;
  try {
    return std::chrono::duration<double>(std::chrono::system_clock::now() - ParseTimestamp(rfc3339)).count();
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::string CanonicalKind(std::string kind) {
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto dot = kind.find('.'); dot != std::string::npos) kind.resize(dot);  // backup.postgresql.cnpg.io
  if (kind == "volumesnapshot" || kind == "volumesnapshots" || kind == "vs") return "volumesnapshot";
  if (kind == "volumesnapshotclass" || kind == "volumesnapshotclasses" || kind == "vsclass")
    return "volumesnapshotclass";
  if (kind == "backup" || kind == "backups") return "backup";
  if (kind == "scheduledbackup" || kind == "scheduledbackups") return "scheduledbackup";
  if (kind == "cluster" || kind == "clusters") return "cluster";
  throw UsageError(fmt::format("unknown kind '{}': use cluster, backup, scheduledbackup, volumesnapshot or "
                               "volumesnapshotclass",
                               kind));
}

namespace {

std::string Emit(const std::vector<json>& items, const std::string& output, bool single) {
  json value = single && items.size() == 1 ? items[0] : json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
  if (output == "json") return value.dump(2) + "\n";
  return ToYaml(value);
}

}  // namespace

std::string RunGet(const GetOptions& o) {
  std::string kind = CanonicalKind(o.kind);
  if (!o.output.empty() && o.output != "json" && o.output != "yaml" && o.output != "wide")
    throw UsageError(fmt::format("-o {}: use json, yaml or wide", o.output));
  bool structured = o.output == "json" || o.output == "yaml";
  bool wide = o.output == "wide";
  std::vector<json> items;
  auto catalog = Catalog::Open(o.state_dir);
  FailAbandonedBackups(*catalog);
  auto now = std::chrono::system_clock::now();

  if (kind == "volumesnapshotclass") {
    ClusterConfig config = ResolveClusterConfig(o.config_path, *catalog);
    Table table({"NAME", "DRIVER", "DELETIONPOLICY", "AGE"});
    for (const auto& k : config.classes) {
      if (!o.name.empty() && k.name != o.name) continue;
      items.push_back(k.manifest);
      auto applied = catalog->LoadResource("VolumeSnapshotClass", k.name);
      table.AddRow({k.name + (k.is_default ? " (default)" : ""), k.driver, k.deletion_policy,
                    applied && o.config_path.empty() ? FormatAge(AgeSeconds(applied->created_at)) : "-"});
    }
    if (!o.name.empty() && items.empty())
      throw Error(fmt::format("volumesnapshotclass '{}' not found in {}", o.name, config.origin));
    if (structured) return Emit(items, o.output, !o.name.empty());
    return table.empty() ? "No resources found.\n" : table.Render();
  }

  if (kind == "cluster") {
    ClusterConfig config = ResolveClusterConfig(o.config_path, *catalog);
    std::vector<std::string> headers = {"NAME", "AGE", "INSTANCES", "REPOSITORY", "LAST BACKUP",
                                        "FIRST RECOVERABILITY POINT"};
    if (wide) headers.insert(headers.end(), {"RETENTION", "TARGET"});
    Table table(headers);
    for (const auto& c : config.clusters) {
      if (!o.name.empty() && c.name != o.name) continue;
      auto applied = catalog->LoadResource("Cluster", c.name);
      // Structured output asks the primary about archiving; the table does not connect anywhere.
      std::optional<ArchiverStatus> archiver;
      if (structured) archiver = ProbeArchiver(c);
      json status = ClusterBackupStatus(*catalog, c, archiver);
      json item = c.manifest;
      item["status"] = status;
      items.push_back(item);
      std::string last = status.value("lastSuccessfulBackup", "");
      std::string retention = c.backup.retention.WindowText();
      if (c.backup.retention.keep) retention += (retention.empty() ? "" : ", ") + fmt::format("keep {}", c.backup.retention.keep);
      std::vector<std::string> row = {
          c.name, applied ? FormatAge(AgeSeconds(applied->created_at)) : "-", std::to_string(c.instances.size()),
          c.repository.empty() ? "-" : c.repository, last.empty() ? "-" : FormatAge(AgeSeconds(last)) + " ago",
          status.value("firstRecoverabilityPoint", "-")};
      if (wide) row.insert(row.end(), {retention.empty() ? "-" : retention, c.backup.target});
      table.AddRow(row);
    }
    if (!o.name.empty() && items.empty()) throw Error(fmt::format("cluster '{}' not found in {}", o.name, config.origin));
    if (structured) return Emit(items, o.output, !o.name.empty());
    return table.empty() ? "No resources found.\n" : table.Render();
  }

  if (kind == "scheduledbackup") {
    std::vector<std::string> headers = {"NAME", "AGE", "CLUSTER", "LAST BACKUP"};
    if (wide) headers.insert(headers.end(), {"SCHEDULE", "TIMEZONE", "SUSPEND", "METHOD", "NEXT BACKUP"});
    Table table(headers);
    for (auto& r : catalog->ListResources("ScheduledBackup")) {
      if (!o.name.empty() && r.name != o.name) continue;
      json item = r.object;
      item["metadata"]["creationTimestamp"] = r.created_at;
      item["metadata"]["generation"] = r.generation;
      item["status"] = r.status;
      // Without a controller the next run is still worth showing.
      if (!item["status"].contains("nextScheduleTime")) {
        std::string next = NextScheduleTimeText(r, now);
        if (!next.empty()) item["status"]["nextScheduleTime"] = next;
      }
      items.push_back(item);
      const json& spec = r.object["spec"];
      std::string last = r.status.value("lastScheduleTime", "");
      std::vector<std::string> row = {r.name, FormatAge(AgeSeconds(r.created_at)), spec["cluster"].value("name", ""),
                                      last.empty() ? "<none>" : FormatAge(AgeSeconds(last))};
      if (wide)
        row.insert(row.end(), {spec.value("schedule", ""), spec.value("timeZone", "UTC"),
                               spec.value("suspend", false) ? "true" : "false", spec.value("method", ""),
                               item["status"].value("nextScheduleTime", "-")});
      table.AddRow(row);
    }
    if (!o.name.empty() && items.empty()) throw Error(fmt::format("scheduledbackup '{}' not found", o.name));
    if (structured) return Emit(items, o.output, !o.name.empty());
    return table.empty() ? "No resources found.\n" : table.Render();
  }

  if (kind == "volumesnapshot") {
    std::vector<std::string> headers = {"NAME", "READYTOUSE", "SOURCE", "RESTORESIZE", "SNAPSHOTCLASS",
                                        "CREATIONTIME", "AGE"};
    if (wide) {
      headers.insert(headers.begin() + 2, "BACKUP");
      headers.push_back("PATH");
    }
    Table table(headers);
    for (const auto& s : catalog->ListSnapshots()) {
      std::string name = s["metadata"]["name"];
      if (!o.name.empty() && name != o.name) continue;
      items.push_back(s);
      const auto& spec = s["spec"];
      const auto& st = s["status"];
      std::string source = spec["source"].value("instance", "") +
                           (spec.value("elementType", "") == "PG_WAL"           ? "-wal"
                            : spec.value("elementType", "") == "PG_TABLESPACE" ? "-tbs-" + spec.value("tablespaceName", "")
                                                                               : "");
      double age = AgeSeconds(st.value("creationTime", ""));
      std::vector<std::string> row = {name, st.value("readyToUse", false) ? "true" : "false", source,
                                      FormatBytes(st.value("restoreSize", uint64_t{0})),
                                      spec.value("volumeSnapshotClassName", ""), FormatAge(age), FormatAge(age)};
      if (wide) {
        row.insert(row.begin() + 2, spec.value("backup", ""));
        row.push_back(st.value("path", ""));
      }
      table.AddRow(row);
    }
    if (!o.name.empty() && items.empty()) throw Error(fmt::format("volumesnapshot '{}' not found", o.name));
    if (structured) return Emit(items, o.output, !o.name.empty());
    return table.empty() ? "No resources found.\n" : table.Render();
  }

  // backup: the seed's columns; wide adds where and what.
  std::vector<std::string> headers = {"NAME", "AGE", "CLUSTER", "METHOD", "PHASE", "ERROR"};
  if (wide) headers.insert(headers.end(), {"INSTANCE", "ONLINE", "BACKUPID", "BEGINLSN", "ENDLSN", "STOPPED"});
  Table table(headers);
  for (const auto& b : catalog->ListBackups()) {
    std::string name = b["metadata"]["name"];
    if (!o.name.empty() && name != o.name) continue;
    items.push_back(b);
    const json& st = b["status"];
    std::vector<std::string> row = {name, FormatAge(AgeSeconds(b["metadata"].value("creationTimestamp", ""))),
                                    b["spec"]["cluster"].value("name", ""), b["spec"].value("method", ""),
                                    st.value("phase", ""), st.value("error", "")};
    if (wide)
      row.insert(row.end(), {st.value("/instanceID/podName"_json_pointer, std::string("-")),
                             st.contains("online") ? (st["online"].get<bool>() ? "true" : "false") : "-",
                             st.value("backupId", "-"), st.value("beginLSN", "-"), st.value("endLSN", "-"),
                             st.value("stoppedAt", "-")});
    table.AddRow(row);
  }
  if (!o.name.empty() && items.empty()) throw Error(fmt::format("backup '{}' not found", o.name));
  if (structured) return Emit(items, o.output, !o.name.empty());
  return table.empty() ? "No resources found.\n" : table.Render();
}

}  // namespace pgvault
