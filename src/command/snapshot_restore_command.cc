#include "command/snapshot_restore_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/catalog.h"
#include "command/restored_archiving.h"
#include "cluster/cluster_config_source.h"
#include "core/error.h"
#include "core/posix_io.h"
#include "core/timestamp.h"
#include "pg/lsn.h"
#include "snapshot/snapshot_driver.h"
#include "snapshot/snapshot_record.h"
#include "snapshot/tree_clone.h"

namespace pgvault {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Files of the source server's running state that must not reach a restored
// cluster (as pg_basebackup and CloudNativePG leave them out).
const char* const kRemovedFiles[] = {"postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal",
                                     "recovery.conf",  "backup_label",    "tablespace_map", "backup_label.old",
                                     "tablespace_map.old"};
const char* const kEmptiedDirectories[] = {"pg_replslot", "pg_stat_tmp", "pg_dynshmem", "pg_notify",
                                           "pg_serial",   "pg_snapshots", "pg_subtrans"};

void RequireEmptyOrAbsent(const std::string& dir, const std::string& option) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{} {} exists and is not a directory", option, dir));
  if (!fs::is_empty(dir, ec))
    throw Error(fmt::format("{} {} is not empty: a snapshot restore never writes into a non-empty directory; empty "
                            "it or choose another",
                            option, dir));
}

std::optional<json> LoadRecord(Catalog* catalog, const ClusterConfig* config, const std::string& name) {
  if (catalog && name.find('/') == std::string::npos)
    if (auto r = catalog->LoadSnapshot(name)) return r;
  return FindSnapshotRecord(name, config);
}

void ChownLike(const std::string& path, const struct stat& like) {
  if (::geteuid() == 0 && ::lchown(path.c_str(), like.st_uid, like.st_gid) != 0)
    throw Error(fmt::format("cannot set the owner of {}: {}", path, ErrnoText(errno)));
}

void WriteOwnedFile(const std::string& path, const std::string& content, const struct stat& owner) {
  WriteFileAtomically(path, content, 0600);
  ChownLike(path, owner);
}

}  // namespace

SnapshotRestoreResult RunSnapshotRestore(const SnapshotRestoreOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  std::optional<ClusterConfig> config;
  if (!o.config_path.empty()) config = LoadClusterConfig(o.config_path);
  std::unique_ptr<Catalog> catalog;
  try {
    catalog = Catalog::Open(o.state_dir);
    if (!config) config = AppliedClusterConfig(*catalog);
  } catch (const Error& e) {
    spdlog::warn("catalog not available ({}); looking for the snapshot's metadata file", e.what());
  }
  auto found = LoadRecord(catalog.get(), config ? &*config : nullptr, o.snapshot);
  if (!found)
    throw Error(fmt::format("no volume snapshot '{}' in the catalog{}: give the path of its metadata file "
                            "(<snapshot>.json beside the snapshot) instead",
                            o.snapshot, config ? " or in the snapshot directories of " + config->origin : ""));
  const json backup = found->at("backup");
  const std::string backup_name = backup.at("name").get<std::string>();
  // The elements, with paths from the record (valid without the catalog).
  std::map<std::string, json> by_type;
  std::vector<json> tablespaces;
  for (const auto& e : backup.at("elements")) {
    if (e.at("type") == "PG_TABLESPACE")
      tablespaces.push_back(e);
    else
      by_type[e.at("type").get<std::string>()] = e;
  }
  if (!by_type.count("PG_DATA")) throw Error(fmt::format("backup {} has no PG_DATA snapshot", backup_name));
  bool online = backup.value("online", false);

  // Decide everything before writing anything.
  RecoveryTarget target = ParseRecoveryTarget(o.recovery);
  ArchiveMode archive_mode = ParseArchiveMode(o.archive_mode);
  std::string repo = o.repo.empty() ? backup.value("repository", "") : o.repo;
  if (config)
    for (const auto& cluster : config->clusters)
      if (cluster.repository == repo) cluster.UseRepositoryCredentials();
  bool has_wal_volume = by_type.count("PG_WAL") > 0;
  bool archive_recovery = target.requested() || (online && !has_wal_volume);
  if (archive_recovery && repo.empty())
    throw Error(fmt::format("backup {} {} needs the WAL archive, and no repository is recorded with it: pass --repo",
                            backup_name,
                            target.requested() ? "restored to " + target.Describe()
                                               : "is an online backup without a WAL volume and"));
  if (target.kind == RecoveryTarget::Kind::kLsn && target.lsn < ParseLsn(backup.value("endLSN", "0/0")))
    throw Error(fmt::format("--target-lsn {} is before the end of backup {} ({}): choose an older backup",
                            target.text, backup_name, backup.value("endLSN", "")));
  if (target.kind == RecoveryTarget::Kind::kTime &&
      target.time < ParseTimestamp(backup.value("backupEndTime", FormatTimestamp(SystemTime{}))) && online)
    throw Error(fmt::format("--target-time {} is before the end of backup {} ({}): choose an older backup",
                            target.text, backup_name, backup.value("backupEndTime", "")));
  if (target.kind == RecoveryTarget::Kind::kTime && !online &&
      target.time < ParseTimestamp(backup.value("backupStartTime", FormatTimestamp(SystemTime{}))))
    throw Error(fmt::format("--target-time {} is before backup {} was taken ({}): choose an older backup",
                            target.text, backup_name, backup.value("backupStartTime", "")));
  std::string data_target = fs::absolute(o.target).lexically_normal().string();
  RequireEmptyOrAbsent(data_target, "--target");
  std::string wal_target = o.wal_target.empty() ? "" : fs::absolute(o.wal_target).lexically_normal().string();
  if (!wal_target.empty()) RequireEmptyOrAbsent(wal_target, "--wal-target");
  std::map<std::string, std::string> tablespace_dirs;
  for (const auto& m : o.tablespace_map) {
    auto eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
      throw UsageError(fmt::format("--tablespace-map {}: expected NAME=DIR", m));
    tablespace_dirs[m.substr(0, eq)] = fs::absolute(m.substr(eq + 1)).lexically_normal().string();
  }
  std::string known_tablespaces;
  for (const auto& t : tablespaces) known_tablespaces += (known_tablespaces.empty() ? "" : ", ") + t.value("tablespaceName", "");
  for (const auto& [name, dir] : tablespace_dirs) {
    bool found = false;
    for (const auto& t : tablespaces) found = found || t.value("tablespaceName", "") == name;
    if (!found)
      throw UsageError(fmt::format("--tablespace-map {}: backup {} has no tablespace snapshot named {} (it has: {})",
                                   name, backup_name, name, known_tablespaces.empty() ? "none" : known_tablespaces));
  }
  for (const auto& t : tablespaces) {
    std::string name = t.at("tablespaceName");
    if (!tablespace_dirs.count(name))
      tablespace_dirs[name] = data_target + "-tbs-" + name;
    RequireEmptyOrAbsent(tablespace_dirs[name], "--tablespace-map " + name);
  }
  for (const auto& e : backup.at("elements"))
    if (::access(e.at("path").get<std::string>().c_str(), F_OK) != 0)
      throw Error(fmt::format("snapshot {} of backup {} is missing at {}", e.at("name").get<std::string>(),
                              backup_name, e.at("path").get<std::string>()));

  // From here on, a failure removes everything this restore created: a
  // half-restored directory must never be started.
  std::vector<std::string> created;
  SnapshotRestoreResult result;
  try {
    // Clone the data volume.
    const json& data = by_type["PG_DATA"];
    auto driver = MakeSnapshotDriver(data.at("driver"));
    std::error_code ec;
    fs::create_directories(fs::path(data_target).parent_path(), ec);
    result.backup = backup_name;
    result.online = online;
    created.push_back(data_target);
    result.method = driver->Clone(data.at("path"), data_target);
    struct stat owner;
    if (::stat(data_target.c_str(), &owner) != 0)
      throw Error(fmt::format("cannot stat {}: {}", data_target, ErrnoText(errno)));
    ::chmod(data_target.c_str(), 0700);

    for (const char* f : kRemovedFiles) ::unlink((data_target + "/" + f).c_str());
    // backup_label at once: a hot snapshot started without it would run crash
    // recovery from a later checkpoint and be silently inconsistent.
    if (online) WriteOwnedFile(data_target + "/backup_label", backup.value("backupLabelFile", ""), owner);
    for (const char* d : kEmptiedDirectories) {
      std::string dir = data_target + "/" + d;
      for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
    }

    // pg_wal: the WAL snapshot (into --wal-target or pg_wal itself), else the
    // data volume's own pg_wal (moved to --wal-target when asked).
    std::string pg_wal = data_target + "/pg_wal";
    std::string wal_home = wal_target.empty() ? pg_wal : wal_target;
    if (has_wal_volume) {
      const json& wal = by_type["PG_WAL"];
      fs::remove(pg_wal, ec);  // the link to the source's WAL volume
      if (!wal_target.empty()) {
        fs::create_directories(fs::path(wal_target).parent_path(), ec);
        created.push_back(wal_target);
      }
      MakeSnapshotDriver(wal.at("driver"))->Clone(wal.at("path"), wal_home);
    } else if (!wal_target.empty()) {
      fs::create_directories(fs::path(wal_target).parent_path(), ec);
      created.push_back(wal_target);
      CloneTree(pg_wal, wal_target, TreeCloneOptions{.allow_copy = true});
      RemoveTree(pg_wal);
    }
    if (!wal_target.empty() || has_wal_volume) {
      if (wal_home != pg_wal) {
        fs::remove(pg_wal, ec);
        fs::create_directory_symlink(wal_home, pg_wal);
        ChownLike(pg_wal, owner);
      }
    }
    RemoveTree(wal_home + "/pgvault-spool");

    // Tablespaces: clones, and links (cold) or tablespace_map entries (hot) to them.
    std::string tablespace_map;
    for (const auto& t : tablespaces) {
      std::string name = t.at("tablespaceName"), oid = t.value("tablespaceOid", "");
      std::string dir = tablespace_dirs[name];
      fs::create_directories(fs::path(dir).parent_path(), ec);
      created.push_back(dir);
      MakeSnapshotDriver(t.at("driver"))->Clone(t.at("path"), dir);
      // The link from the snapshot points at the source's live tablespace:
      // always repoint it (a hot backup's tablespace_map says the same).
      std::string link = data_target + "/pg_tblspc/" + oid;
      fs::remove(link, ec);
      fs::create_directory_symlink(dir, link);
      ChownLike(link, owner);
      if (online) tablespace_map += oid + " " + dir + "\n";
    }

    if (online && !tablespaces.empty()) WriteOwnedFile(data_target + "/tablespace_map", tablespace_map, owner);
    BackupManifest pseudo;
    pseudo.id = backup_name;
    if (target.requested()) {
      WriteRecoveryConfiguration(data_target, repo, target, pseudo);
      result.recovery = fmt::format("recovers from the WAL archive {} to {}", repo, target.Describe());
    } else if (archive_recovery) {
      RecoveryTargetOptions end_of_backup;
      end_of_backup.immediate = true;
      RecoveryTarget end = ParseRecoveryTarget(end_of_backup);
      end.wal_prefetch = o.recovery.wal_prefetch;
      WriteRecoveryConfiguration(data_target, repo, end, pseudo);
      result.recovery = fmt::format("recovers from the WAL archive {} to the end of the backup, then promotes", repo);
    } else if (online) {
      result.recovery = "replays the WAL of the snapshot's WAL volume to the end of the backup (backup_label), then "
                        "runs as a primary";
    } else {
      result.recovery = "starts from the cleanly stopped snapshot (replaying what its WAL volume holds), as a primary";
    }
    // Always a new directory: the copy is never the source itself.
    result.archive_mode = ArchiveModeName(archive_mode);
    if (archive_mode == ArchiveMode::kOff) {
      WriteArchiveModeOff(data_target, backup_name);
    } else if (!repo.empty()) {
      result.archive_warning = WarnIfArchivingIntoRepository(data_target, repo);
      if (!result.archive_warning.empty()) spdlog::warn("{}", result.archive_warning);
    }
  } catch (...) {
    for (auto it = created.rbegin(); it != created.rend(); ++it) RemoveClone(*it);
    throw;
  }
  // Make it all durable: clones share extents already on disk, but the new
  // names and the files written here must survive a crash.
  if (int fd = ::open(data_target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::syncfs(fd);
    ::close(fd);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (catalog)
    catalog->AddEvent("Backup", backup_name, "Normal", "Restored",
                      fmt::format("Restored into {} ({})", data_target, result.method));
  return result;
}

}  // namespace pgvault
