#include "command/snapshot_backup_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/backup_target.h"
#include "cluster/cluster_config_source.h"
#include "cluster/fencing.h"
#include "cluster/instance_control.h"
#include "cluster/instance_status.h"
#include "core/detached_process.h"
#include "core/error.h"
#include "core/interruption.h"
#include "core/posix_io.h"
#include "core/process_identity.h"
#include "core/test_pause.h"
#include "core/timestamp.h"
#include "pg/backup_label.h"
#include "pg/connection.h"
#include "pg/hot_backup.h"
#include "pg/lsn.h"
#include "repo/repository.h"
#include "snapshot/snapshot_driver.h"
#include "snapshot/snapshot_record.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

struct Element {
  std::string type;             // PG_DATA, PG_WAL, PG_TABLESPACE
  std::string tablespace_name;  // PG_TABLESPACE
  std::string tablespace_oid;
  std::string volume;
  const VolumeSnapshotClass* snapshot_class = nullptr;
  std::unique_ptr<SnapshotDriver> driver;
  std::string name;  // snapshot name
  std::string path;  // snapshot path
  bool created = false;
  std::string created_at;
};

std::string Canonical(const std::string& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

std::string Rfc3339(Clock::time_point t) { return FormatTimestamp(t); }

class SnapshotBackup {
 public:
  explicit SnapshotBackup(const SnapshotBackupOptions& o) : o_(o) {}
  json Run();

 private:
  void Save() { catalog_->SaveBackup(backup_); }
  void PlanElements();
  void CreateSnapshot(Element& e);
  void RunCold();
  void RunHot();
  void WriteRecords();
  void DiscardSnapshots();

  const SnapshotBackupOptions& o_;
  ClusterConfig config_;
  const ClusterSpec* cluster_ = nullptr;
  const InstanceSpec* instance_ = nullptr;
  std::unique_ptr<Catalog> catalog_;
  UniqueFd cluster_lock_;
  std::string name_;
  bool online_ = true;
  bool fast_ = false;
  bool wait_for_archive_ = true;
  BackupTargetChoice choice_;
  std::vector<Element> elements_;
  json backup_;
  std::map<std::string, std::string> controldata_;
  std::string backup_label_, tablespace_map_;
  std::string major_version_;
  std::string begin_lsn_, end_lsn_, begin_wal_, end_wal_;
  std::string warnings_;
  std::string unfence_error_;
  double fence_seconds_ = 0;
  double snapshot_seconds_ = 0;
};

void SnapshotBackup::PlanElements() {
  const auto& vs = cluster_->backup.volume_snapshot;
  const auto& data_class = config_.SnapshotClass(vs.class_name);
  auto add = [&](const std::string& type, const std::string& volume, const VolumeSnapshotClass& k,
                 const std::string& suffix) {
    Element e;
    e.type = type;
    e.volume = volume;
    e.snapshot_class = &k;
    e.driver = MakeSnapshotDriver(k.driver);
    e.name = name_ + suffix;
    e.path = SnapshotDirectoryFor(volume, k) + "/" + e.name;
    elements_.push_back(std::move(e));
  };
  const InstanceSpec& i = *instance_;
  try {
    major_version_ = ReadWholeFile(i.pgdata + "/PG_VERSION");
  } catch (const Error&) {
    throw Error(fmt::format("instance {}: {} is not a PostgreSQL data directory (no PG_VERSION)", i.name, i.pgdata));
  }
  while (!major_version_.empty() && !std::isdigit(static_cast<unsigned char>(major_version_.back())))
    major_version_.pop_back();
  add("PG_DATA", i.pgdata, data_class, "");

  std::string pg_wal = i.pgdata + "/pg_wal";
  struct stat wal_stat;
  bool wal_is_link = ::lstat(pg_wal.c_str(), &wal_stat) == 0 && S_ISLNK(wal_stat.st_mode);
  if (!i.wal_dir.empty()) {
    if (!wal_is_link || Canonical(pg_wal) != Canonical(i.wal_dir))
      throw Error(fmt::format("instance {}: walDir is {} but {} is not a link to it: fix walDir or the link", i.name,
                              i.wal_dir, pg_wal));
    add("PG_WAL", i.wal_dir, config_.SnapshotClass(vs.wal_class_name.empty() ? vs.class_name : vs.wal_class_name),
        "-wal");
  } else if (wal_is_link) {
    throw Error(fmt::format("instance {}: {} is a link to {}, outside the data volume: declare it as walDir so that "
                            "it is snapshotted too",
                            i.name, pg_wal, Canonical(pg_wal)));
  }

  // Every tablespace must live on a declared volume, or the backup would miss it.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(i.pgdata + "/pg_tblspc", ec)) {
    std::string oid = entry.path().filename().string();
    std::string location = Canonical(entry.path().string());
    std::string found;
    for (const auto& [tbs, dir] : i.tablespaces)
      if (Canonical(dir) == location) found = tbs;
    if (found.empty())
      throw Error(fmt::format("instance {}: tablespace {} at {} is not declared in the instance's tablespaces (name: "
                              "directory): declare it so that it is snapshotted too",
                              i.name, oid, location));
    auto cls = vs.tablespace_class_name.find(found);
    add("PG_TABLESPACE", i.tablespaces.at(found),
        config_.SnapshotClass(cls != vs.tablespace_class_name.end() ? cls->second : vs.class_name),
        "-tbs-" + found);
    elements_.back().tablespace_name = found;
    elements_.back().tablespace_oid = oid;
  }

  // Everything that can be checked is checked now, before any instance stops.
  json planned = json::array();
  for (auto& e : elements_) {
    e.driver->CheckVolume(e.volume);
    std::string dir = std::filesystem::path(e.path).parent_path().string();
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(fmt::format("cannot create the snapshot directory {}: {}", dir, ec.message()));
    e.driver->CheckSnapshotDirectory(e.volume, dir);
    if (::access(e.path.c_str(), F_OK) == 0 || ::access(SnapshotRecordPath(e.path).c_str(), F_OK) == 0)
      throw Error(fmt::format("snapshot {} exists already at {}: choose another backup name", e.name, e.path));
    if (catalog_->LoadSnapshot(e.name))
      throw Error(fmt::format("a volume snapshot named {} is in the catalog already: choose another backup name",
                              e.name));
    planned.push_back({{"name", e.name}, {"path", e.path}, {"driver", e.driver->name()}});
  }
  // Recorded so that the snapshots of a backup whose process died can still
  // be found and removed (pgvault delete backup).
  backup_["status"]["plannedSnapshots"] = planned;
  Save();
}

void SnapshotBackup::CreateSnapshot(Element& e) {
  ThrowIfInterrupted("taking snapshots");
  auto t0 = std::chrono::steady_clock::now();
  e.created_at = Rfc3339(Clock::now());
  // A driver removes what a failed Create left; marking the element only
  // afterwards keeps the cleanup from touching a snapshot it did not make.
  e.driver->Create(e.volume, e.path);
  e.created = true;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  snapshot_seconds_ += s;
  spdlog::info("snapshot {} of {} ({}) taken in {:.3f}s", e.name, e.volume, e.driver->name(), s);
}

void SnapshotBackup::RunCold() {
  if (choice_.is_primary && !o_.fence_primary)
    throw Error(fmt::format("a cold backup (online: false) would stop the primary {} ({}): that is downtime for the "
                            "cluster. Pass --fence-primary to accept it, or take an online backup",
                            instance_->name, choice_.reason));
  // A checkpoint (on a standby: a restartpoint) now writes the dirty buffers
  // and moves the redo point forward while the instance still serves, so the
  // shutdown inside the fence has little to write and the restart little WAL
  // to replay: the fence window shrinks to the stop, the snapshots, the start.
  try {
    PgConnection conn(ConninfoWithTimeout(instance_->conninfo, 10));
    conn.Query("CHECKPOINT");
  } catch (const std::exception& e) {
    spdlog::warn("CHECKPOINT on {} before fencing failed ({}); fencing anyway", instance_->name, e.what());
  }
  ThrowIfInterrupted("preparing the backup");
  {
    FenceGuard fence(*catalog_, *cluster_, *instance_, "backup " + name_, "Backup", name_);
    backup_["status"]["phase"] = "running";
    Save();
    TestPausePoint("snapshot-fenced");
    ThrowIfInterrupted("fencing");
    controldata_ = ReadControlData(*instance_);
    for (auto& e : elements_) CreateSnapshot(e);
    backup_["status"]["phase"] = "finalizing";
    Save();
    // The snapshots are cut: they are a good backup even if the instance
    // does not come back, which is reported after the backup is recorded.
    try {
      fence.Unfence();
    } catch (const std::exception& e) {
      unfence_error_ = fmt::format("instance {} did not come back after the backup: {}; it stays fenced: fix it, then "
                                   "run 'pgvault fence off {}'",
                                   instance_->name, e.what(), instance_->name);
    }
    fence_seconds_ = fence.fence_seconds();
  }
  begin_lsn_ = end_lsn_ = controldata_["Latest checkpoint's REDO location"];
  begin_wal_ = end_wal_ = controldata_["Latest checkpoint's REDO WAL file"];
}

void SnapshotBackup::RunHot() {
  PgConnection conn(ConninfoWithTimeout(instance_->conninfo, 10));
  bool in_recovery = conn.QueryValue("SELECT pg_is_in_recovery()") == "t";
  // Its slot holds every WAL segment from the backup's start until the WAL
  // volume is snapshotted (pg/hot_backup.h).
  HotBackup hot_backup(conn);
  if (!fast_ && !in_recovery)
    spdlog::info("the backup start waits for a spread checkpoint (onlineConfiguration.immediateCheckpoint: false); "
                 "--checkpoint fast makes it immediate");
  begin_lsn_ = FormatLsn(hot_backup.Start(name_, fast_));
  backup_["status"]["phase"] = "running";
  Save();
  // Tablespaces first, PGDATA (with pg_control) after them: a standby backup
  // ends at the minRecoveryPoint of the pg_control it copied, which must be
  // no older than any page in the snapshots.
  for (auto& e : elements_)
    if (e.type == "PG_TABLESPACE") CreateSnapshot(e);
  for (auto& e : elements_)
    if (e.type == "PG_DATA") CreateSnapshot(e);
  ThrowIfInterrupted("taking snapshots");
  HotBackup::Stopped stopped = hot_backup.Stop(wait_for_archive_);
  end_lsn_ = FormatLsn(stopped.lsn);
  backup_label_ = stopped.backup_label;
  tablespace_map_ = stopped.tablespace_map;
  backup_["status"]["phase"] = "finalizing";
  Save();
  for (auto& e : elements_)
    if (e.type == "PG_WAL") CreateSnapshot(e);
  hot_backup.DropSlot();
  controldata_ = ReadControlData(*instance_);
  BackupLabel label = ParseBackupLabel(backup_label_);
  uint32_t segment_size = 0;
  try {
    segment_size = static_cast<uint32_t>(std::stoul(controldata_.at("Bytes per WAL segment")));
  } catch (const std::exception&) {
    throw Error(fmt::format("instance {}: pg_controldata shows no 'Bytes per WAL segment'", instance_->name));
  }
  begin_wal_ = label.start_wal;
  Lsn stop_lsn = ParseLsn(end_lsn_);
  end_wal_ = WalSegmentName(label.start_timeline, SegmentNumber(stop_lsn - 1, segment_size), segment_size);

  // A standby's pg_backup_stop does not wait for archiving (unless
  // archive_mode=always): wait for the primary's archive to hold the last
  // segment, so a point-in-time restore from this snapshot can start at once.
  if (in_recovery && wait_for_archive_ && !cluster_->repository.empty()) {
    cluster_->UseRepositoryCredentials();
    auto repo = Repository::Open(OpenStorage(cluster_->repository));
    WalArchive archive(repo->storage(), std::stoull(controldata_["Database system identifier"]));
    bool archived = archive.WaitUntilArchived(end_wal_, std::chrono::seconds(o_.archive_timeout_seconds), [&] {
      ThrowIfInterrupted("waiting for the backup's last WAL segment to be archived");
    });
    if (!archived)
      warnings_ = fmt::format("WAL segment {} (end of the backup) was not archived into {} within {}s; the snapshot "
                              "restores on its own from its WAL volume, point-in-time recovery needs that segment",
                              end_wal_, cluster_->repository, o_.archive_timeout_seconds);
  }
}

void SnapshotBackup::WriteRecords() {
  json controldata = json::object();
  for (const auto& [k, v] : controldata_) controldata[k] = v;
  json element_list = json::array();
  for (const auto& e : elements_) {
    json item = {{"name", e.name}, {"type", e.type}, {"path", e.path}, {"volume", e.volume},
                 {"driver", e.driver->name()}, {"volumeSnapshotClassName", e.snapshot_class->name},
                 {"deletionPolicy", e.snapshot_class->deletion_policy}};
    if (!e.tablespace_name.empty()) {
      item["tablespaceName"] = e.tablespace_name;
      item["tablespaceOid"] = e.tablespace_oid;
    }
    element_list.push_back(item);
  }
  const auto& vs = cluster_->backup.volume_snapshot;
  std::string end_time = Rfc3339(Clock::now());
  json backup_info = {
      {"name", name_},
      {"cluster", cluster_->name},
      {"online", online_},
      {"instance", instance_->name},
      {"instanceRole", choice_.is_primary ? "primary" : "replica"},
      {"targetReason", choice_.reason},
      {"beginLSN", begin_lsn_},
      {"endLSN", end_lsn_},
      {"beginWal", begin_wal_},
      {"endWal", end_wal_},
      {"timeline", controldata_["Latest checkpoint's TimeLineID"]},
      {"systemIdentifier", controldata_["Database system identifier"]},
      {"majorVersion", major_version_},
      {"pgControldata", controldata},
      {"backupLabelFile", backup_label_},
      {"tablespaceMapFile", tablespace_map_},
      {"repository", cluster_->repository},
      {"walDirInPgdata", instance_->wal_dir.empty()},
      {"backupStartTime", backup_["status"].value("startedAt", "")},
      {"backupEndTime", end_time},
      {"elements", element_list},
  };
  const std::string& version = major_version_;
  for (const auto& e : elements_) {
    json labels = {{"pgvault.io/cluster", cluster_->name},
                   {"pgvault.io/backupName", name_},
                   {"pgvault.io/majorVersion", version},
                   {"pgvault.io/backupTimeline", backup_info["timeline"]},
                   {"pgvault.io/backupDate", e.created_at.substr(0, 4) + e.created_at.substr(5, 2) + e.created_at.substr(8, 2)}};
    for (const auto& [k, v] : vs.labels) labels[k] = v;
    json annotations = {{"pgvault.io/instanceName", instance_->name},
                        {"pgvault.io/instanceRole", backup_info["instanceRole"]},
                        {"pgvault.io/pvcRole", e.type},
                        {"pgvault.io/onlineBackup", online_ ? "true" : "false"},
                        {"pgvault.io/backupStartWAL", begin_wal_},
                        {"pgvault.io/backupEndWAL", end_wal_}};
    for (const auto& [k, v] : vs.annotations) annotations[k] = v;
    json record = {
        {"apiVersion", kSnapshotRecordVersion},
        {"kind", "VolumeSnapshot"},
        {"metadata", {{"name", e.name}, {"labels", labels}, {"annotations", annotations}}},
        {"spec",
         {{"cluster", cluster_->name},
          {"backup", name_},
          {"elementType", e.type},
          {"tablespaceName", e.tablespace_name},
          {"volumeSnapshotClassName", e.snapshot_class->name},
          {"driver", e.driver->name()},
          {"deletionPolicy", e.snapshot_class->deletion_policy},
          {"source", {{"instance", instance_->name}, {"volume", e.volume}}}}},
        {"status",
         {{"path", e.path},
          {"readyToUse", true},
          {"restoreSize", TreeSize(e.path)},
          {"creationTime", e.created_at},
          {"atomic", e.driver->atomic()}}},
        {"backup", backup_info},
        {"clusterManifest", cluster_->manifest},
    };
    WriteSnapshotRecord(record);
    catalog_->SaveSnapshot(record);
  }
}

void SnapshotBackup::DiscardSnapshots() {
  for (auto& e : elements_) {
    if (!e.created) continue;
    try {
      ::unlink(SnapshotRecordPath(e.path).c_str());
      e.driver->Delete(e.path);
      catalog_->DeleteSnapshot(e.name);
    } catch (const std::exception& ex) {
      spdlog::error("could not remove snapshot {} of the failed backup: {}", e.path, ex.what());
    }
  }
}

json SnapshotBackup::Run() {
  catalog_ = Catalog::Open(o_.state_dir);
  config_ = ResolveClusterConfig(o_.config_path, *catalog_);
  cluster_ = &config_.Cluster(o_.cluster);
  const auto& vs = cluster_->backup.volume_snapshot;
  if (!vs.configured)
    throw UsageError(fmt::format("cluster {} has no spec.backup.volumeSnapshot in {}: add one (className, online) to "
                                 "take volume snapshot backups",
                                 cluster_->name, config_.origin));
  // One backup of a cluster at a time: two cold backups at once could fence two standbys.
  cluster_lock_ = LockClusterBackups(o_.state_dir, cluster_->name);
  FailAbandonedBackups(*catalog_);
  auto start = Clock::now();
  std::optional<json> adopted;
  if (o_.adopt) {
    // A Backup object applied earlier and claimed by this process
    // (backup_object_runner.h): run it under its own name and metadata.
    adopted = catalog_->LoadBackup(o_.name);
    if (!adopted || (*adopted)["status"].value("phase", "") != "started" ||
        (*adopted)["status"].value("/owner/pid"_json_pointer, int64_t{0}) != CurrentProcess().pid)
      throw Error(fmt::format("backup {} is not claimed by this process (pid {})", o_.name, CurrentProcess().pid));
    start = ParseTimestamp((*adopted)["metadata"].value("creationTimestamp", FormatTimestamp(start)));
  }
  name_ = o_.name.empty() ? fmt::format("{}-{}", cluster_->name, FormatBackupIdTime(start).erase(8, 1)) : o_.name;
  static const std::regex kName("^[a-z0-9]([-a-z0-9._]{0,200}[a-z0-9])?$");
  if (!std::regex_match(name_, kName))
    throw UsageError(fmt::format("backup name '{}' is not valid: lower-case letters, digits, '-', '.', '_'", name_));
  // The other snapshots are <name>-wal and <name>-tbs-<tablespace>: a backup
  // name of that shape would collide with another backup's snapshots.
  if (name_.ends_with("-wal") || name_.find("-tbs-") != std::string::npos)
    throw UsageError(fmt::format("backup name '{}' must not end in -wal nor contain -tbs- (the names of a backup's "
                                 "WAL and tablespace snapshots)",
                                 name_));
  if (!adopted && catalog_->LoadBackup(name_))
    throw UsageError(fmt::format("a backup named {} exists already in {}: choose another --name", name_,
                                 catalog_->path()));
  online_ = o_.online.value_or(vs.online);
  fast_ = o_.immediate_checkpoint.value_or(vs.online_configuration.immediate_checkpoint);
  wait_for_archive_ = o_.wait_for_archive.value_or(vs.online_configuration.wait_for_archive);
  std::string target = o_.target.empty() ? cluster_->backup.target : o_.target;

  if (adopted) {
    // The applied spec stays as the user wrote it; status says what was done.
    backup_ = *adopted;
    backup_["status"]["method"] = "volumeSnapshot";
    backup_["status"]["online"] = online_;
    backup_["status"]["target"] = target;
  } else {
    backup_ = {{"apiVersion", "postgresql.cnpg.io/v1"},
               {"kind", "Backup"},
               {"metadata", {{"name", name_}, {"creationTimestamp", Rfc3339(start)}}},
               {"spec",
                {{"cluster", {{"name", cluster_->name}}},
                 {"method", "volumeSnapshot"},
                 {"target", target},
                 {"online", online_},
                 {"onlineConfiguration", {{"waitForArchive", wait_for_archive_}, {"immediateCheckpoint", fast_}}}}},
               {"status", {{"phase", "pending"}, {"method", "volumeSnapshot"}, {"online", online_}}}};
  }
  Save();
  try {
    choice_ = SelectBackupInstance(*cluster_, *catalog_, target);
    instance_ = &cluster_->Instance(choice_.instance);
    spdlog::info("backup {}: {}", name_, choice_.reason);
    backup_["status"]["phase"] = "started";
    backup_["status"]["startedAt"] = Rfc3339(Clock::now());
    backup_["status"]["backupId"] = name_;
    backup_["status"]["backupName"] = name_;
    backup_["status"]["instanceID"] = {{"podName", instance_->name}};
    backup_["status"]["targetReason"] = choice_.reason;
    ProcessIdentity me = CurrentProcess();
    backup_["status"]["owner"] = {{"host", me.host}, {"pid", me.pid}, {"startTicks", me.start_ticks}};
    Save();
    catalog_->AddEvent("Backup", name_, "Normal", "BackupStarted",
                       fmt::format("{} backup started on instance {}", online_ ? "Online" : "Offline", instance_->name));
    PlanElements();
    if (online_)
      RunHot();
    else
      RunCold();
    ThrowIfInterrupted("recording the backup");
    WriteRecords();
  } catch (const std::exception& e) {
    DiscardSnapshots();
    backup_["status"]["phase"] = "failed";
    backup_["status"]["error"] = e.what();
    backup_["status"]["stoppedAt"] = Rfc3339(Clock::now());
    Save();
    catalog_->AddEvent("Backup", name_, "Warning", "BackupFailed", e.what());
    throw;
  }
  json elements = json::array();
  for (const auto& e : elements_) {
    json item = {{"name", e.name}, {"type", e.type}};
    if (!e.tablespace_name.empty()) item["tablespaceName"] = e.tablespace_name;
    elements.push_back(item);
  }
  auto& st = backup_["status"];
  st["phase"] = "completed";
  st["stoppedAt"] = Rfc3339(Clock::now());
  st["beginWal"] = begin_wal_;
  st["endWal"] = end_wal_;
  st["beginLSN"] = begin_lsn_;
  st["endLSN"] = end_lsn_;
  st["snapshotBackupStatus"] = {{"elements", elements}};
  st["backupLabelFile"] = backup_label_;
  st["tablespaceMapFile"] = tablespace_map_;
  st["majorVersion"] = major_version_;
  st["fenceSeconds"] = fence_seconds_;
  st["snapshotSeconds"] = snapshot_seconds_;
  if (!warnings_.empty()) st["warning"] = warnings_;
  st.erase("plannedSnapshots");
  Save();
  catalog_->AddEvent("Backup", name_, "Normal", "BackupCompleted",
                     fmt::format("Backup completed: {} snapshot(s) of instance {}", elements_.size(), instance_->name));
  if (!unfence_error_.empty()) {
    catalog_->AddEvent("Backup", name_, "Warning", "UnfenceFailed", unfence_error_);
    throw Error(fmt::format("backup {} completed, but {}", name_, unfence_error_));
  }
  return backup_;
}

}  // namespace

json RunSnapshotBackup(const SnapshotBackupOptions& options) { return SnapshotBackup(options).Run(); }

}  // namespace pgvault
