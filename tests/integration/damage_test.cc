// Damage in the repository and in the source cluster is found and named.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "support/dataset.h"
#include "support/file_bytes.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

TEST(Damage, FlippedByteInAPackIsNamedByVerifyAndStopsRestore) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 2, 8, "");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  auto backup = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  ASSERT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);

  // The biggest pack; a byte in its middle lies inside some chunk's data.
  std::string pack;
  uintmax_t size = 0;
  for (auto& e : fs::recursive_directory_iterator(repo + "/packs"))
    if (e.is_regular_file() && e.file_size() > size) size = e.file_size(), pack = e.path().string();
  ASSERT_FALSE(pack.empty());
  FlipByte(pack, static_cast<off_t>(size / 2));

  RunResult verify = Pgvault({"verify", "--repo", repo});
  EXPECT_NE(verify.exit_code, 0);
  auto verify_errors = ErrorLines(verify.err);
  ASSERT_FALSE(verify_errors.empty()) << verify.err;
  for (const auto& line : verify_errors) {
    EXPECT_NE(line.find("is damaged: file "), std::string::npos) << line;
    EXPECT_NE(line.find(fs::path(pack).filename().string()), std::string::npos) << "pack not named: " << line;
  }
  auto verify_json = nlohmann::json::parse(Pgvault({"verify", "--repo", repo, "--json"}).out);
  EXPECT_FALSE(verify_json["ok"].get<bool>());

  RunResult restore = Pgvault({"restore", "--repo", repo, "--target", tmp / "restored"});
  EXPECT_NE(restore.exit_code, 0);
  auto restore_errors = ErrorLines(restore.err);
  ASSERT_EQ(restore_errors.size(), 1u) << restore.err;
  EXPECT_TRUE(verify_errors.count(*restore_errors.begin()))
      << "restore said: " << *restore_errors.begin() << "\nverify said: " << verify.err;
  // Nothing that could be started was left behind.
  EXPECT_FALSE(fs::exists(tmp / "restored/global/pg_control"));
}

TEST(Damage, DamagedDataPageInTheSourceIsReportedWithRelationAndBlock) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  pg->Exec("CREATE TABLE damaged (id int, filler text)");
  pg->Exec("INSERT INTO damaged SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g");
  pg->Exec("CHECKPOINT");
  std::string relpath = pg->Value("SELECT pg_relation_filepath('damaged')");
  pg->Stop();
  // Overwrite bytes in the middle of block 1, past the page header.
  {
    int fd = ::open((pg->datadir() + "/" + relpath).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const char garbage[16] = "not a tuple!!!!";
    ASSERT_EQ(::pwrite(fd, garbage, sizeof garbage, 8192 + 4000), 16);
    ::close(fd);
  }
  pg->Start();
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  RunResult backup = Pgvault({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo(), "--json"});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_NE(backup.err.find("page checksum failure in " + relpath + " (damaged), block 1"), std::string::npos)
      << backup.err;
  auto result = nlohmann::json::parse(backup.out);
  EXPECT_EQ(result["status"], "warning");
  ASSERT_EQ(result["checksum_failures"].size(), 1u);
  EXPECT_EQ(result["checksum_failures"][0]["relation"], "damaged");
  EXPECT_EQ(result["checksum_failures"][0]["block"], 1);
  auto list = PgvaultJson({"list", "--repo", repo});
  EXPECT_EQ(list[0]["status"], "warning");
}
