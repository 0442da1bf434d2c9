// Volume-snapshot backups on real btrfs and XFS filesystems (loop devices, as
// root): target selection, fencing in cold backups, hot snapshots bracketed by
// pg_backup_start/stop, restores from snapshots (with and without the
// catalog, to a point in time through the WAL archive), and what happens when
// pgvault is killed or interrupted while an instance is fenced.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/dataset.h"
#include "support/loop_volume.h"
#include "support/pg_cluster.h"
#include "support/pg_waits.h"
#include "support/pgvault_cli.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace pgvault::test {
namespace {

using nlohmann::json;

struct Member {
  std::string name;
  PgCluster* pg;
  std::string wal_dir;
  std::string tablespace = {};  // "NAME: DIR" when the instance has one
};

// A cluster file for `members`, with `backup` as the spec.backup block (YAML,
// indented by 4) and the btrfs and reflink classes.
std::string WriteClusterFile(const std::string& path, const std::vector<Member>& members, const std::string& backup,
                             const std::string& repository = "") {
  std::ofstream out(path);
  out << "apiVersion: pgvault.io/v1\nkind: Cluster\nmetadata: {name: echo-postgresql}\nspec:\n";
  if (!repository.empty()) out << "  repository: " << repository << "\n";
  out << "  instances:\n";
  for (const auto& m : members) {
    out << "    - name: " << m.name << "\n"
        << "      conninfo: \"host=127.0.0.1 port=" << m.pg->port() << " user=postgres\"\n"
        << "      pgdata: " << m.pg->datadir() << "\n"
        << "      logFile: " << m.pg->LogPath() << "\n";
    if (!m.wal_dir.empty()) out << "      walDir: " << m.wal_dir << "\n";
    if (!m.tablespace.empty()) out << "      tablespaces: {" << m.tablespace << "}\n";
  }
  out << "  backup:\n" << backup;
  out << "---\napiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\nmetadata: {name: btrfs-local}\n"
         "driver: btrfs\ndeletionPolicy: Delete\n"
         "---\napiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\nmetadata: {name: xfs-reflink}\n"
         "driver: reflink\ndeletionPolicy: Delete\n";
  return path;
}

// pgvault arguments with the cluster file and the state directory in front.
class ClusterArgs {
 public:
  ClusterArgs(std::string config, std::string state_dir)
      : prefix_{"--config", std::move(config), "--state-dir", std::move(state_dir)} {}
  std::vector<std::string> operator()(std::vector<std::string> args) const {
    args.insert(args.begin(), prefix_.begin(), prefix_.end());
    return args;
  }

 private:
  std::vector<std::string> prefix_;
};

long HistoryCount(PgCluster& pg) { return std::stol(pg.Value("SELECT count(*) FROM pgbench_history")); }

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// pgbench's summary must show it ran and that no transaction failed.
void ExpectPgbenchWithoutErrors(const std::string& log) {
  std::string text = ReadText(log);
  EXPECT_NE(text.find("number of failed transactions: 0 "), std::string::npos) << text;
  EXPECT_EQ(text.find("aborted"), std::string::npos) << text;
  EXPECT_EQ(text.find("ERROR"), std::string::npos) << text;
}

std::string Markers(PgCluster& pg) {
  return pg.Value("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker");
}

}  // namespace

// The seed's flow: prefer-standby, online: false. The standby (data and pg_wal
// on volumes of their own) is fenced while pgbench runs on the primary; it
// comes back and streams; the snapshots restore to its state at fencing time,
// from the catalog and, with the catalog lost, from their own metadata.
TEST(VolumeSnapshot, ColdPreferStandbyFencesTheStandbyAndRestores) {
  SKIP_UNLESS_SNAPSHOTS();
  TempDir tmp;
  // Three filesystems: the primary's, the standby's data, the standby's pg_wal.
  auto pvol = LoopVolume::Create("btrfs", tmp / "p.img", tmp / "pvol");
  auto vol = LoopVolume::Create("btrfs", tmp / "btrfs.img", tmp / "mnt");
  auto wvol = LoopVolume::Create("btrfs", tmp / "w.img", tmp / "wvol");
  std::string pdata = pvol->CreateVolume("primary"), sdata = vol->CreateVolume("standby"),
              swal = wvol->CreateVolume("pg_wal");
  auto primary = PgCluster::Create(pdata);
  primary->Start();
  BuildDataset(*primary, 10, 16, "");
  primary->Exec("CREATE TABLE marker (id int PRIMARY KEY, note text)");
  auto standby = PgCluster::CreateStandby(*primary, sdata, {}, {"--waldir=" + swal});
  primary->WaitForReplay(*standby);
  auto static_sums = StaticChecksums(*primary, false);
  std::string config = WriteClusterFile(
      tmp / "cluster.yaml", {{"echo-postgresql-1", primary.get(), ""}, {"echo-postgresql-2", standby.get(), swal}},
      "    target: prefer-standby\n    volumeSnapshot: {className: btrfs-local, online: false}\n");
  std::string state = tmp / "state";
  const ClusterArgs with(config, state);

  auto load = primary->StartPgbenchLoad(20, 2);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  primary->Exec("INSERT INTO marker VALUES (1, 'before the backup')");
  primary->WaitForReplay(*standby);
  long before = HistoryCount(*primary);
  json b = PgvaultJson(with({"backup", "--method", "volumeSnapshot", "--name", "echo-postgresql-on-demand-backup-01"}));
  primary->Exec("INSERT INTO marker VALUES (2, 'after the backup')");
  long after = HistoryCount(*primary);
  EXPECT_GT(after, before) << "the load was not running during the backup";
  EXPECT_EQ(load->Wait(), 0);
  ExpectPgbenchWithoutErrors(primary->datadir() + ".pgbench.log");

  const json& st = b["status"];
  EXPECT_EQ(st["phase"], "completed");
  EXPECT_EQ(st["instanceID"]["podName"], "echo-postgresql-2") << st.dump(2);
  EXPECT_EQ(st["online"], false);
  ASSERT_EQ(st["snapshotBackupStatus"]["elements"].size(), 2u);
  EXPECT_EQ(st["snapshotBackupStatus"]["elements"][0]["name"], "echo-postgresql-on-demand-backup-01");
  EXPECT_EQ(st["snapshotBackupStatus"]["elements"][0]["type"], "PG_DATA");
  EXPECT_EQ(st["snapshotBackupStatus"]["elements"][1]["name"], "echo-postgresql-on-demand-backup-01-wal");
  EXPECT_EQ(st["snapshotBackupStatus"]["elements"][1]["type"], "PG_WAL");
  EXPECT_EQ(st["beginLSN"], st["endLSN"]);
  EXPECT_FALSE(st["beginWal"].get<std::string>().empty());
  EXPECT_LT(st["fenceSeconds"].get<double>(), 60.0);

  // The standby came back and streams; nothing is fenced; it catches up.
  WaitUntilStreaming(*standby);
  json status = PgvaultJson(with({"status"}));
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[1]["instance"], "echo-postgresql-2");
  EXPECT_EQ(status[1]["role"], "standby");
  EXPECT_EQ(status[1]["fenced"], false);
  primary->WaitForReplay(*standby);
  EXPECT_EQ(TableChecksum(*standby, "pgbench_accounts"), TableChecksum(*primary, "pgbench_accounts"));

  // get / describe, as the seed shows them.
  json snaps = PgvaultJson(with({"get", "volumesnapshot", "-o", "json"}));
  ASSERT_EQ(snaps["items"].size(), 2u);
  for (const auto& s : snaps["items"]) {
    EXPECT_EQ(s["status"]["readyToUse"], true);
    EXPECT_GT(s["status"]["restoreSize"].get<uint64_t>(), 0u);
    EXPECT_EQ(s["spec"]["volumeSnapshotClassName"], "btrfs-local");
    EXPECT_FALSE(s["backup"]["pgControldata"]["Latest checkpoint's REDO location"].get<std::string>().empty());
  }
  RunResult table = Pgvault(with({"get", "volumesnapshot"}));
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("NAME"), std::string::npos);
  EXPECT_NE(table.out.find("READYTOUSE"), std::string::npos);
  EXPECT_NE(table.out.find("echo-postgresql-on-demand-backup-01-wal   true"), std::string::npos) << table.out;
  RunResult backups = Pgvault(with({"get", "backup"}));
  EXPECT_NE(backups.out.find("volumeSnapshot   completed"), std::string::npos) << backups.out;
  RunResult described = Pgvault(with({"describe", "backup", "echo-postgresql-on-demand-backup-01"}));
  EXPECT_NE(described.out.find("Fencing instance echo-postgresql-2"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("Unfencing instance echo-postgresql-2"), std::string::npos) << described.out;
  RunResult classes = Pgvault(with({"get", "volumesnapshotclass", "-o", "yaml"}));
  EXPECT_NE(classes.out.find("driver: btrfs"), std::string::npos) << classes.out;

  auto history = HistoryRows(*primary);
  // Restore 1: from the catalog, onto the same btrfs filesystem.
  {
    json r = PgvaultJson(
        with({"restore", "--from-snapshot", "echo-postgresql-on-demand-backup-01", "--target", vol->mount_point() + "/r1"}));
    EXPECT_EQ(r["method"], "btrfs snapshot");
    auto restored = PgCluster::Adopt(vol->mount_point() + "/r1");
    restored->Start();
    WaitUntilPromoted(*restored);
    EXPECT_EQ(Markers(*restored), "1");
    ExpectPgbenchConsistentWith(*restored, history, before, after);
    EXPECT_EQ(StaticChecksums(*restored, false), static_sums);
    ExpectAmcheckAndChecksumsClean(*restored);
  }
  // Restore 2: the catalog is lost (an empty state directory); the snapshot is
  // found by its metadata file, cloned onto another filesystem, pg_wal apart.
  {
    RunResult r = Pgvault({"--config", config, "--state-dir", tmp / "lost-state", "restore", "--from-snapshot",
                           "echo-postgresql-on-demand-backup-01", "--target", tmp / "r2", "--wal-target",
                           tmp / "r2-wal", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["method"], "copy");
    EXPECT_TRUE(std::filesystem::is_symlink(tmp / "r2/pg_wal"));
    // Without the cluster file either: by the metadata file's path.
    RunResult by_path = Pgvault({"--state-dir", tmp / "lost-state", "restore", "--from-snapshot",
                                 vol->mount_point() + "/.snapshots/echo-postgresql-on-demand-backup-01.json",
                                 "--target", tmp / "r3"});
    EXPECT_EQ(by_path.exit_code, 0) << by_path.err;
    auto restored = PgCluster::Adopt(tmp / "r2");
    restored->Start();
    WaitUntilPromoted(*restored);
    EXPECT_EQ(Markers(*restored), "1");
    ExpectPgbenchConsistentWith(*restored, history, before, after);
    restored->Stop();
  }
  // A non-empty target is refused before anything is written.
  RunResult again = Pgvault(
      with({"restore", "--from-snapshot", "echo-postgresql-on-demand-backup-01", "--target", tmp / "r2"}));
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;

  // A hot snapshot of the standby with its WAL volume restores without any
  // WAL archive: backup_label from the metadata, the WAL volume snapshotted
  // after pg_backup_stop holds everything up to the backup's end.
  {
    primary->Exec("INSERT INTO marker VALUES (3, 'before the hot backup')");
    primary->WaitForReplay(*standby);
    json hot = PgvaultJson(with({"backup", "--method", "volumeSnapshot", "--name", "hot-standby", "--online=true",
                                 "--checkpoint", "fast"}));
    EXPECT_EQ(hot["status"]["instanceID"]["podName"], "echo-postgresql-2");
    json r = PgvaultJson(with({"restore", "--from-snapshot", "hot-standby-wal", "--target", tmp / "r4"}));
    EXPECT_NE(r["recovery"].get<std::string>().find("WAL volume"), std::string::npos) << r.dump();
    EXPECT_FALSE(std::filesystem::exists(tmp / "r4/recovery.signal"));
    EXPECT_TRUE(std::filesystem::exists(tmp / "r4/backup_label"));
    auto restored = PgCluster::Adopt(tmp / "r4");
    restored->Start();
    WaitUntilPromoted(*restored);
    EXPECT_EQ(Markers(*restored), "1,2,3");
    ExpectAmcheckAndChecksumsClean(*restored);
    ASSERT_EQ(Pgvault(with({"delete", "backup", "hot-standby"})).exit_code, 0);
  }

  // delete backup removes the snapshots and their records.
  RunResult del = Pgvault(with({"delete", "backup", "echo-postgresql-on-demand-backup-01"}));
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_FALSE(std::filesystem::exists(vol->mount_point() + "/.snapshots/echo-postgresql-on-demand-backup-01"));
  EXPECT_FALSE(std::filesystem::exists(wvol->mount_point() + "/.snapshots/echo-postgresql-on-demand-backup-01-wal"));
  EXPECT_FALSE(std::filesystem::exists(vol->mount_point() + "/.snapshots/echo-postgresql-on-demand-backup-01.json"));
  EXPECT_EQ(PgvaultJson(with({"get", "volumesnapshot", "-o", "json"}))["items"].size(), 0u);
}

// prefer-standby picks the standby that has received (then replayed) the most
// WAL; with no healthy standby a hot backup falls back to the primary and a
// cold one is refused unless --fence-primary.
TEST(VolumeSnapshot, TargetSelectionAmongStandbysAndFallbackToThePrimary) {
  SKIP_UNLESS_SNAPSHOTS();
  TempDir tmp;
  auto vol = LoopVolume::Create("btrfs", tmp / "btrfs.img", tmp / "mnt");
  auto primary = PgCluster::Create(vol->CreateVolume("primary"));
  primary->Start();
  primary->PgbenchInit(2);
  auto lagging = PgCluster::CreateStandby(*primary, vol->CreateVolume("standby-a"));
  auto current = PgCluster::CreateStandby(*primary, vol->CreateVolume("standby-b"));
  primary->WaitForReplay(*lagging);
  primary->WaitForReplay(*current);
  lagging->Exec("SELECT pg_wal_replay_pause()");
  primary->Exec("CREATE TABLE more AS SELECT g FROM generate_series(1, 100000) g");
  primary->WaitForReplay(*current);
  std::string end = primary->Value("SELECT pg_current_wal_lsn()::text");
  for (int i = 0; i < 300; ++i) {
    if (lagging->Value("SELECT (pg_last_wal_receive_lsn() >= '" + end + "')::text") == "true") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(lagging->Value("SELECT (pg_last_wal_replay_lsn() < '" + end + "')::text"), "true");
  std::string config = WriteClusterFile(tmp / "cluster.yaml",
                                        {{"pg-a", lagging.get(), ""}, {"pg-primary", primary.get(), ""},
                                         {"pg-b", current.get(), ""}},
                                        "    volumeSnapshot:\n      className: btrfs-local\n"
                                        "      onlineConfiguration: {immediateCheckpoint: true}\n");
  const ClusterArgs with(config, tmp / "state");
  json hot = PgvaultJson(with({"backup", "--method", "volumeSnapshot", "--name", "b1"}));
  EXPECT_EQ(hot["status"]["instanceID"]["podName"], "pg-b") << hot["status"]["targetReason"];
  EXPECT_EQ(hot["status"]["online"], true);
  EXPECT_NE(hot["status"]["backupLabelFile"].get<std::string>().find("BACKUP FROM: standby"), std::string::npos);
  // That hot snapshot has no WAL volume and the cluster no WAL archive: its
  // restore is refused before anything is written.
  RunResult no_archive = Pgvault(with({"restore", "--from-snapshot", "b1", "--target", tmp / "r1"}));
  EXPECT_NE(no_archive.exit_code, 0);
  EXPECT_NE(no_archive.err.find("needs the WAL archive"), std::string::npos) << no_archive.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "r1"));
  // A name that would collide with another backup's WAL snapshot is refused.
  RunResult bad_name = Pgvault(with({"backup", "--method", "volumeSnapshot", "--name", "b1-wal"}));
  EXPECT_EQ(bad_name.exit_code, 2);
  EXPECT_NE(bad_name.err.find("-wal"), std::string::npos) << bad_name.err;
  // The backup's target can be overridden.
  json on_primary = PgvaultJson(with({"backup", "--method", "volumeSnapshot", "--name", "b2", "--target", "primary"}));
  EXPECT_EQ(on_primary["status"]["instanceID"]["podName"], "pg-primary");

  lagging->Stop();
  current->Stop();
  json fallback = PgvaultJson(with({"backup", "--method", "volumeSnapshot", "--name", "b3"}));
  EXPECT_EQ(fallback["status"]["instanceID"]["podName"], "pg-primary");
  EXPECT_NE(fallback["status"]["targetReason"].get<std::string>().find("falling back to the primary"),
            std::string::npos);
  RunResult cold = Pgvault(with({"backup", "--method", "volumeSnapshot", "--name", "b4", "--online=false"}));
  EXPECT_NE(cold.exit_code, 0);
  EXPECT_NE(cold.err.find("--fence-primary"), std::string::npos) << cold.err;
  EXPECT_EQ(primary->Value("SELECT 1"), "1") << "the primary was stopped";
  json failed = PgvaultJson(with({"get", "backup", "b4", "-o", "json"}));
  EXPECT_EQ(failed["status"]["phase"], "failed");
  EXPECT_FALSE(std::filesystem::exists(vol->mount_point() + "/.snapshots/b4"));
}

// A hot snapshot of the primary under load on btrfs, then a restore from it
// plus the WAL archive to a time after it: exactly the rows committed by then.
TEST(VolumeSnapshot, HotSnapshotOfThePrimaryRestoresToATargetTime) {
  SKIP_UNLESS_SNAPSHOTS();
  TempDir tmp;
  auto vol = LoopVolume::Create("btrfs", tmp / "btrfs.img", tmp / "mnt");
  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});
  auto primary = PgCluster::Create(vol->CreateVolume("primary"), ArchivingConf(repo));
  primary->Start();
  primary->PgbenchInit(5);
  primary->Exec("CREATE TABLE marker (id int PRIMARY KEY)");
  WaitForArchived(*primary);
  std::string config = WriteClusterFile(tmp / "cluster.yaml", {{"pg-1", primary.get(), ""}},
                                        "    target: primary\n    volumeSnapshot:\n      className: btrfs-local\n"
                                        "      onlineConfiguration: {immediateCheckpoint: true}\n",
                                        repo);
  auto load = primary->StartPgbenchLoad(30, 2);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  json b = PgvaultJson({"--config", config, "--state-dir", tmp / "state", "backup", "--method", "volumeSnapshot",
                        "--name", "hot1"});
  EXPECT_EQ(b["status"]["online"], true);
  EXPECT_NE(b["status"]["backupLabelFile"].get<std::string>().find("BACKUP FROM: primary"), std::string::npos);
  std::vector<std::string> commit_times;
  for (int i = 1; i <= 10; ++i) {
    std::string xid = primary->Value("INSERT INTO marker VALUES (" + std::to_string(i) + ") RETURNING xmin::text");
    commit_times.push_back(primary->Value("SELECT to_char(pg_xact_commit_timestamp('" + xid +
                                          "'::xid) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  load->Wait();
  WaitForArchived(*primary);
  json r = PgvaultJson({"--state-dir", tmp / "state", "restore", "--from-snapshot", "hot1", "--target",
                        vol->mount_point() + "/pitr", "--target-time", commit_times[5], "--archive-mode", "off"});
  EXPECT_EQ(r["method"], "btrfs snapshot");
  EXPECT_EQ(r["archive_mode"], "off");
  auto restored = PgCluster::Adopt(vol->mount_point() + "/pitr");
  restored->Start();
  WaitUntilPromoted(*restored);
  EXPECT_EQ(restored->Value("SHOW archive_mode"), "off");  // the copy does not archive into the source's repository
  EXPECT_EQ(Markers(*restored), "1,2,3,4,5,6");
  // The same target selection serves repository backups: --cluster picks the
  // instance and spec.repository.
  json repo_backup = PgvaultJson({"--config", config, "--state-dir", tmp / "state", "backup", "--cluster",
                                  "echo-postgresql"});
  EXPECT_EQ(repo_backup["backup_from"], "primary");
  EXPECT_EQ(restored->Value("SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM "
                            "pgbench_history)"),
            "t");
  ExpectAmcheckAndChecksumsClean(*restored);
}

// reflink on XFS: a cold backup of the standby and a hot backup of the primary
// (bracketed by pg_backup_start/stop, restored through the archive).
TEST(VolumeSnapshot, ReflinkOnXfsColdAndHot) {
  SKIP_UNLESS_SNAPSHOTS();
  TempDir tmp;
  auto vol = LoopVolume::Create("xfs", tmp / "xfs.img", tmp / "mnt");
  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});
  auto primary = PgCluster::Create(vol->CreateVolume("primary"), ArchivingConf(repo));
  primary->Start();
  // A tablespace on a volume of its own (here: a directory of the same XFS).
  std::string ts_primary = vol->CreateDirectory("ts1-primary"), ts_standby = vol->CreateDirectory("ts1-standby");
  BuildDataset(*primary, 5, 8, ts_primary);
  primary->Exec("CREATE TABLE marker (id int PRIMARY KEY)");
  WaitForArchived(*primary);
  auto standby = PgCluster::CreateStandby(*primary, vol->CreateVolume("standby"), {ts_primary + "=" + ts_standby});
  primary->WaitForReplay(*standby);
  auto static_sums = StaticChecksums(*primary, true);
  std::string config = WriteClusterFile(tmp / "cluster.yaml",
                                        {{"x-1", primary.get(), "", "ts1: " + ts_primary},
                                         {"x-2", standby.get(), "", "ts1: " + ts_standby}},
                                        "    volumeSnapshot: {className: xfs-reflink, online: false}\n", repo);
  const ClusterArgs with(config, tmp / "state");
  auto load = primary->StartPgbenchLoad(40, 2);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  primary->Exec("INSERT INTO marker VALUES (1)");
  primary->WaitForReplay(*standby);
  long before_cold = HistoryCount(*primary);
  json cold = PgvaultJson(with({"backup", "--method", "volumeSnapshot", "--name", "cold1"}));
  long after_cold = HistoryCount(*primary);
  EXPECT_EQ(cold["status"]["instanceID"]["podName"], "x-2");
  ASSERT_EQ(cold["status"]["snapshotBackupStatus"]["elements"].size(), 2u);
  EXPECT_EQ(cold["status"]["snapshotBackupStatus"]["elements"][1]["name"], "cold1-tbs-ts1");
  primary->Exec("INSERT INTO marker VALUES (2)");
  long before_hot = HistoryCount(*primary);
  json hot = PgvaultJson(with({"backup", "--method", "volumeSnapshot", "--name", "hot1", "--online=true",
                               "--target", "primary", "--checkpoint", "fast"}));
  long after_hot = HistoryCount(*primary);
  EXPECT_EQ(hot["status"]["instanceID"]["podName"], "x-1");
  primary->Exec("INSERT INTO marker VALUES (3)");
  EXPECT_EQ(load->Wait(), 0);
  ExpectPgbenchWithoutErrors(primary->datadir() + ".pgbench.log");
  WaitForArchived(*primary);
  auto history = HistoryRows(*primary);
  {
    json r = PgvaultJson(with({"restore", "--from-snapshot", "cold1", "--target", vol->mount_point() + "/rc",
                               "--tablespace-map", "ts1=" + vol->mount_point() + "/rc-ts1"}));
    EXPECT_EQ(r["method"], "reflink");
    auto restored = PgCluster::Adopt(vol->mount_point() + "/rc");
    restored->Start();
    WaitUntilPromoted(*restored);
    EXPECT_EQ(Markers(*restored), "1");
    ExpectPgbenchConsistentWith(*restored, history, before_cold, after_cold);
    EXPECT_EQ(StaticChecksums(*restored, true), static_sums);
    EXPECT_EQ(restored->Value("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'ts1'"),
              vol->mount_point() + "/rc-ts1");
    ExpectAmcheckAndChecksumsClean(*restored);
  }
  {
    // The tablespace goes to the default place, <target>-tbs-<name>.
    json r = PgvaultJson(with({"restore", "--from-snapshot", "hot1", "--target", vol->mount_point() + "/rh"}));
    EXPECT_NE(r["recovery"].get<std::string>().find("end of the backup"), std::string::npos) << r.dump();
    std::ofstream(vol->mount_point() + "/rh/postgresql.auto.conf", std::ios::app) << "archive_mode = off\n";
    auto restored = PgCluster::Adopt(vol->mount_point() + "/rh");
    restored->Start();
    WaitUntilPromoted(*restored);
    EXPECT_EQ(Markers(*restored), "1,2");
    ExpectPgbenchConsistentWith(*restored, history, before_hot, after_hot);
    EXPECT_EQ(StaticChecksums(*restored, true), static_sums);
    EXPECT_EQ(restored->Value("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'ts1'"),
              vol->mount_point() + "/rh-tbs-ts1");
    ExpectAmcheckAndChecksumsClean(*restored);
  }
}

// pgvault killed (SIGKILL) while the standby is fenced: the fence shows in
// status and `fence off` brings the standby back. SIGTERM during a cold
// backup unfences before exiting. `fence on|off` by hand.
TEST(VolumeSnapshot, FencesSurviveAKilledPgvaultAndInterruptsUnfence) {
  SKIP_UNLESS_SNAPSHOTS();
  TempDir tmp;
  auto vol = LoopVolume::Create("btrfs", tmp / "btrfs.img", tmp / "mnt");
  auto primary = PgCluster::Create(vol->CreateVolume("primary"));
  primary->Start();
  primary->PgbenchInit(2);
  auto standby = PgCluster::CreateStandby(*primary, vol->CreateVolume("standby"));
  primary->WaitForReplay(*standby);
  std::string config =
      WriteClusterFile(tmp / "cluster.yaml", {{"k-1", primary.get(), ""}, {"k-2", standby.get(), ""}},
                       "    volumeSnapshot: {className: btrfs-local, online: false}\n");
  std::string state = tmp / "state";
  const ClusterArgs with(config, state);
  auto start_paused = [&](const std::string& name, const std::string& log) {
    setenv("PGVAULT_TEST_PAUSE_AT", "snapshot-fenced", 1);
    std::vector<std::string> argv = with({"backup", "--method", "volumeSnapshot", "--name", name});
    argv.insert(argv.begin(), PGVAULT_BINARY);
    auto p = std::make_unique<BackgroundProcess>(argv, log);
    unsetenv("PGVAULT_TEST_PAUSE_AT");
    for (int i = 0; i < 1200; ++i) {
      if (ReadText(log).find("paused at snapshot-fenced") != std::string::npos) break;
      EXPECT_TRUE(p->Running()) << ReadText(log);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return p;
  };

  // SIGKILL while fenced.
  {
    auto p = start_paused("killed", tmp / "killed.log");
    p->Signal(SIGKILL);
    EXPECT_EQ(p->Wait(), -SIGKILL);
    EXPECT_NE(RunAsPostgres({PgBin("pg_ctl"), "-D", standby->datadir(), "status"}).exit_code, 0) << "the standby runs";
    json status = PgvaultJson(with({"status"}));
    EXPECT_EQ(status[1]["instance"], "k-2");
    EXPECT_EQ(status[1]["fenced"], true);
    EXPECT_EQ(status[1]["fence"]["ownerAlive"], false);
    EXPECT_NE(status[1]["fence"]["message"].get<std::string>().find("fence off k-2"), std::string::npos);
    // Nothing else may take it while the fence stands.
    RunResult blocked = Pgvault(with({"fence", "on", "k-2"}));
    EXPECT_NE(blocked.exit_code, 0);
    EXPECT_NE(blocked.err.find("already fenced"), std::string::npos) << blocked.err;
    RunResult off = Pgvault(with({"fence", "off", "k-2"}));
    ASSERT_EQ(off.exit_code, 0) << off.err << off.out;
    WaitUntilStreaming(*standby);
    EXPECT_EQ(PgvaultJson(with({"status"}))[1]["fenced"], false);
    // The killed backup does not stay "running" forever: it is failed, with the reason, and can be deleted.
    json killed = PgvaultJson(with({"get", "backup", "killed", "-o", "json"}));
    EXPECT_EQ(killed["status"]["phase"], "failed");
    EXPECT_NE(killed["status"]["error"].get<std::string>().find("ended before the backup did"), std::string::npos);
    EXPECT_EQ(Pgvault(with({"delete", "backup", "killed"})).exit_code, 0);
  }
  // SIGTERM during a cold backup: the backup fails, the standby is back.
  {
    auto p = start_paused("terminated", tmp / "terminated.log");
    p->Signal(SIGTERM);
    p->Signal(SIGCONT);
    EXPECT_EQ(p->Wait(), 128 + SIGTERM) << ReadText(tmp / "terminated.log");
    EXPECT_NE(ReadText(tmp / "terminated.log").find("interrupted by SIGTERM"), std::string::npos);
    WaitUntilStreaming(*standby);
    json status = PgvaultJson(with({"status"}));
    EXPECT_EQ(status[1]["fenced"], false);
    json b = PgvaultJson(with({"get", "backup", "terminated", "-o", "json"}));
    EXPECT_EQ(b["status"]["phase"], "failed");
    EXPECT_FALSE(std::filesystem::exists(vol->mount_point() + "/.snapshots/terminated"));
  }
  // By hand.
  {
    RunResult on = Pgvault(with({"fence", "on", "k-2"}));
    ASSERT_EQ(on.exit_code, 0) << on.err;
    EXPECT_NE(RunAsPostgres({PgBin("pg_ctl"), "-D", standby->datadir(), "status"}).exit_code, 0);
    json status = PgvaultJson(with({"status"}));
    EXPECT_EQ(status[1]["fenced"], true);
    EXPECT_EQ(status[1]["fence"]["ownerAlive"], true);
    RunResult describe = Pgvault(with({"describe", "instance", "k-2"}));
    EXPECT_NE(describe.out.find("FencePod"), std::string::npos) << describe.out;
    // A cold backup does not pick a fenced standby; the primary is not taken either.
    RunResult cold = Pgvault(with({"backup", "--method", "volumeSnapshot", "--name", "while-fenced"}));
    EXPECT_NE(cold.exit_code, 0);
    ASSERT_EQ(Pgvault(with({"fence", "off", "k-2"})).exit_code, 0);
    WaitUntilStreaming(*standby);
  }
}

}  // namespace pgvault::test
