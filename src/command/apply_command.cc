#include "command/apply_command.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "api/backup_objects.h"
#include "api/document_file.h"
#include "api/field_reader.h"
#include "api/yaml_json.h"
#include "catalog/catalog.h"
#include "cluster/cluster_spec.h"
#include "core/error.h"
#include "core/timestamp.h"

namespace pgvault {
namespace {

using nlohmann::json;

// The resource name kubectl prints ("backup.postgresql.cnpg.io").
std::string ResourceName(const std::string& kind) {
  if (kind == "Backup") return "backup.postgresql.cnpg.io";
  if (kind == "ScheduledBackup") return "scheduledbackup.postgresql.cnpg.io";
  if (kind == "VolumeSnapshotClass") return "volumesnapshotclass.snapshot.storage.k8s.io";
  return "cluster.pgvault.io";
}

struct Document {
  std::string kind, name, where;
  json object;  // as stored
};

std::string ReadInput(const std::string& file) {
  try {
    return ReadDocumentFile(file, YamlLimits{}.max_bytes);
  } catch (const Error& e) {
    throw UsageError(fmt::format("apply -f: {}", e.what()));
  }
}

}  // namespace

ApplyResult RunApply(const ApplyOptions& o) {
  if (o.file.empty()) throw UsageError("apply needs -f FILE (or -f - for standard input)");
  std::string origin = o.file == "-" ? "<stdin>" : o.file;
  std::vector<json> raw = ParseYamlDocuments(ReadInput(o.file), origin);
  std::vector<Document> docs;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t n = 0; n < raw.size(); ++n) {
    if (raw[n].is_null()) continue;  // an empty document ("---" at the end)
    Document d;
    d.where = fmt::format("{} (document {})", origin, n + 1);
    FieldReader head(raw[n], d.where, "");
    d.kind = head.RequiredString("kind");
    if (d.kind == "Backup") {
      d.object = ReadBackupManifest(raw[n], d.where);
    } else if (d.kind == "ScheduledBackup") {
      d.object = ReadScheduledBackupManifest(raw[n], d.where);
    } else if (d.kind == "Cluster" || d.kind == "VolumeSnapshotClass") {
      // Fully checked below, together with the others of their kinds (a
      // Cluster may name a class defined later in the file).
      d.object = raw[n];
      auto meta = head.Object("metadata");
      if (!meta) head.Fail("metadata", "is required (metadata: {name: ...})");
      meta->RequiredString("name");
    } else {
      head.Fail("kind", fmt::format("'{}' cannot be applied (kinds: Cluster, VolumeSnapshotClass, Backup, "
                                    "ScheduledBackup)",
                                    d.kind));
    }
    d.name = d.object.at("/metadata/name"_json_pointer).get<std::string>();
    if (!seen.insert({d.kind, d.name}).second)
      throw Error(fmt::format("{}: {} {} appears twice in the file", d.where, d.kind, d.name));
    docs.push_back(std::move(d));
  }
  if (docs.empty()) throw UsageError(fmt::format("{} holds no object to apply", origin));

  auto catalog = Catalog::Open(o.state_dir);
  Catalog::Transaction transaction(*catalog);

  // The clusters and classes as they will be: what was applied before, with
  // this file's documents replacing those of the same name.
  std::vector<json> config_docs;
  std::vector<std::string> config_where;
  for (const char* kind : {"VolumeSnapshotClass", "Cluster"}) {
    for (auto& r : catalog->ListResources(kind)) {
      if (seen.count({kind, r.name})) continue;
      config_docs.push_back(r.object);
      config_where.push_back(fmt::format("{} {} (applied {})", kind, r.name, r.updated_at));
    }
  }
  for (const auto& d : docs) {
    if (d.kind != "Cluster" && d.kind != "VolumeSnapshotClass") continue;
    config_docs.push_back(d.object);
    config_where.push_back(d.where);
  }
  ClusterConfig config = ClusterConfigFromDocuments(config_docs, "the applied objects", config_where);

  // Backups and schedules must name a cluster that can take their method.
  for (const auto& d : docs) {
    if (d.kind != "Backup" && d.kind != "ScheduledBackup") continue;
    FieldReader r(d.object, d.where, "");
    std::string cluster_name = d.object["spec"]["cluster"]["name"];
    const ClusterSpec* cluster = nullptr;
    for (const auto& c : config.clusters)
      if (c.name == cluster_name) cluster = &c;
    if (!cluster) {
      std::string known;
      for (const auto& c : config.clusters) known += (known.empty() ? "" : ", ") + c.name;
      r.Fail("spec.cluster.name", fmt::format("no cluster '{}' is applied (clusters: {}): apply it first or in the "
                                              "same file",
                                              cluster_name, known.empty() ? "none" : known));
    }
    std::string method = d.object["spec"]["method"];
    if (method == "volumeSnapshot" && !cluster->backup.volume_snapshot.configured)
      r.Fail("spec.method", fmt::format("cluster {} has no spec.backup.volumeSnapshot: add one, or use method: "
                                        "barmanObjectStore",
                                        cluster_name));
    if (IsRepositoryMethod(method) && cluster->repository.empty())
      r.Fail("spec.method", fmt::format("{}: cluster {} has no spec.repository to back up into: set one, or use "
                                        "method: volumeSnapshot",
                                        method, cluster_name));
  }

  ApplyResult result;
  std::string now = FormatTimestamp(std::chrono::system_clock::now());
  for (const auto& d : docs) {
    std::string outcome;
    if (d.kind == "Backup") {
      // A Backup is a one-time request: it cannot be changed once made.
      if (auto existing = catalog->LoadBackup(d.name)) {
        json before = {{"metadata", {{"labels", (*existing)["metadata"].value("labels", json::object())},
                                     {"annotations", (*existing)["metadata"].value("annotations", json::object())}}},
                       {"spec", (*existing)["spec"]}};
        json after = {{"metadata", {{"labels", d.object["metadata"].value("labels", json::object())},
                                    {"annotations", d.object["metadata"].value("annotations", json::object())}}},
                      {"spec", d.object["spec"]}};
        if (before["spec"] != after["spec"])
          FieldReader(d.object, d.where, "")
              .Fail("spec", fmt::format("backup {} exists with another spec, and a Backup cannot be changed: delete "
                                        "it first (pgvault delete backup {}) or choose another name",
                                        d.name, d.name));
        outcome = "unchanged";
        if (before != after) {
          // Labels and annotations (pgvault.io/keep) may change.
          (*existing)["metadata"]["labels"] = after["metadata"]["labels"];
          (*existing)["metadata"]["annotations"] = after["metadata"]["annotations"];
          if (!o.dry_run) catalog->SaveBackup(*existing);
          outcome = "configured";
        }
      } else {
        json b = d.object;
        b["metadata"]["creationTimestamp"] = now;
        b["status"] = {{"phase", "pending"}};
        if (!o.dry_run) {
          catalog->SaveBackup(b);
          catalog->AddEvent("Backup", d.name, "Normal", "Created", fmt::format("Backup created from {}", origin));
        }
        outcome = "created";
        result.new_backups.push_back(d.name);
      }
    } else {
      json object = d.object;
      if (o.dry_run) {
        auto existing = catalog->LoadResource(d.kind, d.name);
        outcome = !existing ? "created" : existing->object == object ? "unchanged" : "configured";
      } else {
        outcome = catalog->SaveResource(object);
      }
    }
    result.lines.push_back(fmt::format("{}/{} {}{}", ResourceName(d.kind), d.name, outcome,
                                       o.dry_run ? " (dry run)" : ""));
  }
  if (!o.dry_run) transaction.Commit();
  return result;
}

}  // namespace pgvault
