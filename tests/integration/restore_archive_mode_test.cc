// A copy restored for a test or a point-in-time recovery must not archive
// into the repository it came from: started with the source's
// archive_command, it would push its new timeline there, and a later PITR with
// the default timeline (latest) would follow that fork. `--archive-mode off`
// keeps the copy from archiving; the default (preserve) says what will happen.
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/pg_cluster.h"
#include "support/pg_waits.h"
#include "support/pgvault_cli.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr auto npos = std::string::npos;

// Every WAL object in the repository (segments and timeline history files).
std::set<std::string> WalObjects(const std::string& repo) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/wal"))
    if (e.is_regular_file() && !e.path().filename().string().starts_with(".tmp-"))
      out.insert(fs::relative(e.path(), repo).string());
  return out;
}

bool HasHistoryOfTimeline2(const std::set<std::string>& objects) {
  for (const auto& o : objects)
    if (o.find("00000002.history") != npos) return true;
  return false;
}

// Promoted copy writes WAL and closes segments, as a test copy in use would.
void WriteWal(PgCluster& pg) {
  pg.Exec("CREATE TABLE copy_work AS SELECT g FROM generate_series(1, 20000) g");
  for (int i = 0; i < 3; ++i) {
    pg.Exec("INSERT INTO copy_work SELECT g FROM generate_series(1, 1000) g");
    pg.Value("SELECT pg_walfile_name(pg_switch_wal())");
  }
  pg.Exec("CHECKPOINT");
}

}  // namespace

TEST(RestoreArchiveMode, OffKeepsAPitrCopyFromArchivingIntoTheSourcesRepositoryAndPreserveWarns) {
  TempDir tmp;
  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});  // wal-push runs as postgres
  auto pg = PgCluster::Create(tmp / "primary", ArchivingConf(repo));
  pg->Start();
  pg->Exec("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
  WaitForArchived(*pg);  // the archive's first push, as postgres, before a backup as root touches the repository
  PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  pg->Exec("INSERT INTO t SELECT g FROM generate_series(1001, 2000) g");
  std::string target_lsn = pg->Value("SELECT pg_current_wal_insert_lsn()::text");
  WaitForArchived(*pg);
  pg->Stop();
  const std::set<std::string> before = WalObjects(repo);
  ASSERT_FALSE(HasHistoryOfTimeline2(before));

  // --archive-mode off: the promoted copy archives nothing.
  json off = PgvaultJson({"restore", "--repo", repo, "--target", tmp / "copy_off", "--target-lsn", target_lsn,
                          "--archive-mode", "off"});
  EXPECT_EQ(off["archive_mode"], "off");
  EXPECT_TRUE(off["archive_warning"].is_null()) << off.dump();
  {
    auto copy = PgCluster::Adopt(tmp / "copy_off");
    copy->Start();
    WaitUntilPromoted(*copy);
    EXPECT_EQ(copy->Value("SHOW archive_mode"), "off");
    EXPECT_EQ(copy->Value("SELECT setting FROM pg_settings WHERE name = 'archive_mode'"), "off");
    EXPECT_EQ(copy->Value("SELECT count(*) FROM t"), "2000");
    EXPECT_EQ(copy->Value("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), "00000002");
    WriteWal(*copy);
    std::this_thread::sleep_for(std::chrono::seconds(3));  // an archiver would have run by now
    copy->Stop();
  }
  EXPECT_EQ(WalObjects(repo), before) << "the copy archived into the source's repository";

  // preserve (the default): the copy keeps the source's archive_command, and
  // restore says so, on stderr and in --json.
  RunResult kept = Pgvault({"restore", "--repo", repo, "--target", tmp / "copy_kept", "--target-lsn", target_lsn,
                            "--json"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  json j = json::parse(kept.out);
  EXPECT_EQ(j["archive_mode"], "preserve");
  ASSERT_TRUE(j["archive_warning"].is_string()) << j.dump();
  std::string warning = j["archive_warning"];
  EXPECT_NE(warning.find("into the repository it was restored from"), npos) << warning;
  EXPECT_NE(warning.find("--archive-mode off"), npos) << warning;
  EXPECT_NE(kept.err.find("--archive-mode off"), npos) << kept.err;
  // ... and it is true: started, the copy pushes its new timeline there.
  {
    auto copy = PgCluster::Adopt(tmp / "copy_kept");
    copy->Start();
    WaitUntilPromoted(*copy);
    bool pushed = false;
    for (int i = 0; i < 300 && !pushed; ++i) {
      pushed = HasHistoryOfTimeline2(WalObjects(repo));
      if (!pushed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(pushed) << "the warning said the copy archives into the repository, and it did not";
    copy->Stop();
  }

  // The source's own data directory restored in place is a replacement (the
  // new primary): it keeps archiving, and no warning is given.
  fs::remove_all(pg->datadir());
  json in_place = PgvaultJson({"restore", "--repo", repo, "--target", pg->datadir()});
  EXPECT_EQ(in_place["archive_mode"], "preserve");
  EXPECT_TRUE(in_place["archive_warning"].is_null()) << in_place.dump();
}
