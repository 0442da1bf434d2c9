#include "command/expire_command.h"

#include <cstdlib>
#include <limits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/backup_objects.h"
#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "command/delete_backup_command.h"
#include "core/error.h"
#include "pg/lsn.h"
#include "repo/garbage_collector.h"
#include "repo/repository.h"
#include "retention/retention_rule.h"
#include "storage/storage.h"
#include "wal/wal_expiry.h"

namespace pgvault {
namespace {

using nlohmann::json;

json VerdictJson(const RetentionVerdict& v) {
  json kept = json::array(), removed = json::array();
  for (const auto& id : v.keep) kept.push_back({{"id", id}, {"reason", v.reasons.at(id)}});
  for (const auto& id : v.remove) removed.push_back({{"id", id}, {"reason", v.reasons.at(id)}});
  return {{"kept", kept}, {"removed", removed}};
}

}  // namespace

SystemTime RetentionNow() {
  if (const char* t = std::getenv("PGVAULT_TEST_NOW"); t && *t) return ParseTimestamp(t);
  return std::chrono::system_clock::now();
}

json RunExpire(const ExpireOptions& o) {
  auto catalog = Catalog::Open(o.state_dir);
  ClusterConfig config = ResolveClusterConfig(o.config_path, *catalog);
  const ClusterSpec& cluster = config.Cluster(o.cluster);
  const RetentionConfiguration& policy = cluster.backup.retention;
  SystemTime now = RetentionNow();
  json report = {{"cluster", cluster.name}, {"dryRun", o.dry_run}, {"now", FormatTimestamp(now)}};
  if (!policy.configured()) {
    report["policy"] = "none";
    return report;
  }
  report["policy"] = {{"retentionPolicy", policy.WindowText()}, {"keep", policy.keep}};
  if (policy.window_count) report["windowStart"] = FormatTimestamp(WindowStart(policy, now));
  FailAbandonedBackups(*catalog);
  std::vector<json> objects;
  for (auto& b : catalog->ListBackups())
    if (b["spec"]["cluster"].value("name", "") == cluster.name) objects.push_back(std::move(b));

  // Where WAL is needed from (the oldest kept backup's start), and since when
  // backups are kept (failed objects older than that go).
  std::optional<Lsn> oldest_kept_lsn;
  std::string oldest_kept_end;
  auto note_kept = [&](const std::string& lsn, const std::string& end) {
    if (!lsn.empty()) {
      Lsn l = ParseLsn(lsn);
      if (!oldest_kept_lsn || l < *oldest_kept_lsn) oldest_kept_lsn = l;
    }
    if (!end.empty() && (oldest_kept_end.empty() || end < oldest_kept_end)) oldest_kept_end = end;
  };

  // Volume snapshot backups.
  {
    std::vector<RetainedBackup> snapshots;
    std::map<std::string, const json*> by_name;
    for (const auto& b : objects) {
      if (b["spec"].value("method", "") != "volumeSnapshot" || b["status"].value("phase", "") != "completed") continue;
      std::string name = b["metadata"]["name"];
      snapshots.push_back({name, ParseTimestamp(b["status"].value("stoppedAt", "")), BackupKept(b)});
      by_name[name] = &b;
    }
    RetentionVerdict v = DecideRetention(snapshots, policy, now);
    for (const auto& name : v.keep)
      note_kept(by_name[name]->at("status").value("beginLSN", ""), by_name[name]->at("status").value("stoppedAt", ""));
    if (!o.dry_run)
      for (const auto& name : v.remove) {
        RunDeleteBackup({o.state_dir, name});
        catalog->AddEvent("Cluster", cluster.name, "Normal", "BackupExpired",
                          fmt::format("backup {} deleted: {}", name, v.reasons.at(name)));
      }
    report["snapshots"] = VerdictJson(v);
  }

  // The repository, under its writer lock from the listing to the last
  // removal: no backup can commit (or dedupe against a chunk) meanwhile.
  if (!cluster.repository.empty()) {
    cluster.UseRepositoryCredentials();
    auto repo = Repository::Open(OpenStorage(cluster.repository));
    auto lock = repo->LockForWrite(o.dry_run ? "expire --dry-run" : "expire", !o.dry_run);
    BackupListing listing = repo->ListBackups();
    if (!listing.unreadable.empty())
      throw Error(fmt::format("repository {}: backup {} cannot be read ({}): retention cannot tell what it needs; "
                              "repair or delete it (pgvault repo delete-backup) first",
                              cluster.repository, listing.unreadable[0].id, listing.unreadable[0].error));
    std::vector<RetainedBackup> backups;
    std::map<std::string, const BackupManifest*> by_id;
    for (const auto& m : listing.backups) {
      bool kept = false;
      for (const auto& b : objects)
        if (b["status"].value("backupId", "") == m.id && BackupKept(b)) kept = true;
      backups.push_back({m.id, ParseTimestamp(m.stop_time), kept});
      by_id[m.id] = &m;
    }
    RetentionVerdict v = DecideRetention(backups, policy, now);
    for (const auto& id : v.keep) note_kept(by_id[id]->start_lsn, by_id[id]->stop_time);
    json repo_report = VerdictJson(v);
    if (!o.dry_run) {
      for (const auto& id : v.remove) {
        repo->DeleteBackup(id);
        for (const auto& b : objects)
          if (b["status"].value("backupId", "") == id) catalog->DeleteBackup(b["metadata"]["name"]);
        catalog->AddEvent("Cluster", cluster.name, "Normal", "BackupExpired",
                          fmt::format("repository backup {} deleted: {}", id, v.reasons.at(id)));
      }
    }
    GcOptions gc;
    gc.dry_run = o.dry_run;
    GcReport g = CollectGarbage(*repo, *lock, gc);
    repo_report["gc"] = {{"packsRemoved", g.packs_removed}, {"packsRepacked", g.packs_repacked},
                         {"bytesReclaimed", g.bytes_reclaimed}, {"bytesReferenced", g.bytes_referenced}};
    if (oldest_kept_lsn) {
      WalExpiryOptions w;
      w.before = *oldest_kept_lsn;
      w.segment_size = ArchivedWalSegmentSize(*repo);
      w.dry_run = o.dry_run;
      WalExpiryReport r = ExpireWal(*repo, *lock, w);
      repo_report["wal"] = {{"keptFrom", r.kept_from},
                            {"segmentsRemoved", r.segments_removed},
                            {"partialRemoved", r.partial_removed},
                            {"backupFilesRemoved", r.backup_files_removed},
                            {"bytesRemoved", r.bytes_removed},
                            {"filesKept", r.files_kept}};
    }
    report["repository"] = repo_report;
  }

  // Failed Backup objects from before everything kept: their story is over.
  json failed = json::array();
  if (!oldest_kept_end.empty())
    for (const auto& b : objects) {
      if (b["status"].value("phase", "") != "failed" || b["status"].value("stoppedAt", "") >= oldest_kept_end) continue;
      std::string name = b["metadata"]["name"];
      failed.push_back(name);
      if (!o.dry_run) RunDeleteBackup({o.state_dir, name});
    }
  report["failedBackupsRemoved"] = failed;
  return report;
}

std::string RenderExpire(const json& r) {
  if (r.value("policy", json()) == "none")
    return fmt::format("cluster {}: no retention policy (spec.backup.retentionPolicy, spec.backup.keep): nothing to "
                       "do\n",
                       r.value("cluster", ""));
  std::string out = fmt::format("cluster {}{}: retention {}{} as of {}\n", r.value("cluster", ""),
                                r.value("dryRun", false) ? " (dry run)" : "",
                                r["policy"].value("retentionPolicy", ""),
                                r["policy"].value("keep", 0) ? fmt::format(" keep {}", r["policy"]["keep"].get<int>()) : "",
                                r.value("now", ""));
  auto list = [&](const char* what, const json& v) {
    for (const auto& k : v.value("removed", json::array()))
      out += fmt::format("  {} {}: removed ({})\n", what, k.value("id", ""), k.value("reason", ""));
    for (const auto& k : v.value("kept", json::array()))
      out += fmt::format("  {} {}: kept ({})\n", what, k.value("id", ""), k.value("reason", ""));
  };
  if (r.contains("repository")) {
    list("repository backup", r["repository"]);
    const json& g = r["repository"]["gc"];
    out += fmt::format("  repository: {} pack(s) removed, {} repacked, {} bytes reclaimed\n",
                       g.value("packsRemoved", 0), g.value("packsRepacked", 0), g.value("bytesReclaimed", 0));
    if (r["repository"].contains("wal"))
      out += fmt::format("  WAL: {} segment(s) removed; kept from {}\n", r["repository"]["wal"].value("segmentsRemoved", 0),
                         r["repository"]["wal"].value("keptFrom", ""));
  }
  if (r.contains("snapshots")) list("snapshot backup", r["snapshots"]);
  for (const auto& f : r.value("failedBackupsRemoved", json::array()))
    out += fmt::format("  failed backup {}: removed\n", f.get<std::string>());
  return out;
}

}  // namespace pgvault
