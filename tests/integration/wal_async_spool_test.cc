// wal-push --async and what it leaves behind: done markers of segments
// PostgreSQL has finished with (archived some other way, e.g. while
// archive_command was synchronous for a while) must neither stall archiving
// nor count against --async-queue-max, and temporary files of killed pushes
// in the repository's wal/ area are removed once certainly abandoned.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/file_bytes.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

namespace {

std::string PushCommand(const std::string& repo, bool async, int queue_max) {
  std::string command = std::string(PGVAULT_BINARY) + " wal-push --repo " + repo;
  if (async) command += " --async --async-jobs 4 --async-queue-max " + std::to_string(queue_max);
  return command + " %p";
}

void SetArchiveCommand(PgCluster& pg, const std::string& command) {
  pg.Exec("ALTER SYSTEM SET archive_command = '" + command + "'");
  pg.Exec("SELECT pg_reload_conf()");
  // The archiver picks the new setting up at its next cycle; wait until the
  // server reports it.
  for (int i = 0; i < 100 && pg.Value("SHOW archive_command") != command; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(pg.Value("SHOW archive_command"), command);
}

// Closes `count` segments in quick succession (a backlog of .ready files for
// the archiver); returns the name of the last one closed.
std::string MakeSegments(PgCluster& pg, int count) {
  std::string last;
  for (int i = 0; i < count; ++i) {
    pg.Exec("SELECT pg_logical_emit_message(false, 'test', repeat('x', 1000))");
    last = pg.Value("SELECT pg_walfile_name(pg_switch_wal())");
  }
  return last;
}

// Whether `name` is archived (pg_stat_archiver) within `seconds`.
bool ArchivedWithin(PgCluster& pg, const std::string& name, int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (pg.Value("SELECT coalesce(last_archived_wal, '') >= '" + name + "' FROM pg_stat_archiver") == "t")
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// The WAL segment names stored in the (local) repository.
std::set<std::string> ArchivedSegments(const std::string& repo) {
  std::set<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/wal")) {
    std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.size() == 24 && name.find_first_not_of("0123456789ABCDEF") == std::string::npos)
      names.insert(name);
  }
  return names;
}

// 24-character segment name of timeline 1, 16 MB segments.
std::string SegmentName(uint64_t number) {
  char buf[25];
  std::snprintf(buf, sizeof buf, "00000001%08X%08X", static_cast<unsigned>(number / 256),
                static_cast<unsigned>(number % 256));
  return buf;
}

uint64_t SegmentNumber(const std::string& name) {
  return std::stoull(name.substr(8, 8), nullptr, 16) * 256 + std::stoull(name.substr(16, 8), nullptr, 16);
}

void SetAge(const std::string& path, std::chrono::hours age) {
  fs::last_write_time(path, fs::file_time_type::clock::now() - age);
}

}  // namespace

// Markers in SPOOL/done/ for segments PostgreSQL has already archived (no
// .ready left for them), more than --async-queue-max of them: the worker
// removes them and archiving goes on. Before, they filled the queue for
// good: the worker pushed nothing, exited idle, and every archive_command
// call timed out.
TEST(WalAsyncSpool, StaleDoneMarkersBeyondTheQueueLimitDoNotStallArchiving) {
  TempDir tmp;
  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});
  constexpr int kQueueMax = 3;
  auto pg = PgCluster::Create(tmp / "pg", {"archive_mode = on",
                                           "archive_command = '" + PushCommand(repo, true, kQueueMax) + "'"});
  pg->Start();
  std::string last = MakeSegments(*pg, 8);
  ASSERT_TRUE(ArchivedWithin(*pg, last, 60)) << pg->Log();
  ASSERT_EQ(pg->Value("SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"), "0");

  // Stale markers: every segment archived so far, each acknowledged long ago.
  std::string spool = pg->datadir() + "/pg_wal/pgvault-spool";
  std::vector<std::string> stale;
  for (uint64_t n = 1; n <= SegmentNumber(last); ++n) {
    stale.push_back(SegmentName(n));
    std::ofstream(spool + "/done/" + stale.back()).flush();
  }
  ChownToPostgres(spool);
  ASSERT_GT(stale.size(), static_cast<size_t>(kQueueMax));

  // Let the worker that archived the first segments exit, so that a new one
  // (reading the spool afresh) must cope with the markers.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  std::string next = MakeSegments(*pg, 4);
  EXPECT_TRUE(ArchivedWithin(*pg, next, 30))
      << "archiving stalled behind stale done markers\nworker.log:\n"
      << ReadFile(spool + "/worker.log") << "\nserver log:\n"
      << pg->Log();
  for (const auto& name : stale) EXPECT_FALSE(fs::exists(spool + "/done/" + name)) << name << " stale marker kept";
  EXPECT_EQ(pg->Value("SELECT failed_count FROM pg_stat_archiver"), "0") << pg->Log();
  auto archived = ArchivedSegments(repo);
  for (uint64_t n = 1; n <= SegmentNumber(next); ++n)
    EXPECT_TRUE(archived.count(SegmentName(n))) << SegmentName(n) << " is not in the repository";
}

// archive_command switched async -> sync -> async -> sync -> async with WAL
// switches in each phase: every segment reaches the repository, with no gap,
// and PostgreSQL saw no failure. Before, the worker kept pushing ahead
// during the synchronous phases; the markers it left for segments PostgreSQL
// then archived synchronously filled the queue, and the next asynchronous
// phase stalled.
TEST(WalAsyncSpool, SwitchingBetweenAsyncAndSyncKeepsArchivingWithoutGaps) {
  TempDir tmp;
  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});
  constexpr int kQueueMax = 2;
  std::string async_command = PushCommand(repo, true, kQueueMax);
  std::string sync_command = PushCommand(repo, false, kQueueMax);
  auto pg = PgCluster::Create(tmp / "pg", {"archive_mode = on", "archive_command = '" + async_command + "'"});
  pg->Start();
  std::string spool = pg->datadir() + "/pg_wal/pgvault-spool";
  std::string last;
  int phase = 0;
  for (bool async : {true, false, true, false, true}) {
    SCOPED_TRACE(std::string("phase ") + std::to_string(++phase) + (async ? " (async)" : " (sync)"));
    SetArchiveCommand(*pg, async ? async_command : sync_command);
    for (int round = 0; round < 3; ++round) {
      last = MakeSegments(*pg, 3);
      ASSERT_TRUE(ArchivedWithin(*pg, last, 30))
          << last << " was not archived\nworker.log:\n"
          << ReadFile(spool + "/worker.log") << "\nserver log:\n"
          << pg->Log();
    }
  }
  EXPECT_EQ(pg->Value("SELECT failed_count FROM pg_stat_archiver"), "0")
      << "archive_command failed (last on " << pg->Value("SELECT last_failed_wal FROM pg_stat_archiver") << ")\n"
      << pg->Log();
  // No gap: every segment from the first to the last archived one is there.
  auto archived = ArchivedSegments(repo);
  ASSERT_FALSE(archived.empty());
  EXPECT_EQ(*archived.begin(), SegmentName(1));
  EXPECT_GE(*archived.rbegin(), last);
  for (uint64_t n = 1; n <= SegmentNumber(last); ++n)
    EXPECT_TRUE(archived.count(SegmentName(n))) << SegmentName(n) << " is missing from the repository";
  // Nothing left acknowledged-but-unclaimed beyond what is still pending.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  for (const auto& e : fs::directory_iterator(spool + "/done")) {
    std::string name = e.path().filename().string();
    EXPECT_TRUE(fs::exists(pg->datadir() + "/pg_wal/archive_status/" + name + ".ready"))
        << "done marker " << name << " outlived its segment's .ready";
  }
}

// Temporary files of killed pushes in the repository's wal/ area: the async
// worker (at its start) and every command that takes the writer lock with
// cleanup (here repo gc) remove those older than a day; a fresh one, which
// may be a push in progress (wal-push writes wal/ without the lock), stays.
TEST(WalAsyncSpool, AbandonedTemporaryFilesInTheWalAreaAreRemovedFreshOnesStay) {
  TempDir tmp;
  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});
  std::string dir = repo + "/wal/0000000100000000";
  fs::create_directories(dir);
  std::string old_tmp = dir + "/.tmp-000000010000000000000007-0123456789abcdef";
  std::string fresh_tmp = dir + "/.tmp-000000010000000000000008-fedcba9876543210";
  std::string old_history_tmp = repo + "/wal/history/.tmp-00000002.history-00000000deadbeef";
  fs::create_directories(repo + "/wal/history");
  for (const auto& p : {old_tmp, fresh_tmp, old_history_tmp}) std::ofstream(p) << std::string(4096, 'w');
  SetAge(old_tmp, std::chrono::hours(25));
  SetAge(old_history_tmp, std::chrono::hours(48));
  SetAge(fresh_tmp, std::chrono::hours(1));
  ChownToPostgres(repo);

  auto pg = PgCluster::Create(tmp / "pg", {"archive_mode = on",
                                           "archive_command = '" + PushCommand(repo, true, 8) + "'"});
  pg->Start();
  std::string last = MakeSegments(*pg, 2);
  ASSERT_TRUE(ArchivedWithin(*pg, last, 60)) << pg->Log();
  EXPECT_FALSE(fs::exists(old_tmp)) << "an abandoned temporary file stayed";
  EXPECT_FALSE(fs::exists(old_history_tmp)) << "an abandoned temporary file stayed";
  EXPECT_TRUE(fs::exists(fresh_tmp)) << "a temporary file that may be a push in progress was removed";

  // Under the writer lock (gc, backup, expire...): the same rule.
  std::string old_again = dir + "/.tmp-000000010000000000000009-00000000000000aa";
  std::ofstream(old_again) << "w";
  SetAge(old_again, std::chrono::hours(30));
  ChownToPostgres(old_again);
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "gc", "--repo", repo});
  EXPECT_FALSE(fs::exists(old_again)) << "repo gc left an abandoned temporary file in wal/";
  EXPECT_TRUE(fs::exists(fresh_tmp)) << "repo gc removed a temporary file that may be a push in progress";
  // The archived segments themselves are untouched.
  EXPECT_TRUE(ArchivedSegments(repo).count(last));
}
