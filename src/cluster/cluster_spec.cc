#include "cluster/cluster_spec.h"

#include <cstdlib>

#include <regex>
#include <set>

#include <fmt/format.h>

#include "api/document_file.h"
#include "api/field_reader.h"
#include "api/yaml_json.h"
#include "core/error.h"

namespace pgvault {
namespace {

using nlohmann::json;

// Names end up in file names and snapshot names: DNS-label-like, as in Kubernetes.
const std::regex kNamePattern("^[a-z0-9]([-a-z0-9._]{0,61}[a-z0-9])?$");

void CheckName(FieldReader& r, const std::string& key, const std::string& value) {
  if (!std::regex_match(value, kNamePattern))
    r.Fail(key, fmt::format("'{}' is not a valid name: use lower-case letters, digits, '-', '.' and '_', starting "
                            "and ending with a letter or digit, at most 63 characters",
                            value));
}

void CheckAbsolute(FieldReader& r, const std::string& key, const std::string& value) {
  if (!value.empty() && value[0] != '/') r.Fail(key, fmt::format("'{}' must be an absolute path", value));
}

std::string ReadMetadataName(FieldReader& doc, std::map<std::string, std::string>* annotations = nullptr) {
  auto meta = doc.Object("metadata");
  if (!meta) doc.Fail("metadata", "is required (metadata: {name: ...})");
  std::string name = meta->RequiredString("name");
  CheckName(*meta, "name", name);
  auto labels = meta->StringMap("labels");
  auto ann = meta->StringMap("annotations");
  if (annotations) *annotations = ann;
  meta->Raw("namespace");  // accepted for manifests copied from Kubernetes; hosts have no namespaces
  meta->Finish();
  return name;
}

InstanceSpec ReadInstance(FieldReader& r) {
  InstanceSpec i;
  i.name = r.RequiredString("name");
  CheckName(r, "name", i.name);
  i.conninfo = r.RequiredString("conninfo");
  i.pgdata = r.RequiredString("pgdata");
  CheckAbsolute(r, "pgdata", i.pgdata);
  i.wal_dir = r.OptionalString("walDir").value_or("");
  CheckAbsolute(r, "walDir", i.wal_dir);
  i.tablespaces = r.StringMap("tablespaces");
  for (const auto& [name, dir] : i.tablespaces) {
    CheckName(r, "tablespaces", name);  // it becomes part of a snapshot name
    CheckAbsolute(r, "tablespaces." + name, dir);
  }
  i.os_user = r.OptionalString("osUser").value_or("postgres");
  i.systemd_unit = r.OptionalString("systemdUnit").value_or("");
  i.pg_bin_dir = r.OptionalString("pgBinDir").value_or("");
  CheckAbsolute(r, "pgBinDir", i.pg_bin_dir);
  i.log_file = r.OptionalString("logFile").value_or("");
  CheckAbsolute(r, "logFile", i.log_file);
  if (auto v = r.OptionalInt("stopTimeoutSeconds")) {
    if (*v < 1 || *v > 86400) r.Fail("stopTimeoutSeconds", "must be between 1 and 86400");
    i.stop_timeout_seconds = static_cast<int>(*v);
  }
  if (auto v = r.OptionalInt("startTimeoutSeconds")) {
    if (*v < 1 || *v > 86400) r.Fail("startTimeoutSeconds", "must be between 1 and 86400");
    i.start_timeout_seconds = static_cast<int>(*v);
  }
  r.Finish();
  return i;
}

BackupConfiguration ReadBackup(FieldReader& r) {
  BackupConfiguration b;
  b.target = r.OptionalString("target").value_or("prefer-standby");
  if (b.target != "prefer-standby" && b.target != "primary")
    r.Fail("target", fmt::format("'{}' is not one of prefer-standby, primary", b.target));
  if (auto vs = r.Object("volumeSnapshot")) {
    auto& v = b.volume_snapshot;
    v.configured = true;
    v.class_name = vs->OptionalString("className").value_or("");
    v.wal_class_name = vs->OptionalString("walClassName").value_or("");
    v.tablespace_class_name = vs->StringMap("tablespaceClassName");
    v.online = vs->OptionalBool("online").value_or(true);
    if (auto oc = vs->Object("onlineConfiguration")) {
      v.online_configuration.wait_for_archive = oc->OptionalBool("waitForArchive").value_or(true);
      v.online_configuration.immediate_checkpoint = oc->OptionalBool("immediateCheckpoint").value_or(false);
      oc->Finish();
    }
    v.labels = vs->StringMap("labels");
    v.annotations = vs->StringMap("annotations");
    if (auto owner = vs->OptionalString("snapshotOwnerReference")) {
      if (*owner != "none" && *owner != "cluster" && *owner != "backup")
        vs->Fail("snapshotOwnerReference", "must be one of none, cluster, backup");
    }
    vs->Finish();
  }
  if (auto policy = r.OptionalString("retentionPolicy")) {
    static const std::regex kPolicy("^([1-9][0-9]{0,4})([dwm])$");
    std::smatch m;
    if (!std::regex_match(*policy, m, kPolicy))
      r.Fail("retentionPolicy", fmt::format("'{}' is not a recovery window: a number and d, w or m (30d, 4w, 6m)",
                                            *policy));
    b.retention.window_count = std::stoi(m[1].str());
    b.retention.window_unit = m[2].str()[0];
  }
  if (auto keep = r.OptionalInt("keep")) {
    if (*keep < 1 || *keep > 100000) r.Fail("keep", "must be a number of backups, at least 1");
    b.retention.keep = static_cast<int>(*keep);
  }
  r.Finish();
  return b;
}

}  // namespace

void ClusterSpec::UseRepositoryCredentials() const {
  const char* given = std::getenv("PGVAULT_REPO_CREDENTIALS");
  if (!repository_credentials.empty() && (!given || !*given))
    ::setenv("PGVAULT_REPO_CREDENTIALS", repository_credentials.c_str(), 1);
}

namespace {

ClusterSpec ReadCluster(FieldReader& doc, const json& manifest) {
  ClusterSpec c;
  c.manifest = manifest;
  c.name = ReadMetadataName(doc);
  auto spec = doc.Object("spec");
  if (!spec) doc.Fail("spec", "is required");
  c.repository = spec->OptionalString("repository").value_or("");
  c.repository_credentials = spec->OptionalString("repositoryCredentials").value_or("");
  if (!c.repository_credentials.empty() && c.repository_credentials.front() != '/')
    spec->Fail("repositoryCredentials", "must be an absolute path (the archive_command runs elsewhere)");
  std::set<std::string> names;
  for (auto& ir : spec->ObjectList("instances")) {
    InstanceSpec i = ReadInstance(ir);
    if (!names.insert(i.name).second) ir.Fail("name", fmt::format("instance '{}' is listed twice", i.name));
    c.instances.push_back(std::move(i));
  }
  if (c.instances.empty()) spec->Fail("instances", "must list at least one instance");
  if (auto b = spec->Object("backup")) c.backup = ReadBackup(*b);
  spec->Finish();
  return c;
}

VolumeSnapshotClass ReadClass(FieldReader& doc, const json& manifest) {
  VolumeSnapshotClass k;
  k.manifest = manifest;
  std::map<std::string, std::string> annotations;
  k.name = ReadMetadataName(doc, &annotations);
  k.is_default = annotations["snapshot.storage.kubernetes.io/is-default-class"] == "true";
  k.driver = doc.RequiredString("driver");
  static const std::set<std::string> kKnown = {"btrfs", "reflink"};
  static const std::set<std::string> kPlanned = {"lvm", "zfs", "csi"};
  if (kPlanned.count(k.driver))
    doc.Fail("driver", fmt::format("the {} driver is not available yet in this version; use btrfs or reflink", k.driver));
  if (!kKnown.count(k.driver)) doc.Fail("driver", fmt::format("'{}' is not one of btrfs, reflink", k.driver));
  k.deletion_policy = doc.OptionalString("deletionPolicy").value_or("Delete");
  if (k.deletion_policy != "Delete" && k.deletion_policy != "Retain")
    doc.Fail("deletionPolicy", "must be Delete or Retain");
  k.parameters = doc.StringMap("parameters");
  for (const auto& [key, value] : k.parameters) {
    if (key != "snapshotDir") doc.Fail("parameters." + key, "unknown parameter (known: snapshotDir)");
    if (value.empty() || value[0] != '/') doc.Fail("parameters." + key, "must be an absolute directory");
  }
  doc.Finish();
  return k;
}

}  // namespace

const InstanceSpec& ClusterSpec::Instance(const std::string& wanted) const {
  std::string known;
  for (const auto& i : instances) {
    if (i.name == wanted) return i;
    known += (known.empty() ? "" : ", ") + i.name;
  }
  throw UsageError(fmt::format("cluster {} has no instance '{}' (its instances: {})", name, wanted, known));
}

const ClusterSpec& ClusterConfig::Cluster(const std::string& wanted) const {
  if (clusters.empty()) throw UsageError(fmt::format("{} defines no Cluster (kind: Cluster)", origin));
  if (wanted.empty()) {
    if (clusters.size() == 1) return clusters[0];
    throw UsageError(fmt::format("{} defines {} clusters: say which with --cluster NAME", origin, clusters.size()));
  }
  std::string known;
  for (const auto& c : clusters) {
    if (c.name == wanted) return c;
    known += (known.empty() ? "" : ", ") + c.name;
  }
  throw UsageError(fmt::format("{} has no cluster '{}' (it defines: {})", origin, wanted, known));
}

const VolumeSnapshotClass& ClusterConfig::SnapshotClass(const std::string& wanted) const {
  if (wanted.empty()) {
    const VolumeSnapshotClass* found = nullptr;
    for (const auto& k : classes)
      if (k.is_default) found = &k;
    if (found) return *found;
    if (classes.size() == 1) return classes[0];
    throw UsageError(fmt::format("{}: no volume snapshot class is named (spec.backup.volumeSnapshot.className) and "
                                 "there is no single default class: name one",
                                 origin));
  }
  std::string known;
  for (const auto& k : classes) {
    if (k.name == wanted) return k;
    known += (known.empty() ? "" : ", ") + k.name;
  }
  throw UsageError(fmt::format("{}: no VolumeSnapshotClass named '{}' (defined: {})", origin, wanted,
                               known.empty() ? "none" : known));
}

const ClusterSpec& ClusterConfig::ClusterOfInstance(const std::string& instance) const {
  for (const auto& c : clusters)
    for (const auto& i : c.instances)
      if (i.name == instance) return c;
  throw UsageError(fmt::format("{}: no cluster has an instance named '{}'", origin, instance));
}

ClusterConfig ClusterConfigFromDocuments(const std::vector<json>& docs, const std::string& origin,
                                         const std::vector<std::string>& where) {
  ClusterConfig config;
  config.origin = origin;
  for (size_t n = 0; n < docs.size(); ++n) {
    std::string at = n < where.size() ? where[n] : fmt::format("{} (document {})", origin, n + 1);
    FieldReader doc(docs[n], at, "");
    std::string api = doc.RequiredString("apiVersion");
    std::string kind = doc.RequiredString("kind");
    if (kind == "Cluster") {
      if (api != kClusterApiVersion)
        doc.Fail("apiVersion", fmt::format("'{}' is not {} (the host form of a Cluster)", api, kClusterApiVersion));
      ClusterSpec c = ReadCluster(doc, docs[n]);
      for (const auto& other : config.clusters)
        if (other.name == c.name) doc.Fail("metadata.name", fmt::format("cluster '{}' is defined twice", c.name));
      config.clusters.push_back(std::move(c));
    } else if (kind == "VolumeSnapshotClass") {
      if (api != kSnapshotApiVersion) doc.Fail("apiVersion", fmt::format("'{}' is not {}", api, kSnapshotApiVersion));
      VolumeSnapshotClass k = ReadClass(doc, docs[n]);
      for (const auto& other : config.classes)
        if (other.name == k.name) doc.Fail("metadata.name", fmt::format("class '{}' is defined twice", k.name));
      config.classes.push_back(std::move(k));
    } else {
      doc.Fail("kind", fmt::format("'{}' does not belong in a cluster file (kinds: Cluster, VolumeSnapshotClass)", kind));
    }
  }
  // Instance names are global: `fence on NAME` finds its cluster by them.
  std::set<std::string> instances;
  for (const auto& c : config.clusters)
    for (const auto& i : c.instances)
      if (!instances.insert(i.name).second)
        throw Error(fmt::format("{}: instance name '{}' is used by two clusters; instance names must be unique", origin,
                                i.name));
  // Snapshot class names must resolve now, not at 3 a.m. during a backup.
  for (const auto& c : config.clusters) {
    const auto& vs = c.backup.volume_snapshot;
    if (!vs.configured) continue;
    try {
      config.SnapshotClass(vs.class_name);
      if (!vs.wal_class_name.empty()) config.SnapshotClass(vs.wal_class_name);
      for (const auto& [tbs, k] : vs.tablespace_class_name) config.SnapshotClass(k);
    } catch (const Error& e) {
      throw UsageError(fmt::format("cluster {}: spec.backup.volumeSnapshot: {}", c.name, e.what()));
    }
  }
  return config;
}

ClusterConfig ParseClusterConfig(const std::string& yaml_text, const std::string& origin) {
  return ClusterConfigFromDocuments(ParseYamlDocuments(yaml_text, origin), origin);
}

ClusterConfig LoadClusterConfig(const std::string& path) {
  if (path.empty())
    throw UsageError("this command needs the cluster file: --config FILE (or PGVAULT_CONFIG)");
  std::string text;
  try {
    text = ReadDocumentFile(path, YamlLimits{}.max_bytes);
  } catch (const Error& e) {
    throw UsageError(fmt::format("cannot read the cluster file (--config / PGVAULT_CONFIG): {}", e.what()));
  }
  return ParseClusterConfig(text, path);
}

}  // namespace pgvault
