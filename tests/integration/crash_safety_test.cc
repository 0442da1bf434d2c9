// kill -9 of pgvault at every step of a backup's commit protocol: the
// repository stays valid, the partial backup is invisible, the server is left
// clean, and the next backup succeeds reusing what was already stored.
#include <fcntl.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/dataset.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;

namespace {

// Starts a backup that pauses at `point`, waits until it got there, kills it.
void KillBackupAt(PgCluster& pg, const std::string& repo, const std::string& point, const std::string& log) {
  setenv("PGVAULT_TEST_PAUSE_AT", point.c_str(), 1);
  BackgroundProcess backup({PGVAULT_BINARY, "backup", "--repo", repo, "--pgdata", pg.datadir(), "--pg", pg.Conninfo()},
                           log);
  unsetenv("PGVAULT_TEST_PAUSE_AT");
  std::string marker = "paused at " + point;
  for (int i = 0; i < 1200; ++i) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (text.find(marker) != std::string::npos) break;
    ASSERT_TRUE(backup.Running()) << "backup ended before reaching " << point << ": " << text;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  backup.Signal(SIGKILL);
  EXPECT_EQ(backup.Wait(), -SIGKILL);
}

void ExpectServerClean(PgCluster& pg) {
  // The backup's session ends with the process: its temporary slot and its
  // backup-in-progress state go with it.
  for (int i = 0; i < 100; ++i) {
    if (pg.Value("SELECT count(*)::text FROM pg_replication_slots WHERE slot_name LIKE 'pgvault%'") == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(pg.Value("SELECT count(*)::text FROM pg_replication_slots WHERE slot_name LIKE 'pgvault%'"), "0");
}

}  // namespace

TEST(CrashSafety, KillNineAtEveryStepOfABackup) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 5, 16, "");
  std::string repo = tmp / "repo";
  // Small packs, so that several are committed before the kill.
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo, "--pack-size", "1048576"}).exit_code, 0);
  auto first = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  pg->Exec("INSERT INTO random_bytes SELECT g, (SELECT string_agg(gen_random_bytes(1024), ''::bytea) "
           "FROM generate_series(1, 8) WHERE g > 0) FROM generate_series(100000, 101279) g");  // 10 MiB new

  for (const std::string point : {"backup-started", "backup-copying", "backup-packs-written", "backup-index-written",
                                  "backup-file-list-written"}) {
    SCOPED_TRACE(point);
    KillBackupAt(*pg, repo, point, tmp / ("kill-" + point + ".log"));
    auto list = PgvaultJson({"list", "--repo", repo});
    ASSERT_EQ(list.size(), 1u) << "a killed backup is visible: " << list.dump();
    EXPECT_EQ(list[0]["id"], first["id"]);
    RunResult verify = Pgvault({"verify", "--repo", repo});
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    ExpectServerClean(*pg);
  }

  // The next backup succeeds and reuses the chunks the killed ones stored:
  // the 10 MiB of new random data is not stored again.
  auto next = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  EXPECT_LT(next["stored_size"].get<uint64_t>(), 4u << 20) << next.dump();
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
  PgvaultJson({"restore", "--repo", repo, "--target", tmp / "restored"});
  auto restored = PgCluster::Adopt(tmp / "restored");
  restored->Start();
  EXPECT_EQ(TableChecksum(*restored, "random_bytes"), TableChecksum(*pg, "random_bytes"));
  EXPECT_EQ(TableChecksum(*restored, "pgbench_accounts"), TableChecksum(*pg, "pgbench_accounts"));
}

TEST(CrashSafety, KillNineDuringRestoreLeavesADirectoryThatCannotStart) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 2, 8, "");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  setenv("PGVAULT_TEST_PAUSE_AT", "restore-copying", 1);
  std::string log = tmp / "restore.log";
  BackgroundProcess restore({PGVAULT_BINARY, "restore", "--repo", repo, "--target", tmp / "restored"}, log);
  unsetenv("PGVAULT_TEST_PAUSE_AT");
  for (int i = 0; i < 1200; ++i) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (text.find("paused at restore-copying") != std::string::npos) break;
    ASSERT_TRUE(restore.Running()) << text;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  restore.Signal(SIGKILL);
  restore.Wait();
  EXPECT_FALSE(std::filesystem::exists(tmp / "restored/global/pg_control"));
  RunResult start = RunAsPostgres({PgBin("pg_ctl"), "-D", tmp / "restored", "-w", "-t", "20", "start"});
  EXPECT_NE(start.exit_code, 0) << "a half-restored directory started";
  // A --delta restore killed part-way over that directory (its old
  // pg_control and files of a mixed age) must not leave a startable mix either.
  {
    PgvaultJson({"restore", "--repo", repo, "--target", tmp / "restored", "--delta"});
    ASSERT_TRUE(std::filesystem::exists(tmp / "restored/global/pg_control"));
    int fd = ::open((tmp / "restored/base/1/PG_VERSION").c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ::close(fd);  // something for --delta to rewrite
    setenv("PGVAULT_TEST_PAUSE_AT", "restore-copying", 1);
    std::string delta_log = tmp / "delta.log";
    BackgroundProcess delta({PGVAULT_BINARY, "restore", "--repo", repo, "--target", tmp / "restored", "--delta"},
                            delta_log);
    unsetenv("PGVAULT_TEST_PAUSE_AT");
    for (int i = 0; i < 1200; ++i) {
      std::ifstream in(delta_log);
      std::string text((std::istreambuf_iterator<char>(in)), {});
      if (text.find("paused at restore-copying") != std::string::npos) break;
      ASSERT_TRUE(delta.Running()) << text;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    delta.Signal(SIGKILL);
    delta.Wait();
    EXPECT_FALSE(std::filesystem::exists(tmp / "restored/global/pg_control"))
        << "an interrupted --delta restore left the old pg_control in place";
  }
  // Finishing with --delta gives a working cluster.
  PgvaultJson({"restore", "--repo", repo, "--target", tmp / "restored", "--delta"});
  auto restored = PgCluster::Adopt(tmp / "restored");
  restored->Start();
  EXPECT_EQ(TableChecksum(*restored, "random_bytes"), TableChecksum(*pg, "random_bytes"));
}

TEST(CrashSafety, FilesThatVanishDuringTheBackupAreTolerated) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 2, 8, "");
  for (int i = 0; i < 20; ++i)
    pg->Exec("CREATE TABLE doomed_" + std::to_string(i) + " AS SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
  pg->Exec("CHECKPOINT");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);

  // Freeze the backup after it listed the files, drop the tables (a
  // checkpoint removes their files), then let it go on.
  setenv("PGVAULT_TEST_PAUSE_AT", "backup-scanned", 1);
  std::string log = tmp / "backup.log";
  BackgroundProcess backup({PGVAULT_BINARY, "backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo(),
                            "--json"},
                           log);
  unsetenv("PGVAULT_TEST_PAUSE_AT");
  std::string text;
  for (int i = 0; i < 1200 && text.find("paused at backup-scanned") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(log);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_NE(text.find("paused at backup-scanned"), std::string::npos) << text;
  std::string vanished_file = pg->Value("SELECT pg_relation_filepath('doomed_0')");
  for (int i = 0; i < 20; ++i) pg->Exec("DROP TABLE doomed_" + std::to_string(i));
  pg->Exec("CHECKPOINT");
  ASSERT_FALSE(std::filesystem::exists(pg->datadir() + "/" + vanished_file));
  backup.Signal(SIGCONT);
  ASSERT_EQ(backup.Wait(), 0) << text;

  auto restore = PgvaultJson({"restore", "--repo", repo, "--target", tmp / "restored"});
  auto restored = PgCluster::Adopt(tmp / "restored");
  restored->Start();
  EXPECT_EQ(restored->Value("SELECT count(*)::text FROM pg_class WHERE relname LIKE 'doomed%'"), "0");
  EXPECT_EQ(TableChecksum(*restored, "random_bytes"), TableChecksum(*pg, "random_bytes"));
  EXPECT_EQ(TableChecksum(*restored, "pgbench_accounts"), TableChecksum(*pg, "pgbench_accounts"));
  ExpectAmcheckAndChecksumsClean(*restored);
}
