// End-to-end: hot backup under load from a primary and from a standby,
// restore, start, and check the data against the source.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/dataset.h"
#include "support/file_bytes.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;

namespace {

constexpr int kScale = 10;
constexpr int kRandomMb = 24;

long HistoryCount(PgCluster& pg) { return std::stol(pg.Value("SELECT count(*) FROM pgbench_history")); }

// Restores `backup_id` into tmp/restored (tablespace to tmp/ts_restored),
// starts it, and checks everything the acceptance list asks for.
void RestoreAndCheck(TempDir& tmp, const std::string& repo, const std::string& backup_id, const std::string& stop_lsn,
                     const std::map<std::string, std::string>& static_sums, const std::vector<std::string>& history,
                     long history_before, long history_after) {
  auto restore = PgvaultJson({"restore", "--repo", repo, "--backup", backup_id, "--target", tmp / "restored",
                              "--tablespace-map", "ts1=" + (tmp / "ts_restored")});
  EXPECT_EQ(restore["backup_id"], backup_id);
  // No WAL archive and no recovery settings: a plain start must reach consistency.
  std::string auto_conf = ReadFile(tmp / "restored/postgresql.auto.conf");
  EXPECT_EQ(auto_conf.find("restore_command"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tmp / "restored/recovery.signal"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "restored/standby.signal"));
  auto restored = PgCluster::Adopt(tmp / "restored");
  restored->Start();
  EXPECT_EQ(restored->Value("SHOW archive_mode"), "off");
  EXPECT_EQ(restored->Value("SELECT pg_is_in_recovery()::text"), "false");
  EXPECT_NE(restored->Log().find("consistent recovery state reached at " + stop_lsn), std::string::npos)
      << restored->Log();
  // Recovery ended exactly at the backup's stop LSN: the end-of-recovery
  // checkpoint is the first record after it. Nothing the server wrote after
  // the backup was replayed.
  EXPECT_EQ(restored->Value("SELECT checkpoint_lsn::text FROM pg_control_checkpoint()"), stop_lsn);
  EXPECT_EQ(restored->Value("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'ts1'"),
            tmp / "ts_restored");
  for (const auto& [table, sum] : static_sums) EXPECT_EQ(TableChecksum(*restored, table), sum) << table;
  ExpectPgbenchConsistentWith(*restored, history, history_before, history_after);
  ExpectAmcheckAndChecksumsClean(*restored);
}

}  // namespace

TEST(BackupRestore, PrimaryUnderLoadWithTablespaceRestoresExactly) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, kScale, kRandomMb, tmp / "ts1");
  auto static_sums = StaticChecksums(*pg, true);
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);

  auto load = pg->StartPgbenchLoad(300);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long before = HistoryCount(*pg);
  ASSERT_GT(before, 0) << "pgbench load did not start";
  auto backup = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  long after = HistoryCount(*pg);
  load.reset();  // stop the load
  EXPECT_GT(after, before) << "the load was not running during the backup";
  ASSERT_TRUE(backup.contains("id"));
  EXPECT_EQ(backup["status"], "complete");
  EXPECT_EQ(backup["backup_from"], "primary");

  auto list = PgvaultJson({"list", "--repo", repo});
  ASSERT_EQ(list.size(), 1u);
  for (const char* key : {"id", "status", "start_lsn", "stop_lsn", "start_time", "stop_time", "timeline",
                          "system_identifier", "pg_version", "size", "stored_size"})
    EXPECT_TRUE(list[0].contains(key)) << key;
  EXPECT_EQ(list[0]["system_identifier"], pg->Value("SELECT system_identifier::text FROM pg_control_system()"));
  EXPECT_GE(list[0]["pg_version"].get<int>(), 150000);

  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
  RestoreAndCheck(tmp, repo, backup["id"], backup["stop_lsn"], static_sums, HistoryRows(*pg), before, after);
}

TEST(BackupRestore, StandbyUnderLoadRestoresExactly) {
  TempDir tmp;
  auto primary = PgCluster::Create(tmp / "primary");
  primary->Start();
  BuildDataset(*primary, kScale, kRandomMb, tmp / "ts1");
  auto standby = PgCluster::CreateStandby(*primary, tmp / "standby", {(tmp / "ts1") + "=" + (tmp / "ts1_standby")});
  primary->WaitForReplay(*standby);
  auto static_sums = StaticChecksums(*primary, true);
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);

  auto load = primary->StartPgbenchLoad(300);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long before = HistoryCount(*standby);
  auto backup = PgvaultJson({"backup", "--repo", repo, "--pgdata", standby->datadir(), "--pg", standby->Conninfo()});
  long after = HistoryCount(*primary);
  load.reset();
  EXPECT_EQ(backup["backup_from"], "standby");
  EXPECT_EQ(backup["status"], "complete");
  RestoreAndCheck(tmp, repo, backup["id"], backup["stop_lsn"], static_sums, HistoryRows(*primary), before, after);
}

TEST(BackupRestore, SecondBackupOfUnchangedClusterAddsUnderOnePercent) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, kScale, kRandomMb, "");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  auto first = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  auto second = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  uint64_t first_stored = first["stored_size"], second_stored = second["stored_size"];
  EXPECT_GT(first_stored, static_cast<uint64_t>(kRandomMb) << 20);
  EXPECT_LT(second_stored * 100, first_stored) << "second backup stored " << second_stored << " bytes, first "
                                               << first_stored;
  // Both restore; the second one is complete on its own.
  auto restore = PgvaultJson({"restore", "--repo", repo, "--backup", second["id"], "--target", tmp / "restored"});
  auto restored = PgCluster::Adopt(tmp / "restored");
  restored->Start();
  EXPECT_EQ(TableChecksum(*restored, "random_bytes"), TableChecksum(*pg, "random_bytes"));
  EXPECT_EQ(TableChecksum(*restored, "pgbench_accounts"), TableChecksum(*pg, "pgbench_accounts"));
}
