#include "api/backup_objects.h"

#include <regex>

#include <fmt/format.h>

#include "api/field_reader.h"
#include "controller/cron_schedule.h"
#include "core/duration_text.h"
#include "core/error.h"

namespace pgvault {
namespace {

using nlohmann::json;

const char* const kPhasesWithDeadlines[] = {"pending", "started", "running", "finalizing"};

std::chrono::seconds DefaultDeadline(const std::string& phase) {
  using namespace std::chrono_literals;
  if (phase == "pending") return 1h;
  if (phase == "started") return 10min;
  if (phase == "running") return 24h;
  return 2h;  // finalizing
}

// metadata: name, labels, annotations (namespace accepted and ignored: hosts
// have none). `max_name` leaves room for what is appended to the name (a
// scheduled backup's timestamp, a snapshot's -wal).
json ReadMetadata(FieldReader& doc, size_t max_name) {
  auto meta = doc.Object("metadata");
  if (!meta) doc.Fail("metadata", "is required (metadata: {name: ...})");
  std::string name = meta->RequiredString("name");
  static const std::regex kName("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$");
  if (!std::regex_match(name, kName) || name.size() > max_name)
    meta->Fail("name", fmt::format("'{}' is not a valid name: lower-case letters, digits, '-' and '.', starting and "
                                   "ending with a letter or digit, at most {} characters",
                                   name, max_name));
  auto labels = meta->StringMap("labels");
  auto annotations = meta->StringMap("annotations");
  for (const auto& [key, value] : annotations) {
    if (key.rfind("pgvault.io/", 0) != 0) continue;
    if (key == kKeepAnnotation) {
      if (value != "true" && value != "false") meta->Fail("annotations." + key, "must be \"true\" or \"false\"");
    } else if (key.rfind(kDeadlineAnnotationPrefix, 0) == 0) {
      std::string phase = key.substr(std::string(kDeadlineAnnotationPrefix).size());
      bool known = false;
      for (const char* p : kPhasesWithDeadlines) known = known || phase == p;
      if (!known)
        meta->Fail("annotations." + key, "names no phase with a deadline (pending, started, running, finalizing)");
      if (!ParseDurationText(value))
        meta->Fail("annotations." + key, fmt::format("'{}' is not a duration (30s, 10m, 2h, 1d)", value));
    } else {
      meta->Fail("annotations." + key,
                 fmt::format("unknown pgvault annotation (known: {}, {}<phase>)", kKeepAnnotation,
                             kDeadlineAnnotationPrefix));
    }
  }
  meta->Raw("namespace");
  meta->Finish();
  json out = {{"name", name}};
  if (!labels.empty()) out["labels"] = labels;
  if (!annotations.empty()) out["annotations"] = annotations;
  return out;
}

void CheckApiVersion(FieldReader& doc, const std::string& kind) {
  std::string api = doc.RequiredString("apiVersion");
  if (api != kCnpgApiVersion && api != "pgvault.io/v1")
    doc.Fail("apiVersion", fmt::format("'{}' is not {} (CloudNativePG's form of a {})", api, kCnpgApiVersion, kind));
  doc.RequiredString("kind");
  if (doc.Raw("status"))
    doc.Fail("status", "is written by pgvault, not applied: remove it (a copy of 'get -o yaml' output keeps it)");
}

// The fields Backup.spec and ScheduledBackup.spec share.
void ReadBackupRequest(FieldReader& spec, json& out) {
  auto cluster = spec.Object("cluster");
  if (!cluster) spec.Fail("cluster", "is required (cluster: {name: CLUSTER})");
  out["cluster"] = {{"name", cluster->RequiredString("name")}};
  cluster->Finish();
  if (auto target = spec.OptionalString("target")) {
    if (*target != "primary" && *target != "prefer-standby")
      spec.Fail("target", fmt::format("'{}' is not one of primary, prefer-standby", *target));
    out["target"] = *target;
  }
  std::string method = spec.OptionalString("method").value_or("barmanObjectStore");
  if (method == "plugin")
    spec.Fail("method", "plugin (CNPG-I) is not supported by pgvault: use barmanObjectStore (the cluster's "
                        "repository) or volumeSnapshot");
  if (!IsRepositoryMethod(method) && method != "volumeSnapshot")
    spec.Fail("method", fmt::format("'{}' is not one of barmanObjectStore (alias repository), volumeSnapshot", method));
  out["method"] = method;
  if (auto online = spec.OptionalBool("online")) {
    if (method != "volumeSnapshot") spec.Fail("online", "is only valid with method: volumeSnapshot");
    out["online"] = *online;
  }
  if (auto oc = spec.Object("onlineConfiguration")) {
    if (method != "volumeSnapshot") spec.Fail("onlineConfiguration", "is only valid with method: volumeSnapshot");
    json c = json::object();
    if (auto v = oc->OptionalBool("waitForArchive")) c["waitForArchive"] = *v;
    if (auto v = oc->OptionalBool("immediateCheckpoint")) c["immediateCheckpoint"] = *v;
    oc->Finish();
    out["onlineConfiguration"] = c;
  }
  if (spec.Raw("pluginConfiguration"))
    spec.Fail("pluginConfiguration", "plugins (CNPG-I) are not supported by pgvault");
}

}  // namespace

bool IsRepositoryMethod(const std::string& method) {
  return method == "barmanObjectStore" || method == "repository";
}

json ReadBackupManifest(const json& document, const std::string& where) {
  FieldReader doc(document, where, "");
  CheckApiVersion(doc, "Backup");
  // A volume snapshot backup's snapshots are <name>, <name>-wal and
  // <name>-tbs-<tablespace>: leave room and avoid collisions.
  json metadata = ReadMetadata(doc, 200);
  auto spec = doc.Object("spec");
  if (!spec) doc.Fail("spec", "is required (spec: {cluster: {name: CLUSTER}, method: ...})");
  json out_spec = json::object();
  ReadBackupRequest(*spec, out_spec);
  spec->Finish();
  doc.Finish();
  std::string name = metadata["name"];
  if (out_spec["method"] == "volumeSnapshot" && (name.ends_with("-wal") || name.find("-tbs-") != std::string::npos))
    FieldReader(document, where, "").Fail("metadata.name", "must not end in -wal nor contain -tbs- (the names of a "
                                                           "backup's WAL and tablespace snapshots)");
  return {{"apiVersion", kCnpgApiVersion}, {"kind", "Backup"}, {"metadata", metadata}, {"spec", out_spec}};
}

json ReadScheduledBackupManifest(const json& document, const std::string& where) {
  FieldReader doc(document, where, "");
  CheckApiVersion(doc, "ScheduledBackup");
  // Its Backups are named <name>-<YYYYMMDDhhmmss>.
  json metadata = ReadMetadata(doc, 185);
  auto spec = doc.Object("spec");
  if (!spec) doc.Fail("spec", "is required (spec: {schedule: ..., cluster: {name: CLUSTER}})");
  json out_spec = json::object();
  std::string schedule = spec->RequiredString("schedule");
  std::string zone = spec->OptionalString("timeZone").value_or("");
  try {
    CronSchedule::Parse(schedule, zone);
  } catch (const Error& e) {
    spec->Fail(zone.empty() || std::string(e.what()).find(zone) == std::string::npos ? "schedule" : "timeZone",
               e.what());
  }
  out_spec["schedule"] = schedule;
  if (!zone.empty()) out_spec["timeZone"] = zone;
  out_spec["suspend"] = spec->OptionalBool("suspend").value_or(false);
  out_spec["immediate"] = spec->OptionalBool("immediate").value_or(false);
  std::string owner = spec->OptionalString("backupOwnerReference").value_or("none");
  if (owner != "none" && owner != "self" && owner != "cluster")
    spec->Fail("backupOwnerReference", fmt::format("'{}' is not one of none, self, cluster", owner));
  out_spec["backupOwnerReference"] = owner;
  ReadBackupRequest(*spec, out_spec);
  spec->Finish();
  doc.Finish();
  return {{"apiVersion", kCnpgApiVersion}, {"kind", "ScheduledBackup"}, {"metadata", metadata}, {"spec", out_spec}};
}

std::chrono::seconds PhaseDeadline(const json& backup, const std::string& phase) {
  std::string key = std::string(kDeadlineAnnotationPrefix) + phase;
  const json& annotations = backup.value("/metadata/annotations"_json_pointer, json::object());
  if (auto it = annotations.find(key); it != annotations.end() && it->is_string())
    if (auto d = ParseDurationText(it->get<std::string>())) return *d;
  return DefaultDeadline(phase);
}

bool BackupKept(const json& backup) {
  return backup.value("/metadata/annotations"_json_pointer, json::object()).value(kKeepAnnotation, "") == "true";
}

}  // namespace pgvault
