#include "command/get_command.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/yaml_json.h"
#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/cluster_spec.h"
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

std::string Canonical(std::string kind) {
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (kind == "volumesnapshot" || kind == "volumesnapshots" || kind == "vs") return "volumesnapshot";
  if (kind == "volumesnapshotclass" || kind == "volumesnapshotclasses" || kind == "vsclass")
    return "volumesnapshotclass";
  if (kind == "backup" || kind == "backups") return "backup";
  throw UsageError(fmt::format("unknown kind '{}': use volumesnapshot, volumesnapshotclass or backup", kind));
}

std::string Emit(const std::vector<json>& items, const std::string& output, bool single) {
  json value = single && items.size() == 1 ? items[0] : json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
  if (output == "json") return value.dump(2) + "\n";
  return ToYaml(value);
}

}  // namespace

std::string RunGet(const GetOptions& o) {
  std::string kind = Canonical(o.kind);
  if (!o.output.empty() && o.output != "json" && o.output != "yaml" && o.output != "wide")
    throw UsageError(fmt::format("-o {}: use json, yaml or wide", o.output));
  bool structured = o.output == "json" || o.output == "yaml";
  std::vector<json> items;

  if (kind == "volumesnapshotclass") {
    ClusterConfig config = LoadClusterConfig(o.config_path);
    Table table({"NAME", "DRIVER", "DELETIONPOLICY", "AGE"});
    for (const auto& k : config.classes) {
      if (!o.name.empty() && k.name != o.name) continue;
      items.push_back(k.manifest);
      table.AddRow({k.name + (k.is_default ? " (default)" : ""), k.driver, k.deletion_policy, "-"});
    }
    if (!o.name.empty() && items.empty())
      throw Error(fmt::format("volumesnapshotclass '{}' not found in {}", o.name, config.origin));
    if (structured) return Emit(items, o.output, !o.name.empty());
    return table.empty() ? "No resources found.\n" : table.Render();
  }

  auto catalog = Catalog::Open(o.state_dir);
  FailAbandonedBackups(*catalog);
  if (kind == "volumesnapshot") {
    bool wide = o.output == "wide";
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

  // backup
  Table table({"NAME", "AGE", "CLUSTER", "METHOD", "PHASE", "ERROR"});
  for (const auto& b : catalog->ListBackups()) {
    std::string name = b["metadata"]["name"];
    if (!o.name.empty() && name != o.name) continue;
    items.push_back(b);
    table.AddRow({name, FormatAge(AgeSeconds(b["metadata"].value("creationTimestamp", ""))),
                  b["spec"]["cluster"].value("name", ""), b["spec"].value("method", ""),
                  b["status"].value("phase", ""), b["status"].value("error", "")});
  }
  if (!o.name.empty() && items.empty()) throw Error(fmt::format("backup '{}' not found", o.name));
  if (structured) return Emit(items, o.output, !o.name.empty());
  return table.empty() ? "No resources found.\n" : table.Render();
}

}  // namespace pgvault
