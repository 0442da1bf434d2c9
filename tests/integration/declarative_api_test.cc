// The declarative API on real PostgreSQL 15 servers: `apply -f` of the
// seed's CloudNativePG manifests, `pgvault controller` running on-demand and
// scheduled backups (6- and 5-field cron, suspend, immediate, no overlap),
// `apply --wait` without a controller, a controller killed with SIGKILL in
// the middle of a cold backup, and invalid manifests that apply nothing.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "core/timestamp.h"
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
using namespace std::chrono_literals;

// The seed's on-demand backup, exactly as the notes apply it to Kubernetes.
const char* const kSeedBackup = R"(apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata:
  name: echo-postgresql-on-demand-backup-01
spec:
  method: volumeSnapshot
  cluster:
    name: echo-postgresql
)";

struct Instance {
  std::string name;
  PgCluster* pg;
  std::string wal_dir = {};
};

std::string WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// A Cluster (pgvault.io/v1) named echo-postgresql with `backup` as its
// spec.backup (indented by 4), and a btrfs VolumeSnapshotClass.
std::string ClusterManifest(const std::vector<Instance>& instances, const std::string& backup,
                            const std::string& repository = "") {
  std::string y = "apiVersion: pgvault.io/v1\nkind: Cluster\nmetadata: {name: echo-postgresql}\nspec:\n";
  if (!repository.empty()) y += "  repository: " + repository + "\n";
  y += "  instances:\n";
  for (const auto& i : instances) {
    y += "    - name: " + i.name + "\n      conninfo: \"host=127.0.0.1 port=" + std::to_string(i.pg->port()) +
         " user=postgres\"\n      pgdata: " + i.pg->datadir() + "\n      logFile: " + i.pg->LogPath() + "\n";
    if (!i.wal_dir.empty()) y += "      walDir: " + i.wal_dir + "\n";
  }
  y += "  backup:\n" + backup;
  y += "---\napiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\nmetadata:\n  name: btrfs-local\n"
       "  annotations: {snapshot.storage.kubernetes.io/is-default-class: \"true\"}\ndriver: btrfs\n"
       "deletionPolicy: Delete\n";
  return y;
}

class StateArgs {
 public:
  explicit StateArgs(std::string state_dir) : state_(std::move(state_dir)) {}
  std::vector<std::string> operator()(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--state-dir", state_});
    return args;
  }
  const std::string& dir() const { return state_; }

 private:
  std::string state_;
};

json GetJson(const StateArgs& with, const std::vector<std::string>& what) {
  std::vector<std::string> args = {"get"};
  args.insert(args.end(), what.begin(), what.end());
  args.insert(args.end(), {"-o", "json"});
  RunResult r = Pgvault(with(args));
  if (r.exit_code != 0) ADD_FAILURE() << "get failed: " << r.err;
  return json::parse(r.out.empty() ? "{}" : r.out);
}

std::vector<json> Backups(const StateArgs& with) {
  json list = GetJson(with, {"backup"});
  return list.value("items", std::vector<json>{});
}

std::string Phase(const StateArgs& with, const std::string& name) {
  RunResult r = Pgvault(with({"get", "backup", name, "-o", "json"}));
  if (r.exit_code != 0) return "";
  return json::parse(r.out)["status"].value("phase", "");
}

// Polls until `name` reaches a terminal phase; returns it.
std::string WaitForBackupEnd(const StateArgs& with, const std::string& name, std::chrono::seconds limit,
                             const std::string& controller_log) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string phase;
  while (std::chrono::steady_clock::now() < deadline) {
    phase = Phase(with, name);
    if (phase == "completed" || phase == "failed") return phase;
    std::this_thread::sleep_for(200ms);
  }
  std::ifstream log(controller_log);
  ADD_FAILURE() << "backup " << name << " still " << phase << " after " << limit.count() << "s; controller log:\n"
                << std::string(std::istreambuf_iterator<char>(log), {});
  return phase;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::unique_ptr<BackgroundProcess> StartController(const StateArgs& with, const std::string& log,
                                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {PGVAULT_BINARY, "--log-level", "info", "--state-dir", with.dir(), "controller",
                                   "--tick", "0.2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<BackgroundProcess>(argv, log);
}

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A primary and a streaming standby on btrfs volumes of their own, applied
// (Apply) as cluster echo-postgresql with cold snapshot backups (online:
// false): the standby is what they fence. Members are destroyed servers
// first, then volumes, then the directory.
struct ColdStandbyCluster {
  TempDir tmp;
  std::unique_ptr<LoopVolume> pvol = LoopVolume::Create("btrfs", tmp / "p.img", tmp / "pvol");
  std::unique_ptr<LoopVolume> vol = LoopVolume::Create("btrfs", tmp / "s.img", tmp / "svol");
  std::unique_ptr<PgCluster> primary = PgCluster::Create(pvol->CreateVolume("primary"));
  std::unique_ptr<PgCluster> standby;
  StateArgs with{tmp / "state"};

  ColdStandbyCluster() {
    primary->Start();
    primary->PgbenchInit(2);
    standby = PgCluster::CreateStandby(*primary, vol->CreateVolume("standby"));
    primary->WaitForReplay(*standby);
  }
  int Apply() {
    return Pgvault(with({"apply", "-f",
                         WriteFile(tmp / "cluster.yaml",
                                   ClusterManifest({{"pg-1", primary.get()}, {"pg-2", standby.get()}},
                                                   "    volumeSnapshot: {className: btrfs-local, online: false}\n"))}))
        .exit_code;
  }
};

}  // namespace

// The seed's flow on hosts: a Cluster with prefer-standby, a btrfs class and
// online: false, then the seed's on-demand Backup applied unchanged; the
// controller takes it: PHASE reaches completed with METHOD volumeSnapshot,
// the data and -wal snapshots are READYTOUSE, and describe shows the fence.
TEST(DeclarativeApi, SeedFlowOnHostsWithTheController) {
  SKIP_UNLESS_SNAPSHOTS();
  TempDir tmp;
  auto pvol = LoopVolume::Create("btrfs", tmp / "p.img", tmp / "pvol");
  auto vol = LoopVolume::Create("btrfs", tmp / "s.img", tmp / "svol");
  auto wvol = LoopVolume::Create("btrfs", tmp / "w.img", tmp / "wvol");
  auto primary = PgCluster::Create(pvol->CreateVolume("primary"));
  primary->Start();
  primary->PgbenchInit(4);
  primary->Exec("CREATE TABLE marker (id int PRIMARY KEY)");
  primary->Exec("INSERT INTO marker VALUES (1)");
  std::string swal = wvol->CreateVolume("pg_wal");
  auto standby = PgCluster::CreateStandby(*primary, vol->CreateVolume("standby"), {}, {"--waldir=" + swal});
  primary->WaitForReplay(*standby);
  std::string accounts = TableChecksum(*primary, "pgbench_accounts");
  StateArgs with(tmp / "state");

  std::string cluster = WriteFile(
      tmp / "cluster.yaml",
      ClusterManifest({{"echo-postgresql-1", primary.get()}, {"echo-postgresql-2", standby.get(), swal}},
                      "    target: prefer-standby\n    volumeSnapshot:\n      className: btrfs-local\n"
                      "      online: false\n"));
  RunResult applied = Pgvault(with({"apply", "-f", cluster}));
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_NE(applied.out.find("cluster.pgvault.io/echo-postgresql created"), std::string::npos) << applied.out;
  EXPECT_NE(applied.out.find("volumesnapshotclass.snapshot.storage.k8s.io/btrfs-local created"), std::string::npos);
  // Applying the same file again changes nothing.
  EXPECT_NE(Pgvault(with({"apply", "-f", cluster})).out.find("echo-postgresql unchanged"), std::string::npos);
  RunResult clusters = Pgvault(with({"get", "cluster"}));
  EXPECT_NE(clusters.out.find("echo-postgresql"), std::string::npos) << clusters.out;

  std::string log = tmp / "controller.log";
  auto controller = StartController(with, log);
  RunResult seed = Pgvault(with({"apply", "-f", WriteFile(tmp / "on-demand-backup.yaml", kSeedBackup)}));
  ASSERT_EQ(seed.exit_code, 0) << seed.err;
  EXPECT_EQ(seed.out, "backup.postgresql.cnpg.io/echo-postgresql-on-demand-backup-01 created\n");
  // The phases as the backup goes through them.
  std::set<std::string> phases_seen;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  std::string phase;
  while (std::chrono::steady_clock::now() < deadline && phase != "completed" && phase != "failed") {
    phase = Phase(with, "echo-postgresql-on-demand-backup-01");
    phases_seen.insert(phase);
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(phase, "completed") << ReadText(log);
  RunResult table = Pgvault(with({"get", "backup"}));
  EXPECT_NE(table.out.find("NAME"), std::string::npos);
  EXPECT_NE(table.out.find("AGE"), std::string::npos);
  EXPECT_NE(table.out.find("CLUSTER"), std::string::npos);
  EXPECT_NE(table.out.find("METHOD"), std::string::npos);
  EXPECT_NE(table.out.find("PHASE"), std::string::npos);
  EXPECT_NE(table.out.find("ERROR"), std::string::npos);
  EXPECT_NE(table.out.find("echo-postgresql   volumeSnapshot   completed"), std::string::npos) << table.out;

  json b = GetJson(with, {"backup", "echo-postgresql-on-demand-backup-01"});
  const json& st = b["status"];
  EXPECT_EQ(st["instanceID"]["podName"], "echo-postgresql-2") << st.dump(2);
  EXPECT_EQ(st["online"], false);
  EXPECT_EQ(st["method"], "volumeSnapshot");
  EXPECT_EQ(b["spec"], json::parse(R"({"cluster":{"name":"echo-postgresql"},"method":"volumeSnapshot"})"));
  for (const char* key : {"startedAt", "stoppedAt", "beginWal", "endWal", "beginLSN", "endLSN", "backupId"})
    EXPECT_FALSE(st.value(key, "").empty()) << key << " missing: " << st.dump(2);
  EXPECT_EQ(st["owner"]["pid"].get<int64_t>() == controller->pid(), false) << "ran in the controller's own process";

  RunResult snaps = Pgvault(with({"get", "volumesnapshot"}));
  EXPECT_NE(snaps.out.find("echo-postgresql-on-demand-backup-01       true"), std::string::npos) << snaps.out;
  EXPECT_NE(snaps.out.find("echo-postgresql-on-demand-backup-01-wal   true"), std::string::npos) << snaps.out;
  RunResult described = Pgvault(with({"describe", "backup", "echo-postgresql-on-demand-backup-01"}));
  EXPECT_NE(described.out.find("FencePod"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("Fencing instance echo-postgresql-2"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("Unfencing instance echo-postgresql-2"), std::string::npos) << described.out;

  // The standby is back; the cluster status tells when the last backup was.
  WaitUntilStreaming(*standby);
  json c = GetJson(with, {"cluster", "echo-postgresql"});
  EXPECT_EQ(c["status"]["lastSuccessfulBackup"], st["stoppedAt"]) << c.dump(2);
  EXPECT_EQ(c["status"]["firstRecoverabilityPoint"], st["stoppedAt"]);

  // The snapshot restores to the data as it was.
  json r = PgvaultJson(with({"restore", "--from-snapshot", "echo-postgresql-on-demand-backup-01", "--target",
                             vol->mount_point() + "/restored"}));
  auto restored = PgCluster::Adopt(vol->mount_point() + "/restored");
  restored->Start();
  WaitUntilPromoted(*restored);
  EXPECT_EQ(TableChecksum(*restored, "pgbench_accounts"), accounts);
  EXPECT_EQ(restored->Value("SELECT string_agg(id::text, ',') FROM marker"), "1");
  restored->Stop();

  // A Backup cannot be changed once made; re-applying it unchanged is fine.
  EXPECT_NE(Pgvault(with({"apply", "-f", tmp / "on-demand-backup.yaml"})).out.find("unchanged"), std::string::npos);
  std::string changed = kSeedBackup;
  changed.replace(changed.find("volumeSnapshot"), 14, "barmanObjectStore");
  RunResult refused = Pgvault(with({"apply", "-f", WriteFile(tmp / "changed.yaml", changed)}));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("spec"), std::string::npos) << refused.err;

  controller->Signal(SIGTERM);
  EXPECT_EQ(controller->Wait(), 0) << ReadText(log);
}

// A controller killed with SIGKILL in the middle of a cold backup, while the
// standby is fenced. (1) The controller alone dies: its backup process gets
// SIGTERM (parent-death signal), unfences the standby and records the
// failure. (2) The controller and its backup process both die: the fence
// and the backup are left; a controller started again fails the backup with
// the reason, brings the standby back, removes what the backup left, and the
// schedule goes on.
TEST(DeclarativeApi, ControllerKilledDuringAColdBackup) {
  SKIP_UNLESS_SNAPSHOTS();
  ColdStandbyCluster c;
  ASSERT_EQ(c.Apply(), 0);
  // Named references, not a structured binding: lambdas below use them, and
  // clang before 16 cannot capture structured bindings (scripts/sanitize).
  [[maybe_unused]] auto& tmp = c.tmp;
  [[maybe_unused]] auto& vol = c.vol;
  [[maybe_unused]] auto& primary = c.primary;
  [[maybe_unused]] auto& standby = c.standby;
  [[maybe_unused]] auto& with = c.with;
  ASSERT_EQ(Pgvault(with({"apply", "-f", WriteFile(tmp / "s.yaml", R"(apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: cold}
spec:
  schedule: "*/10 * * * * *"
  immediate: true
  method: volumeSnapshot
  cluster: {name: echo-postgresql}
)")}))
                .exit_code,
            0);
  auto backup_in_phase = [&](const std::string& want, const std::string& log) {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& b : Backups(with))
        if (b["status"].value("phase", "") == want) return b;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "no backup reached " << want << "\n" << ReadText(log);
    return json();
  };
  auto fenced = [&] {
    json status = PgvaultJson(with({"status"}));
    return status[1].value("fenced", false);
  };

  // (1) The controller alone is killed while its backup holds the fence.
  ::setenv("PGVAULT_TEST_PAUSE_AT", "snapshot-fenced", 1);
  std::string log1 = tmp / "controller1.log";
  auto c1 = StartController(with, log1);
  ::unsetenv("PGVAULT_TEST_PAUSE_AT");
  json b1 = backup_in_phase("running", log1);
  ASSERT_FALSE(b1.is_null());
  std::string b1_name = b1["metadata"]["name"];
  pid_t child = static_cast<pid_t>(b1["status"]["owner"]["pid"].get<int64_t>());
  ASSERT_TRUE(fenced());
  c1->Signal(SIGKILL);
  c1->Wait();
  ::kill(child, SIGCONT);  // it was paused at the fence; now it sees the SIGTERM its parent's death sent
  EXPECT_EQ(WaitForBackupEnd(with, b1_name, 120s, log1), "failed");
  json failed1 = GetJson(with, {"backup", b1_name});
  EXPECT_NE(failed1["status"].value("error", "").find("SIGTERM"), std::string::npos) << failed1.dump(2);
  WaitUntilStreaming(*standby);
  for (int i = 0; i < 100 && fenced(); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(fenced()) << ReadText(log1) << Pgvault(with({"describe", "instance", "pg-2"})).out;

  // (2) The controller and its backup process are killed together.
  ::setenv("PGVAULT_TEST_PAUSE_AT", "snapshot-fenced", 1);
  std::string log2 = tmp / "controller2.log";
  auto c2 = StartController(with, log2);
  ::unsetenv("PGVAULT_TEST_PAUSE_AT");
  json b2 = backup_in_phase("running", log2);
  ASSERT_FALSE(b2.is_null());
  std::string b2_name = b2["metadata"]["name"];
  ASSERT_NE(b2_name, b1_name);
  ASSERT_TRUE(fenced());
  ::kill(-c2->pid(), SIGKILL);  // the whole process group: controller and backup
  c2->Wait();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(fenced()) << "nothing should have unfenced the standby yet";

  // Started again: the backup fails with the reason, the standby comes back,
  // and the schedule goes on with a backup that completes.
  std::string log3 = tmp / "controller3.log";
  auto c3 = StartController(with, log3);
  EXPECT_EQ(WaitForBackupEnd(with, b2_name, 60s, log3), "failed");
  json failed2 = GetJson(with, {"backup", b2_name});
  EXPECT_NE(failed2["status"].value("error", "").find("ended before the backup did"), std::string::npos)
      << failed2.dump(2);
  WaitUntilStreaming(*standby);
  for (int i = 0; i < 100 && fenced(); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(fenced());
  RunResult instance = Pgvault(with({"describe", "instance", "pg-2"}));
  EXPECT_NE(instance.out.find("OrphanedFence"), std::string::npos) << instance.out;
  // What the killed backup had cut is gone (it was not a backup).
  EXPECT_FALSE(std::filesystem::exists(vol->mount_point() + "/.snapshots/" + b2_name)) << ReadText(log3);
  std::string next;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (next.empty() && std::chrono::steady_clock::now() < deadline) {
    for (const auto& b : Backups(with)) {
      std::string name = b["metadata"]["name"];
      if (name != b1_name && name != b2_name && b["status"].value("phase", "") == "completed") next = name;
    }
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_FALSE(next.empty()) << "the schedule did not go on\n" << ReadText(log3);
  c3->Signal(SIGTERM);
  EXPECT_EQ(c3->Wait(), 0) << ReadText(log3);
  WaitUntilStreaming(*standby);
}

// Retention with a recovery window of one day, judged at a clock set (for the
// test) one day after a point W between the second and the third round of
// backups: in the repository and among the snapshots, the first backups go
// (the second ones are what recovery to W starts from), the WAL before the
// oldest kept backup goes, and a point-in-time restore to W — the oldest
// point inside the window — gives exactly the data of that moment.
TEST(DeclarativeApi, RetentionWindowRemovesBackupsSnapshotsAndWalAndKeepsTheWindowRecoverable) {
  SKIP_UNLESS_SNAPSHOTS();
  TempDir tmp;
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  RunOk({"chown", "-R", "postgres", repo});
  auto vol = LoopVolume::Create("btrfs", tmp / "v.img", tmp / "vol");
  auto primary = PgCluster::Create(vol->CreateVolume("primary"), ArchivingConf(repo));
  primary->Start();
  primary->PgbenchInit(2);
  primary->Exec("CREATE TABLE marker (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())");
  // Data only the first round's backups hold: its space comes back once they go.
  primary->Exec("CREATE TABLE first_round_only AS SELECT g, md5(g::text) || repeat(md5(random()::text), 6) AS pad "
                "FROM generate_series(1, 60000) g");
  StateArgs with(tmp / "state");
  ASSERT_EQ(Pgvault(with({"apply", "-f",
                          WriteFile(tmp / "cluster.yaml",
                                    ClusterManifest({{"pg-1", primary.get()}},
                                                    "    target: primary\n    retentionPolicy: 1d\n"
                                                    "    volumeSnapshot:\n      className: btrfs-local\n"
                                                    "      onlineConfiguration: {immediateCheckpoint: true}\n",
                                                    repo))}))
                .exit_code,
            0);
  int n = 0;
  // One round: a repository backup and a snapshot backup, applied and run with --wait.
  auto round = [&](int r) {
    std::string y;
    for (const char* method : {"barmanObjectStore", "volumeSnapshot"})
      y += fmt::format("---\napiVersion: postgresql.cnpg.io/v1\nkind: Backup\nmetadata: {{name: {}-{}}}\n"
                       "spec: {{cluster: {{name: echo-postgresql}}, method: {}}}\n",
                       method == std::string("volumeSnapshot") ? "snap" : "repo", r, method);
    RunResult done = Pgvault(with({"apply", "--wait", "-f", WriteFile(tmp / ("round" + std::to_string(++n) + ".yaml"), y)}));
    ASSERT_EQ(done.exit_code, 0) << done.err;
  };
  primary->Exec("INSERT INTO marker(id) VALUES (1)");
  round(1);
  primary->Exec("DROP TABLE first_round_only");
  primary->Exec("INSERT INTO marker(id) VALUES (2)");
  primary->Exec("SELECT pg_switch_wal()");
  round(2);
  json snap2 = GetJson(with, {"backup", "snap-2"});
  std::this_thread::sleep_for(1500ms);
  // W: after the second round, before marker 3.
  SystemTime w = ParseTimestamp(snap2["status"]["stoppedAt"].get<std::string>()) + 1s;
  std::this_thread::sleep_for(1500ms);
  primary->Exec("INSERT INTO marker(id) VALUES (3)");
  primary->Exec("SELECT pg_switch_wal()");
  round(3);
  primary->Exec("INSERT INTO marker(id) VALUES (4)");
  WaitForArchived(*primary);
  std::string repo1 = GetJson(with, {"backup", "repo-1"})["status"]["backupId"];
  json repo2 = GetJson(with, {"backup", "repo-2"});
  json wal_before = PgvaultJson({"wal", "list", "--repo", repo});
  std::string first_wal_before = wal_before[0]["ranges"][0]["first"];
  ASSERT_LT(first_wal_before, repo2["status"]["beginWal"].get<std::string>());

  // Judged one day after W (a test-only clock).
  std::string now = FormatTimestamp(w + 24h);
  ::setenv("PGVAULT_TEST_NOW", now.c_str(), 1);
  json dry = PgvaultJson(with({"expire", "--dry-run"}));
  RunResult expired = Pgvault(with({"expire", "--json"}));
  ::unsetenv("PGVAULT_TEST_NOW");
  ASSERT_EQ(expired.exit_code, 0) << expired.err;
  json report = json::parse(expired.out);
  EXPECT_EQ(dry["repository"]["removed"], report["repository"]["removed"]);
  ASSERT_EQ(report["repository"]["removed"].size(), 1u) << report.dump(2);
  EXPECT_EQ(report["repository"]["removed"][0]["id"], repo1);
  ASSERT_EQ(report["snapshots"]["removed"].size(), 1u) << report.dump(2);
  EXPECT_EQ(report["snapshots"]["removed"][0]["id"], "snap-1");
  EXPECT_GT(report["repository"]["gc"]["bytesReclaimed"].get<uint64_t>(), 0u) << report.dump(2);
  EXPECT_GT(report["repository"]["wal"]["segmentsRemoved"].get<uint64_t>(), 0u) << report.dump(2);

  // What went is gone, what stays is whole.
  std::vector<std::string> names;
  for (const auto& b : Backups(with)) names.push_back(b["metadata"]["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"repo-2", "snap-2", "repo-3", "snap-3"}));
  RunResult list = Pgvault({"list", "--repo", repo});
  EXPECT_EQ(list.out.find(repo1), std::string::npos) << list.out;
  EXPECT_FALSE(std::filesystem::exists(vol->mount_point() + "/.snapshots/snap-1"));
  EXPECT_TRUE(std::filesystem::exists(vol->mount_point() + "/.snapshots/snap-2"));
  json wal_after = PgvaultJson({"wal", "list", "--repo", repo});
  EXPECT_EQ(wal_after[0]["ranges"][0]["first"], repo2["status"]["beginWal"]) << wal_after.dump();
  EXPECT_TRUE(wal_after[0]["gaps"].empty()) << wal_after.dump();
  RunResult verify = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // The oldest point inside the window: W, from the repository and from the snapshot.
  std::string target = FormatTimestamp(w);
  RunResult restored = Pgvault({"restore", "--repo", repo, "--target", tmp / "pitr", "--target-time", target});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  {
    auto pitr = PgCluster::Adopt(tmp / "pitr");
    pitr->Start();
    WaitUntilPromoted(*pitr);
    EXPECT_EQ(pitr->Value("SELECT string_agg(id::text, ',' ORDER BY id) FROM marker"), "1,2");
    ExpectAmcheckAndChecksumsClean(*pitr);  // stops it (pg_checksums reads a stopped cluster)
  }
  RunResult from_snapshot = Pgvault(with({"restore", "--from-snapshot", "snap-2", "--target",
                                          vol->mount_point() + "/snap-pitr", "--target-time", target}));
  ASSERT_EQ(from_snapshot.exit_code, 0) << from_snapshot.err;
  {
    auto pitr = PgCluster::Adopt(vol->mount_point() + "/snap-pitr");
    pitr->Start();
    WaitUntilPromoted(*pitr);
    EXPECT_EQ(pitr->Value("SELECT string_agg(id::text, ',' ORDER BY id) FROM marker"), "1,2");
    pitr->Stop();
  }
  // Before the window, nothing is left to start from.
  RunResult too_early = Pgvault({"restore", "--repo", repo, "--target", tmp / "early", "--target-time",
                                 GetJson(with, {"backup", "repo-2"})["status"]["startedAt"].get<std::string>()});
  EXPECT_NE(too_early.exit_code, 0);
  // Judged now (the real clock), everything is inside the window: nothing more goes.
  json again = PgvaultJson(with({"expire"}));
  EXPECT_TRUE(again["repository"]["removed"].empty()) << again.dump(2);
  EXPECT_TRUE(again["snapshots"]["removed"].empty());

  // The controller applies retention by itself: a month later only the
  // newest backup of each place is left (never the last one).
  std::string later = FormatTimestamp(std::chrono::system_clock::now() + 24h * 30);
  ::setenv("PGVAULT_TEST_NOW", later.c_str(), 1);
  std::string log = tmp / "controller.log";
  auto controller = StartController(with, log);
  ::unsetenv("PGVAULT_TEST_NOW");
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (Backups(with).size() > 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(200ms);
  names.clear();
  for (const auto& b : Backups(with)) names.push_back(b["metadata"]["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"repo-3", "snap-3"})) << ReadText(log);
  controller->Signal(SIGTERM);
  EXPECT_EQ(controller->Wait(), 0) << ReadText(log);
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
}

// No phase hangs: a Backup nobody runs fails at its pending deadline; a
// backup stuck in running (here: paused while its standby is fenced) is
// stopped at its running deadline by the controller, unfences, and fails
// with the reason.
TEST(DeclarativeApi, DeadlinesEndStuckBackups) {
  SKIP_UNLESS_SNAPSHOTS();
  ColdStandbyCluster c;
  ASSERT_EQ(c.Apply(), 0);
  // Named references, not a structured binding: lambdas below use them, and
  // clang before 16 cannot capture structured bindings (scripts/sanitize).
  [[maybe_unused]] auto& tmp = c.tmp;
  [[maybe_unused]] auto& vol = c.vol;
  [[maybe_unused]] auto& primary = c.primary;
  [[maybe_unused]] auto& standby = c.standby;
  [[maybe_unused]] auto& with = c.with;
  auto backup = [&](const std::string& name, const std::string& phase, const std::string& deadline) {
    return fmt::format("apiVersion: postgresql.cnpg.io/v1\nkind: Backup\nmetadata:\n  name: {}\n  annotations: "
                       "{{pgvault.io/deadline.{}: \"{}\"}}\nspec: {{method: volumeSnapshot, cluster: {{name: "
                       "echo-postgresql}}}}\n",
                       name, phase, deadline);
  };
  // Pending, with no controller: failed once its deadline has passed.
  ASSERT_EQ(Pgvault(with({"apply", "-f", WriteFile(tmp / "p.yaml", backup("nobody-runs-it", "pending", "2s"))}))
                .exit_code,
            0);
  EXPECT_EQ(Phase(with, "nobody-runs-it"), "pending");
  std::this_thread::sleep_for(3s);
  json pending = GetJson(with, {"backup", "nobody-runs-it"});
  EXPECT_EQ(pending["status"]["phase"], "failed");
  EXPECT_NE(pending["status"].value("error", "").find("pending for more than 2"), std::string::npos)
      << pending.dump(2);

  // Running past its deadline: the controller stops it; it unfences and fails.
  ::setenv("PGVAULT_TEST_PAUSE_AT", "snapshot-fenced", 1);
  std::string log = tmp / "controller.log";
  auto controller = StartController(with, log);
  ::unsetenv("PGVAULT_TEST_PAUSE_AT");
  ASSERT_EQ(Pgvault(with({"apply", "-f", WriteFile(tmp / "r.yaml", backup("stuck", "running", "2s"))})).exit_code, 0);
  json running;
  for (int i = 0; i < 300 && Phase(with, "stuck") != "running"; ++i) std::this_thread::sleep_for(100ms);
  running = GetJson(with, {"backup", "stuck"});
  ASSERT_EQ(running["status"]["phase"], "running") << ReadText(log);
  std::this_thread::sleep_for(4s);  // past the deadline: the controller has sent SIGTERM
  EXPECT_NE(ReadText(log).find("exceeded its deadline"), std::string::npos) << ReadText(log);
  // The paused process (a stand-in for one stuck in a system call) resumes and sees the signal.
  ::kill(static_cast<pid_t>(running["status"]["owner"]["pid"].get<int64_t>()), SIGCONT);
  EXPECT_EQ(WaitForBackupEnd(with, "stuck", 120s, log), "failed");
  // The controller adds why it stopped it once it has reaped the process.
  json stuck;
  for (int i = 0; i < 50; ++i) {
    stuck = GetJson(with, {"backup", "stuck"});
    if (stuck["status"].value("error", "").find("deadline") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(stuck["status"].value("error", "").find("phase running exceeded its deadline of 2"), std::string::npos)
      << stuck.dump(2);
  WaitUntilStreaming(*standby);
  EXPECT_FALSE(PgvaultJson(with({"status"}))[1].value("fenced", true));
  controller->Signal(SIGTERM);
  EXPECT_EQ(controller->Wait(), 0) << ReadText(log);
}

// apply --wait runs a repository backup in the foreground without any
// controller; a ScheduledBackup with a 6-field schedule every 10 seconds
// makes backups that never overlap; suspend stops them; immediate fires at
// once; a 5-field "0 7 * * *" is daily at 07:00, not hourly.
TEST(DeclarativeApi, ApplyWaitAndScheduledBackups) {
  TempDir tmp;
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  // The repository must be writable by the archiver (postgres).
  RunOk({"chown", "-R", "postgres", repo});
  auto primary = PgCluster::Create(tmp / "primary", ArchivingConf(repo));
  primary->Start();
  primary->PgbenchInit(2);
  StateArgs with(tmp / "state");
  ASSERT_EQ(Pgvault(with({"apply", "-f",
                          WriteFile(tmp / "cluster.yaml",
                                    ClusterManifest({{"pg-1", primary.get()}}, "    target: primary\n", repo))}))
                .exit_code,
            0);

  // No controller: --wait runs it here.
  RunResult waited = Pgvault(with({"apply", "--wait", "-f", WriteFile(tmp / "b.yaml", R"(apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: first}
spec:
  cluster: {name: echo-postgresql}
)")}));
  ASSERT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_NE(waited.err.find("backup first: completed"), std::string::npos) << waited.err;
  json first = GetJson(with, {"backup", "first"});
  EXPECT_EQ(first["status"]["phase"], "completed");
  EXPECT_EQ(first["spec"]["method"], "barmanObjectStore");  // CloudNativePG's default
  std::string id = first["status"]["backupId"];
  // It is in the repository, under that id.
  RunResult list = Pgvault({"list", "--repo", repo});
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;

  // Every 10 seconds, seconds first.
  std::string log = tmp / "controller.log";
  int port = FreeLoopbackPort();
  std::string metrics_addr = "127.0.0.1:" + std::to_string(port);
  auto controller = StartController(with, log, {"--metrics-addr", metrics_addr});
  std::string every10 = R"(apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: every10}
spec:
  schedule: "*/10 * * * * *"
  cluster: {name: echo-postgresql}
)";
  ASSERT_EQ(Pgvault(with({"apply", "-f", WriteFile(tmp / "s.yaml", every10)})).exit_code, 0);
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(35s);
  auto scheduled = [&] {
    std::vector<json> out;
    for (const auto& b : Backups(with))
      if (b["metadata"].value("labels", json::object()).value("cnpg.io/scheduled-backup", "") == "every10")
        out.push_back(b);
    return out;
  };
  std::vector<json> made = scheduled();
  EXPECT_GE(made.size(), 3u) << ReadText(log);
  EXPECT_LE(made.size(), 4u) << ReadText(log);
  // Named after their nominal time, on a multiple of 10 seconds; never overlapping.
  std::string previous_stop;
  for (const auto& b : made) {
    std::string name = b["metadata"]["name"];
    EXPECT_EQ(name.size(), std::string("every10-20261125120010").size()) << name;
    EXPECT_EQ(name.back(), '0') << name;
    std::string phase = WaitForBackupEnd(with, name, 60s, log);
    EXPECT_EQ(phase, "completed") << name;
    json done = GetJson(with, {"backup", name});
    std::string start = done["status"].value("startedAt", ""), stop = done["status"].value("stoppedAt", "");
    EXPECT_GT(start, previous_stop) << name << " started before the previous backup ended";
    previous_stop = stop;
  }
  json sb = GetJson(with, {"scheduledbackup", "every10"});
  EXPECT_FALSE(sb["status"].value("lastScheduleTime", "").empty()) << sb.dump(2);
  EXPECT_FALSE(sb["status"].value("lastCheckTime", "").empty());
  EXPECT_FALSE(sb["status"].value("nextScheduleTime", "").empty());
  (void)t0;

  // suspend: true stops new backups.
  std::string suspended = every10;
  suspended += "  suspend: true\n";
  EXPECT_NE(Pgvault(with({"apply", "-f", WriteFile(tmp / "s.yaml", suspended)})).out.find("configured"),
            std::string::npos);
  // Let a backup that was already made end.
  for (const auto& b : scheduled()) WaitForBackupEnd(with, b["metadata"]["name"], 60s, log);
  size_t before = scheduled().size();
  std::this_thread::sleep_for(22s);
  EXPECT_EQ(scheduled().size(), before) << ReadText(log);

  // immediate: true fires at once (a schedule that would not run for a year).
  ASSERT_EQ(Pgvault(with({"apply", "-f", WriteFile(tmp / "now.yaml", R"(apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: yearly}
spec:
  schedule: "@yearly"
  immediate: true
  cluster: {name: echo-postgresql}
)")}))
                .exit_code,
            0);
  auto asked = std::chrono::steady_clock::now();
  std::string immediate_name;
  while (immediate_name.empty() && std::chrono::steady_clock::now() - asked < 10s) {
    for (const auto& b : Backups(with))
      if (b["metadata"].value("labels", json::object()).value("cnpg.io/scheduled-backup", "") == "yearly")
        immediate_name = b["metadata"]["name"];
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(immediate_name.empty()) << "immediate: true made no backup within 10s\n" << ReadText(log);
  json immediate = GetJson(with, {"backup", immediate_name});
  EXPECT_EQ(immediate["metadata"]["labels"]["cnpg.io/immediateBackup"], "true");
  EXPECT_EQ(WaitForBackupEnd(with, immediate_name, 60s, log), "completed");

  // A 5-field schedule is Unix cron: daily at 07:00 (UTC), not minute 7 of every hour.
  ASSERT_EQ(Pgvault(with({"apply", "-f", WriteFile(tmp / "daily.yaml", R"(apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: daily}
spec:
  schedule: "0 7 * * *"
  cluster: {name: echo-postgresql}
)")}))
                .exit_code,
            0);
  std::this_thread::sleep_for(1s);
  json daily = GetJson(with, {"scheduledbackup", "daily"});
  std::string next = daily["status"].value("nextScheduleTime", "");
  EXPECT_EQ(next.substr(10), "T07:00:00.000Z") << daily.dump(2);
  RunResult wide = Pgvault(with({"get", "scheduledbackup", "-o", "wide"}));
  EXPECT_NE(wide.out.find("0 7 * * *"), std::string::npos) << wide.out;
  EXPECT_NE(wide.out.find("T07:00:00"), std::string::npos) << wide.out;
  RunResult described = Pgvault(with({"describe", "scheduledbackup", "daily"}));
  EXPECT_NE(described.out.find("5-field"), std::string::npos) << described.out;

  // The metrics, scraped with curl, say what get says.
  primary->Exec("SELECT pg_switch_wal()");
  primary->Exec("CREATE TABLE after_switch AS SELECT 1");
  std::this_thread::sleep_for(2s);
  std::string scrape = RunOk({"curl", "-sf", "--noproxy", "*", "http://" + metrics_addr + "/metrics"});
  auto sample = [&](const std::string& series) -> double {
    size_t at = scrape.find("\n" + series + " ");
    if (at == std::string::npos) {
      ADD_FAILURE() << series << " not in the scrape:\n" << scrape;
      return -1;
    }
    return std::stod(scrape.substr(at + series.size() + 2));
  };
  size_t completed = 0;
  json newest;
  for (const auto& b : Backups(with))
    if (b["status"].value("phase", "") == "completed") {
      ++completed;
      if (newest.is_null() || b["status"]["stoppedAt"] > newest["status"]["stoppedAt"]) newest = b;
    }
  const std::string c = "cluster=\"echo-postgresql\"";
  EXPECT_EQ(sample("pgvault_backups{" + c + ",phase=\"completed\"}"), static_cast<double>(completed));
  EXPECT_EQ(sample("pgvault_backups{" + c + ",phase=\"failed\"}"), 0);
  double last = sample("pgvault_backup_last_success_timestamp_seconds{" + c + ",method=\"barmanObjectStore\"}");
  double stopped =
      std::chrono::duration<double>(ParseTimestamp(newest["status"]["stoppedAt"].get<std::string>()).time_since_epoch())
          .count();
  EXPECT_NEAR(last, stopped, 0.01);
  EXPECT_EQ(sample("pgvault_backup_last_size_bytes{" + c + ",method=\"barmanObjectStore\"}"),
            newest["status"]["size"].get<double>());
  EXPECT_GT(sample("pgvault_backup_last_duration_seconds{" + c + ",method=\"barmanObjectStore\"}"), 0);
  EXPECT_EQ(sample("pgvault_backup_last_failure_timestamp_seconds{" + c + "}"), 0);
  EXPECT_GT(sample("pgvault_wal_archived_total{" + c + "}"), 0);
  EXPECT_EQ(sample("pgvault_wal_archive_failed_total{" + c + "}"), 0);
  EXPECT_EQ(sample("pgvault_wal_archiving_ok{" + c + "}"), 1);
  EXPECT_GE(sample("pgvault_wal_archive_lag_bytes{" + c + "}"), 0);
  EXPECT_GT(sample("pgvault_first_recoverability_point_timestamp_seconds{" + c + "}"), 0);
  EXPECT_GE(sample("pgvault_controller_backups_started_total"), 4);
  EXPECT_EQ(sample("pgvault_scheduled_backup_next_timestamp_seconds{scheduledbackup=\"every10\"," + c + "}"), 0)
      << "suspended";

  controller->Signal(SIGTERM);
  EXPECT_EQ(controller->Wait(), 0) << ReadText(log);
  // Every backup the schedule made is in the repository and restores (the last one, checked).
  std::string last_id = GetJson(with, {"backup", immediate_name})["status"]["backupId"];
  RunResult restored = Pgvault({"restore", "--repo", repo, "--backup", last_id, "--target", tmp / "r"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
}

// Invalid manifests: every error names the field path and why; nothing of a
// file with one bad document is applied.
TEST(DeclarativeApi, InvalidManifestsNameTheFieldAndApplyNothing) {
  TempDir tmp;
  StateArgs with(tmp / "state");
  std::string cluster = R"(apiVersion: pgvault.io/v1
kind: Cluster
metadata: {name: c1}
spec:
  repository: /tmp/nowhere
  instances:
    - {name: pg-1, conninfo: "host=127.0.0.1", pgdata: /var/lib/postgresql/15/main}
  backup:
    retentionPolicy: 30d
)";
  struct Case {
    std::string yaml, expected;
  };
  std::vector<Case> cases = {
      {cluster + "    retentionPolicy2: 7d\n", "spec.backup.retentionPolicy2: unknown field"},
      {R"(apiVersion: pgvault.io/v1
kind: Cluster
metadata: {name: c1}
spec:
  instances:
    - {name: pg-1, conninfo: "host=127.0.0.1", pgdata: /var/lib/postgresql/15/main}
  backup: {retentionPolicy: 30x}
)", "spec.backup.retentionPolicy: '30x' is not a recovery window"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: s1}
spec:
  schedule: "0 7 * * * * *"
  cluster: {name: c1}
)", "spec.schedule"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: s1}
spec:
  schedule: "0 25 * * *"
  cluster: {name: c1}
)", "hour"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: s1}
spec:
  schedule: "@daily"
  timeZone: Mars/Olympus_Mons
  cluster: {name: c1}
)", "spec.timeZone"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: b1}
spec:
  method: volumeSnapshot
  cluster: {name: c1}
)", "spec.method: cluster c1 has no spec.backup.volumeSnapshot"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: b1}
spec:
  cluster: {name: c2}
)", "spec.cluster.name: no cluster 'c2'"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: b1}
spec:
  cluster: {name: c1}
  online: false
)", "spec.online: is only valid with method: volumeSnapshot"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata:
  name: b1
  annotations: {pgvault.io/deadline.running: soon}
spec:
  cluster: {name: c1}
)", "metadata.annotations.pgvault.io/deadline.running: 'soon' is not a duration"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: b1}
spec:
  cluster: {name: c1}
  method: plugin
)", "spec.method: plugin (CNPG-I) is not supported"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: Pooler
metadata: {name: p1}
)", "kind: 'Pooler' cannot be applied"},
      {cluster + "---\n" + R"(apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: b1}
spec:
  cluster: {name: c1}
  method: volumeSnapshot
  target: standby
)", "spec.target: 'standby' is not one of primary, prefer-standby"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string file = WriteFile(tmp / ("bad" + std::to_string(i) + ".yaml"), cases[i].yaml);
    RunResult r = Pgvault(with({"apply", "-f", file}));
    EXPECT_EQ(r.exit_code, 1) << cases[i].yaml << r.out << r.err;
    EXPECT_NE(r.err.find(cases[i].expected), std::string::npos) << "case " << i << ": " << r.err;
    EXPECT_NE(r.err.find(file), std::string::npos) << "the error does not name the file: " << r.err;
    EXPECT_EQ(r.out, "");
  }
  // Nothing of all that was applied, not even the valid Cluster beside the bad documents.
  EXPECT_EQ(Pgvault(with({"get", "backup"})).out, "No resources found.\n");
  EXPECT_EQ(Pgvault(with({"get", "scheduledbackup"})).out, "No resources found.\n");
  RunResult clusters = Pgvault(with({"get", "cluster"}));
  EXPECT_NE(clusters.exit_code, 0);
  EXPECT_NE(clusters.err.find("no cluster is defined"), std::string::npos) << clusters.err;
  // The valid file alone applies; --dry-run stores nothing.
  std::string good = WriteFile(tmp / "good.yaml", cluster);
  EXPECT_EQ(Pgvault(with({"apply", "--dry-run", "-f", good})).out, "cluster.pgvault.io/c1 created (dry run)\n");
  EXPECT_NE(Pgvault(with({"get", "cluster"})).exit_code, 0);
  EXPECT_EQ(Pgvault(with({"apply", "-f", good})).out, "cluster.pgvault.io/c1 created\n");
  json c = GetJson(with, {"cluster", "c1"});
  EXPECT_EQ(c["spec"]["backup"]["retentionPolicy"], "30d");
}

}  // namespace pgvault::test
