// What `restore` refuses about recovery, on real PostgreSQL 15 (issue 14,
// points 7 and 8): recovery-target values PostgreSQL would read differently
// or refuse, and empty values, are usage errors before anything is written;
// recovery to the end of the archive across a missing segment is refused
// unless --stop-at-wal-gap, and then holds exactly the rows before the gap.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/pg_cluster.h"
#include "support/pg_waits.h"
#include "support/pgvault_cli.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

namespace {

constexpr int kRowsPerBatch = 100;
constexpr int kBatches = 6;

class RecoveryRefusal : public ::testing::Test {
 protected:
  // A primary archiving into the repository; a backup after batch 0 (ids
  // 1-100); then batches 1..5, each committed and followed by a WAL switch,
  // so batch k lies in segment batch_segment[k] alone.
  static void SetUpTestSuite() {
    s_ = new Shared;
    Shared& s = *s_;
    s.repo = s.tmp / "repo";
    RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", s.repo});
    s.pg = PgCluster::Create(s.tmp / "primary", ArchivingConf(s.repo));
    s.pg->Start();
    s.pg->Exec("CREATE TABLE t (id int PRIMARY KEY)");
    // The first wal-push binds the repository under its lock: let it finish
    // before the backup takes that lock.
    WaitForArchived(*s.pg);
    s.batch_segment.resize(kBatches);
    for (int k = 0; k < kBatches; ++k) {
      s.pg->Exec("INSERT INTO t SELECT g FROM generate_series(" + std::to_string(k * kRowsPerBatch + 1) + ", " +
                 std::to_string((k + 1) * kRowsPerBatch) + ") g");
      s.batch_segment[k] = s.pg->Value("SELECT pg_walfile_name(pg_switch_wal())");
      if (k == 0) PgvaultJson({"backup", "--repo", s.repo, "--pgdata", s.pg->datadir(), "--pg", s.pg->Conninfo()});
    }
    WaitForArchived(*s.pg);
    s.pg->Stop();
  }
  static void TearDownTestSuite() {
    delete s_;
    s_ = nullptr;
  }

  static std::string SegmentPath(const std::string& name) {
    return s_->repo + "/wal/" + name.substr(0, 16) + "/" + name;
  }

  // Starts a restored directory (not archiving: it would add a timeline to
  // the repository) and returns "count max" of the table once recovery ended.
  static std::string StartAndCount(const std::string& dir) {
    std::ofstream(dir + "/postgresql.auto.conf", std::ios::app) << "archive_mode = off\n";
    auto pg = PgCluster::Adopt(dir);
    pg->Start();
    WaitUntilPromoted(*pg);
    return pg->Value("SELECT count(*) || ' ' || max(id) FROM t");
  }

  struct Shared {
    TempDir tmp;
    std::string repo;
    std::unique_ptr<PgCluster> pg;
    std::vector<std::string> batch_segment;
  };
  static Shared* s_;
};
RecoveryRefusal::Shared* RecoveryRefusal::s_ = nullptr;

TEST_F(RecoveryRefusal, BadRecoveryTargetsAndEmptyValuesAreUsageErrorsThatWriteNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string option;  // the option the error must name
  };
  const std::vector<Case> cases = {
      {{"--target-time", "2026-11-34 16:15:00+00"}, "--target-time"},
      {{"--target-time", "2026-11-24 16:14:75+00"}, "--target-time"},
      {{"--target-time", "2026-11-24 40:15:00+00"}, "--target-time"},
      {{"--target-time", "2026-02-29 12:00:00+00"}, "--target-time"},
      {{"--target-lsn", " 1/F0000000"}, "--target-lsn"},
      {{"--target-lsn", "+1/+F0000000"}, "--target-lsn"},
      {{"--target-lsn", "0x1/0xF0000000"}, "--target-lsn"},
      {{"--target-lsn", "-1/0"}, "--target-lsn"},
      {{"--target-xid", "99999999999999999999999"}, "--target-xid"},
      {{"--target-xid", "0x2A"}, "--target-xid"},
      {{"--target-timeline", "99999999999"}, "--target-timeline"},
      {{"--target-timeline", "0"}, "--target-timeline"},
      {{"--target-name", "two\nlines"}, "--target-name"},
      {{"--target-name", std::string(64, 'n')}, "--target-name"},
      {{"--target-lsn", "0/0", "--target-action", "Promote"}, "--target-action"},
      {{"--target-time", ""}, "--target-time"},
      {{"--target-lsn", ""}, "--target-lsn"},
      {{"--target-xid", ""}, "--target-xid"},
      {{"--target-name", ""}, "--target-name"},
      {{"--target-timeline", ""}, "--target-timeline"},
      {{"--target-lsn", "0/0", "--target-action", ""}, "--target-action"},
      {{"--backup", ""}, "--backup"},
      {{"--tablespace-map", ""}, "--tablespace-map"},
      {{"--from-snapshot", ""}, "--from-snapshot"},
      {{"--wal-target", ""}, "--wal-target"},
      {{"--stop-at-wal-gap"}, "--stop-at-wal-gap"},
      {{"--target-time", "2026-11-24 16:15:00+00", "--stop-at-wal-gap"}, "--stop-at-wal-gap"},
  };
  std::string target = s_->tmp / "refused";
  for (const auto& c : cases) {
    std::vector<std::string> argv = {"restore", "--repo", s_->repo, "--target", target};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    RunResult r = Pgvault(argv);
    std::string shown;
    for (const auto& a : c.args) shown += " '" + a + "'";
    SCOPED_TRACE(shown);
    EXPECT_EQ(r.exit_code, 2) << r.err << r.out;
    EXPECT_NE(r.err.find(c.option), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(target)) << "restore wrote " << target;
    fs::remove_all(target);
  }
  RunResult empty_target = Pgvault({"restore", "--repo", s_->repo, "--target", ""});
  EXPECT_EQ(empty_target.exit_code, 2) << empty_target.err;
  EXPECT_NE(empty_target.err.find("--target"), std::string::npos) << empty_target.err;
}

TEST_F(RecoveryRefusal, EndOfArchiveAcrossAGapIsRefusedUnlessStopAtWalGap) {
  const int all = kBatches * kRowsPerBatch;
  // Without a gap, recovery to the end of the archive replays every batch.
  std::string whole = s_->tmp / "whole";
  PgvaultJson({"restore", "--repo", s_->repo, "--target", whole, "--target-timeline", "latest"});
  ASSERT_EQ(StartAndCount(whole), std::to_string(all) + " " + std::to_string(all));

  // The segment of batch 3 goes missing; batches 4 and 5 stay archived after it.
  const std::string missing = s_->batch_segment[3];
  ASSERT_TRUE(fs::remove(SegmentPath(missing))) << SegmentPath(missing);
  ASSERT_TRUE(fs::exists(SegmentPath(s_->batch_segment[4])));

  std::string refused = s_->tmp / "refused_gap";
  RunResult r = Pgvault({"restore", "--repo", s_->repo, "--target", refused, "--target-timeline", "latest"});
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_NE(r.err.find("no segment " + missing), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--stop-at-wal-gap"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(refused)) << "a refused restore wrote " << refused;

  // Accepted with --stop-at-wal-gap: exactly the rows committed before the gap.
  std::string stopped = s_->tmp / "stopped";
  PgvaultJson(
      {"restore", "--repo", s_->repo, "--target", stopped, "--target-timeline", "latest", "--stop-at-wal-gap"});
  const int before_gap = 3 * kRowsPerBatch;
  EXPECT_EQ(StartAndCount(stopped), std::to_string(before_gap) + " " + std::to_string(before_gap));
}

}  // namespace
