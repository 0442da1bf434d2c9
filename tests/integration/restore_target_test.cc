// Restore into non-empty directories: refused without a flag; --delta
// rewrites only what differs.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "support/dataset.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

TEST(RestoreTarget, NonEmptyDirectoryIsRefusedAndUntouched) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  fs::create_directories(tmp / "target");
  std::ofstream(tmp / "target/precious.txt") << "keep me";
  auto before = TreeListing(tmp / "target");
  RunResult r = Pgvault({"restore", "--repo", repo, "--target", tmp / "target"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--delta"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(TreeListing(tmp / "target"), before);

  // A running server in the target is refused even with --force.
  RunResult over_running = Pgvault({"restore", "--repo", repo, "--target", pg->datadir(), "--force"});
  EXPECT_EQ(over_running.exit_code, 1);
  EXPECT_NE(over_running.err.find("is running"), std::string::npos) << over_running.err;
  EXPECT_EQ(pg->Value("SELECT 1"), "1");
}

TEST(RestoreTarget, DeltaRewritesOnlyChangedFilesAndGivesACorrectCluster) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 5, 8, "");
  std::string accounts = pg->Value("SELECT pg_relation_filepath('pgbench_accounts')");
  std::string branches = pg->Value("SELECT pg_relation_filepath('pgbench_branches')");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  std::string target = tmp / "restored";
  PgvaultJson({"restore", "--repo", repo, "--target", target});

  // Damage one file, delete another, add a stray one.
  {
    int fd = ::open((target + "/" + accounts).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "garbage!", 8, 3 * 8192 + 100), 8);
    ::close(fd);
  }
  ASSERT_TRUE(fs::remove(target + "/" + branches));
  std::ofstream(target + "/base/stray_file") << "not from the backup";

  auto delta = PgvaultJson({"restore", "--repo", repo, "--target", target, "--delta"});
  std::set<std::string> written(delta["written_paths"].begin(), delta["written_paths"].end());
  EXPECT_EQ(written, (std::set<std::string>{accounts, branches, "global/pg_control"})) << delta.dump();
  EXPECT_LT(delta["bytes_written"].get<uint64_t>(), 3u << 20) << "only the changed chunk should be rewritten";
  EXPECT_GE(delta["files_removed"].get<uint64_t>(), 1u);
  EXPECT_FALSE(fs::exists(target + "/base/stray_file"));

  auto restored = PgCluster::Adopt(target);
  restored->Start();
  for (const char* table : {"pgbench_accounts", "pgbench_branches", "random_bytes"})
    EXPECT_EQ(TableChecksum(*restored, table), TableChecksum(*pg, table)) << table;
  ExpectAmcheckAndChecksumsClean(*restored);
}

TEST(RestoreTarget, ForceDoesNotRewriteTheSourcesTablespaceOrFollowLinks) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 1, 1, tmp / "ts");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  std::string before = TableChecksum(*pg, "ts_table");
  auto ts_listing = TreeListing(tmp / "ts");

  // A copy on the source's own host, without --tablespace-map: the backup's
  // tablespace location is the live source's.
  for (const char* flag : {"--force", "--delta"}) {
    RunResult r = Pgvault({"restore", "--repo", repo, "--target", tmp / "copy", flag});
    EXPECT_EQ(r.exit_code, 1) << flag;
    EXPECT_NE(r.err.find("is not the restore target's own"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--tablespace-map"), std::string::npos) << r.err;
  }
  EXPECT_EQ(TreeListing(tmp / "ts"), ts_listing);
  EXPECT_EQ(TableChecksum(*pg, "ts_table"), before);

  // A symbolic link where the backup has a regular file is replaced, never
  // written through.
  fs::create_directories(tmp / "copy/global");
  std::ofstream(tmp / "outside.txt") << "must stay";
  fs::create_symlink(tmp / "outside.txt", tmp / "copy/PG_VERSION");
  fs::create_directories(tmp / "elsewhere");
  fs::create_directory_symlink(tmp / "elsewhere", tmp / "copy/base");
  PgvaultJson({"restore", "--repo", repo, "--target", tmp / "copy", "--force", "--tablespace-map",
               "ts1=" + (tmp / "ts_copy")});
  std::ifstream outside(tmp / "outside.txt");
  std::string text((std::istreambuf_iterator<char>(outside)), {});
  EXPECT_EQ(text, "must stay");
  EXPECT_TRUE(fs::is_empty(tmp / "elsewhere"));
  EXPECT_FALSE(fs::is_symlink(tmp / "copy/PG_VERSION"));
  EXPECT_FALSE(fs::is_symlink(tmp / "copy/base"));
  auto copy = PgCluster::Adopt(tmp / "copy");
  copy->Start();
  EXPECT_EQ(TableChecksum(*copy, "ts_table"), before);
  EXPECT_EQ(TableChecksum(*copy, "pgbench_accounts"), TableChecksum(*pg, "pgbench_accounts"));
}

TEST(RestoreTarget, ClusterWithoutDataChecksumsBacksUpWithoutWarnings) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary", {}, /*data_checksums=*/false);
  pg->Start();
  BuildDataset(*pg, 1, 1, "");
  ASSERT_EQ(pg->Value("SHOW data_checksums"), "off");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  auto backup = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  auto list = PgvaultJson({"list", "--repo", repo});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["status"], "complete") << list.dump();
  PgvaultJson({"restore", "--repo", repo, "--target", tmp / "restored"});
  auto restored = PgCluster::Adopt(tmp / "restored");
  restored->Start();
  EXPECT_EQ(TableChecksum(*restored, "pgbench_accounts"), TableChecksum(*pg, "pgbench_accounts"));
}
