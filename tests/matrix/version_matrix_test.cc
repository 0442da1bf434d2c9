// The version matrix (ctest label "matrix"): every supported PostgreSQL
// major, 14 to 18, on real servers (15 is Debian's; the others are the npm
// registry's server binaries, scripts/postgres-servers). For each: a primary
// under pgbench archives with wal-push; a hot backup of it; a point-in-time
// restore to an LSN, started with the same major, must hold exactly the
// marker rows committed up to the target and the source's tables, and pass
// amcheck (verify_heapam on every table, bt_index_check with heapallindexed
// on every B-tree index) with page checksums on.
#include <cstdlib>

#include <gtest/gtest.h>

#include "support/pg_cluster.h"
#include "support/pg_waits.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;

namespace {

// amcheck over the whole cluster: every table's heap, every B-tree index
// against its heap. Returns the corruption rows verify_heapam reports (none
// expected); bt_index_check raises an error on a bad index.
std::string Amcheck(PgCluster& pg) {
  auto checked = pg.Query("SELECT bt_index_check(c.oid, true) FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
                          "WHERE a.amname = 'btree' AND c.relkind = 'i' AND c.relpersistence <> 't'");
  // The catalogs' indexes and pgbench's primary keys at least.
  EXPECT_GT(checked.size(), 100u);
  return pg.Value("SELECT coalesce(string_agg(c.relname || ' block ' || v.blkno || ': ' || v.msg, '; '), '') "
                  "FROM pg_class c, verify_heapam(c.oid) v WHERE c.relkind IN ('r', 'm', 't') "
                  "AND c.relpersistence <> 't'");
}

class VersionMatrix : public ::testing::TestWithParam<int> {};

}  // namespace

TEST_P(VersionMatrix, HotBackupUnderLoadAndPitrToAnLsnGiveExactRowsAndPassAmcheck) {
  int major = GetParam();
  if (!HavePgServer(major)) {
    // In CI scripts/setup installed them: missing there is a failure.
    if (std::getenv("CI")) FAIL() << "PostgreSQL " << major << " is not installed: " << PgServerBin(major, "postgres");
    GTEST_SKIP() << "PostgreSQL " << major << " is not installed (scripts/setup installs it)";
  }
  TempDir tmp;
  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});
  auto pg = PgCluster::Create(tmp / "primary", ArchivingConf(repo), /*data_checksums=*/true, major);
  pg->Start();
  ASSERT_EQ(std::stoi(pg->Value("SHOW server_version_num")) / 10000, major);
  pg->Exec("CREATE EXTENSION amcheck");
  pg->PgbenchInit(2);
  pg->Exec("CREATE TABLE marker (id int PRIMARY KEY)");
  WaitForArchived(*pg);  // the first push binds the repository (as postgres)

  auto load = pg->StartPgbenchLoad(8, 2);
  auto backup = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  load->Wait();
  EXPECT_EQ(backup["pg_version"].get<int>() / 10000, major) << backup.dump();
  std::string accounts = TableChecksum(*pg, "pgbench_accounts");
  std::string history = TableChecksum(*pg, "pgbench_history");
  for (int i = 1; i <= 3; ++i) pg->Exec("INSERT INTO marker VALUES (" + std::to_string(i) + ")");
  std::string target = pg->Value("SELECT pg_current_wal_insert_lsn()::text");
  for (int i = 4; i <= 5; ++i) pg->Exec("INSERT INTO marker VALUES (" + std::to_string(i) + ")");
  WaitForArchived(*pg);

  std::string restored = tmp / "restored";
  PgvaultJson({"restore", "--repo", repo, "--target", restored, "--target-lsn", target, "--archive-mode", "off"});
  auto copy = PgCluster::Adopt(restored, major);
  copy->Start();
  WaitUntilPromoted(*copy);  // restore's default recovery_target_action
  EXPECT_EQ(copy->Value("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker"), "1,2,3")
      << "server log:\n" << copy->Log();
  EXPECT_EQ(TableChecksum(*copy, "pgbench_accounts"), accounts);
  EXPECT_EQ(TableChecksum(*copy, "pgbench_history"), history);
  EXPECT_EQ(copy->Value("SHOW data_checksums"), "on");
  EXPECT_EQ(Amcheck(*copy), "");
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Majors, VersionMatrix, ::testing::Values(14, 15, 16, 17, 18),
                         [](const auto& info) { return "pg" + std::to_string(info.param); });
