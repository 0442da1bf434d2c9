// wal-push --async on slow storage (the test-only PGVAULT_TEST_STORAGE_DELAY_MS
// knob): PostgreSQL's archiver keeps up where one-at-a-time pushing falls
// behind, and killing the worker never leaves an acknowledged segment that is
// not in the repository.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

namespace {

constexpr int kDelayMs = 1500;

std::string ArchiveCommand(const std::string& repo, bool async) {
  return "archive_command = 'PGVAULT_TEST_STORAGE_DELAY_MS=" + std::to_string(kDelayMs) + " " + PGVAULT_BINARY +
         " wal-push --repo " + repo + (async ? " --async --async-jobs 8" : "") + " %p'";
}

int ReadyCount(PgCluster& pg) {
  return std::stoi(pg.Value("SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"));
}

// Switches segments about three times a second for `seconds` under pgbench;
// returns the archiver's backlog (.ready files) sampled once a second.
std::vector<int> DriveWal(PgCluster& pg, int seconds) {
  auto load = pg.StartPgbenchLoad(seconds, 2);
  std::vector<int> backlog;
  auto start = std::chrono::steady_clock::now();
  int tick = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(seconds)) {
    pg.Exec("SELECT pg_logical_emit_message(false, 'test', repeat('x', 1000))");
    pg.Exec("SELECT pg_switch_wal()");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (++tick % 3 == 0) backlog.push_back(ReadyCount(pg));
  }
  load->Wait();
  return backlog;
}

}  // namespace

TEST(WalAsync, KeepsUpWithSlowStorageWhereSynchronousPushFallsBehind) {
  TempDir tmp;
  // Control: one push at a time, each paying the storage delay.
  std::string sync_repo = tmp / "sync-repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", sync_repo});
  auto sync_pg = PgCluster::Create(tmp / "sync", {"archive_mode = on", ArchiveCommand(sync_repo, false)});
  sync_pg->Start();
  sync_pg->PgbenchInit(1);
  std::vector<int> sync_backlog = DriveWal(*sync_pg, 12);
  sync_pg->Stop("immediate");

  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});
  auto pg = PgCluster::Create(tmp / "async", {"archive_mode = on", ArchiveCommand(repo, true)});
  pg->Start();
  pg->PgbenchInit(1);
  std::vector<int> async_backlog = DriveWal(*pg, 12);

  std::string trace = "sync backlog:";
  for (int b : sync_backlog) trace += " " + std::to_string(b);
  trace += "; async backlog:";
  for (int b : async_backlog) trace += " " + std::to_string(b);
  ASSERT_GE(sync_backlog.size(), 3u);
  // The control must show the problem, or this test proves nothing.
  EXPECT_GE(sync_backlog.back(), 10) << trace;
  // Async: no growing backlog.
  EXPECT_LE(async_backlog.back(), 6) << trace;
  EXPECT_LE(*std::max_element(async_backlog.begin() + async_backlog.size() / 2, async_backlog.end()), 8) << trace;

  // Kill the worker (and any archive_command waiting on it) mid-flight.
  std::string spool = pg->datadir() + "/pg_wal/pgvault-spool";
  auto load = pg->StartPgbenchLoad(4, 2);
  for (int i = 0; i < 5; ++i) {
    pg->Exec("SELECT pg_logical_emit_message(false, 'test', 'y')");
    pg->Exec("SELECT pg_switch_wal()");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  pgvault::test::Run({"pkill", "-KILL", "-f", "wal-push --repo " + repo + " --async"});
  load->Wait();
  // Nothing acknowledged (done/ marker, or .done for PostgreSQL) is missing from the repository.
  int checked = 0;
  for (const auto& dir : {spool + "/done", pg->datadir() + "/pg_wal/archive_status"}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (dir.ends_with("archive_status")) {
        if (!name.ends_with(".done")) continue;
        name = name.substr(0, name.size() - 5);
      }
      RunResult f = Pgvault({"wal-fetch", "--repo", repo, name, tmp / "check"});
      EXPECT_EQ(f.exit_code, 0) << name << " was acknowledged but is not in the repository: " << f.err;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
  // PostgreSQL's next call starts a new worker and the backlog drains.
  for (int i = 0; i < 300 && ReadyCount(*pg) > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ReadyCount(*pg), 0) << pg->Log();
}
