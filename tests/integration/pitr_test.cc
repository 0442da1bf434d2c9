// Point-in-time recovery on real PostgreSQL 15: a primary under pgbench load
// archives with wal-push while a marker table receives one row per second;
// restores to a time, an LSN, an XID, a restore point and immediate must hold
// exactly the marker rows committed up to the target; then timelines.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "pg/lsn.h"
#include "support/dataset.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

namespace {

struct Marker {
  int id = 0;
  std::string xid;           // 32-bit xid of the inserting transaction
  std::string commit_time;   // pg_xact_commit_timestamp, microseconds, with zone
  std::string lsn_before;    // insert LSN before the INSERT
  std::string lsn_after;     // insert LSN after its commit
};

std::string Ids(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += (out.empty() ? "" : ",") + std::to_string(i);
  return out;
}

class Pitr : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_ = new Shared;
    Shared& s = *s_;
    s.repo = s.tmp / "repo";
    RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", s.repo});
    s.pg = PgCluster::Create(s.tmp / "primary",
                             {"archive_mode = on",
                              std::string("archive_command = '") + PGVAULT_BINARY + " wal-push --repo " + s.repo + " %p'",
                              "track_commit_timestamp = on", "max_wal_size = '1GB'"});
    s.pg->Start();
    s.pg->PgbenchInit(5);
    s.pg->Exec("CREATE TABLE marker (id int PRIMARY KEY, lsn_before pg_lsn)");
    auto load = s.pg->StartPgbenchLoad(75, 2);
    for (int i = 1; i <= 65; ++i) {
      Marker m;
      m.id = i;
      auto row = s.pg->Query("INSERT INTO marker VALUES (" + std::to_string(i) +
                             ", pg_current_wal_insert_lsn()) RETURNING xmin::text, lsn_before::text");
      m.xid = *row.at(0).at(0);
      m.lsn_before = *row.at(0).at(1);
      m.lsn_after = s.pg->Value("SELECT pg_current_wal_insert_lsn()::text");
      m.commit_time = s.pg->Value(
          "SELECT to_char(pg_xact_commit_timestamp('" + m.xid + "'::xid) AT TIME ZONE 'UTC', "
          "'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
      s.markers.push_back(m);
      if (i == 10) {
        auto b = PgvaultJson({"backup", "--repo", s.repo, "--pgdata", s.pg->datadir(), "--pg", s.pg->Conninfo()});
        s.backup_id = b["id"];
        s.backup_stop_lsn = b["stop_lsn"];
      }
      if (i == 35) s.pg->Exec("SELECT pg_create_restore_point('after_35')");
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    }
    load->Wait();
    // Everything up to here must be in the archive before restoring.
    std::string last = s.pg->Value("SELECT pg_walfile_name(pg_switch_wal())");
    for (int i = 0; i < 600; ++i) {
      if (s.pg->Value("SELECT coalesce(last_archived_wal, '') >= '" + last + "' FROM pg_stat_archiver") == "t") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  static void TearDownTestSuite() {
    delete s_;
    s_ = nullptr;
  }

  // Restores with `args`, starts the copy (which recovers and promotes or
  // pauses) and returns the marker ids it holds, "1,2,3".
  // Copies do not archive unless `archive`: each promotion would otherwise
  // add a timeline to the repository and change what "latest" means.
  std::string RestoreAndReadMarkers(const std::string& dir, const std::vector<std::string>& args,
                                    std::unique_ptr<PgCluster>* keep = nullptr, bool archive = false) {
    std::vector<std::string> argv = {"restore", "--repo", s_->repo, "--target", s_->tmp / dir};
    argv.insert(argv.end(), args.begin(), args.end());
    PgvaultJson(argv);
    if (!archive) std::ofstream(s_->tmp / dir + "/postgresql.auto.conf", std::ios::app) << "archive_mode = off\n";
    auto pg = PgCluster::Adopt(s_->tmp / dir);
    pg->Start();
    std::string ids;
    try {
      // Recovery is over when the server leaves recovery (promote) or pauses.
      for (int i = 0; i < 1200; ++i) {
        if (pg->Value("SELECT pg_is_in_recovery()") == "f") break;
        try {
          if (pg->Value("SELECT pg_get_wal_replay_pause_state()") == "paused") break;
        } catch (const std::exception&) {
          continue;  // promoted between the two queries
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ids = pg->Value("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker");
    } catch (const std::exception& e) {
      ADD_FAILURE() << dir << ": " << e.what() << "\nserver log:\n" << pg->Log();
      throw;
    }
    if (keep) *keep = std::move(pg);
    return ids;
  }

  void ToATimeInclusiveAndExclusive();
  void ToAnLsn();
  void ToAnXidInclusiveAndExclusive();
  void ToARestorePoint();
  void Immediate();
  void TargetsOutsideTheArchiveAreRefusedBeforeWriting();
  void NewTimelineArchivesAndBothTimelinesCanBeReached();

  struct Shared {
    TempDir tmp;
    std::string repo, backup_id, backup_stop_lsn;
    std::unique_ptr<PgCluster> pg;
    std::vector<Marker> markers;
  };
  static Shared* s_;
};
Pitr::Shared* Pitr::s_ = nullptr;

// One test, in this order: the setup takes over a minute, and the timeline
// section adds timeline 2 to the archive, which changes what "latest" means.
TEST_F(Pitr, EveryTargetKindThenTimelines) {
  {
    SCOPED_TRACE("time");
    ToATimeInclusiveAndExclusive();
  }
  {
    SCOPED_TRACE("lsn");
    ToAnLsn();
  }
  {
    SCOPED_TRACE("xid");
    ToAnXidInclusiveAndExclusive();
  }
  {
    SCOPED_TRACE("restore point");
    ToARestorePoint();
  }
  {
    SCOPED_TRACE("immediate");
    Immediate();
  }
  {
    SCOPED_TRACE("outside the archive");
    TargetsOutsideTheArchiveAreRefusedBeforeWriting();
  }
  {
    SCOPED_TRACE("timelines");
    NewTimelineArchivesAndBothTimelinesCanBeReached();
  }
}

void Pitr::ToATimeInclusiveAndExclusive() {
  const Marker& m = s_->markers[24];  // id 25
  EXPECT_EQ(RestoreAndReadMarkers("time_incl", {"--target-time", m.commit_time}), Ids(1, 25));
  EXPECT_EQ(RestoreAndReadMarkers("time_excl", {"--target-time", m.commit_time, "--target-exclusive"}), Ids(1, 24));
}

void Pitr::ToAnLsn() {
  // Between the commits of rows 30 and 31.
  const Marker& m = s_->markers[29];
  EXPECT_EQ(RestoreAndReadMarkers("lsn", {"--target-lsn", m.lsn_after}), Ids(1, 30));
}

void Pitr::ToAnXidInclusiveAndExclusive() {
  const Marker& m = s_->markers[39];  // id 40
  EXPECT_EQ(RestoreAndReadMarkers("xid_incl", {"--target-xid", m.xid}), Ids(1, 40));
  EXPECT_EQ(RestoreAndReadMarkers("xid_excl", {"--target-xid", m.xid, "--target-exclusive"}), Ids(1, 39));
}

void Pitr::ToARestorePoint() {
  std::unique_ptr<PgCluster> pg;
  EXPECT_EQ(RestoreAndReadMarkers("name", {"--target-name", "after_35"}, &pg), Ids(1, 35));
  ExpectAmcheckAndChecksumsClean(*pg);
}

void Pitr::Immediate() {
  std::string ids = RestoreAndReadMarkers("immediate", {"--target-immediate"});
  // Exactly the rows whose commit lies before the backup's stop LSN (a row
  // whose insert straddles the stop LSN may be either way).
  auto lsn = [](const std::string& s) { return pgvault::ParseLsn(s); };
  uint64_t stop = lsn(s_->backup_stop_lsn);
  int surely = 0, maybe = 0;
  for (const auto& m : s_->markers) {
    if (lsn(m.lsn_after) <= stop) surely = m.id;
    if (lsn(m.lsn_before) <= stop) maybe = m.id;
  }
  ASSERT_GE(surely, 9);
  EXPECT_TRUE(ids == Ids(1, surely) || ids == Ids(1, maybe)) << ids << " surely=" << surely << " maybe=" << maybe;
}

void Pitr::TargetsOutsideTheArchiveAreRefusedBeforeWriting() {
  RunResult before = Pgvault({"restore", "--repo", s_->repo, "--target", s_->tmp / "early", "--target-time",
                              "2001-01-01 00:00:00+00"});
  EXPECT_EQ(before.exit_code, 1);
  EXPECT_NE(before.err.find("no backup"), std::string::npos) << before.err;
  RunResult after = Pgvault({"restore", "--repo", s_->repo, "--target", s_->tmp / "late", "--target-time",
                             "2099-01-01 00:00:00+00"});
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_NE(after.err.find("beyond the end of the archive"), std::string::npos) << after.err;
  RunResult lsn = Pgvault({"restore", "--repo", s_->repo, "--target", s_->tmp / "late", "--target-lsn", "FF/0"});
  EXPECT_EQ(lsn.exit_code, 1);
  EXPECT_NE(lsn.err.find("beyond the end of the archive"), std::string::npos) << lsn.err;
  RunResult zone = Pgvault({"restore", "--repo", s_->repo, "--target", s_->tmp / "late", "--target-time",
                            "2026-01-01 00:00:00"});
  EXPECT_EQ(zone.exit_code, 2);
  EXPECT_NE(zone.err.find("time zone"), std::string::npos) << zone.err;
  EXPECT_FALSE(fs::exists(s_->tmp / "early"));
  EXPECT_FALSE(fs::exists(s_->tmp / "late"));
}

void Pitr::NewTimelineArchivesAndBothTimelinesCanBeReached() {
  // PITR to row 20 and promote: timeline 2, which archives into the same repository.
  std::unique_ptr<PgCluster> tl2;
  ASSERT_EQ(RestoreAndReadMarkers("tl2", {"--target-time", s_->markers[19].commit_time}, &tl2, /*archive=*/true),
            Ids(1, 20));
  ASSERT_EQ(tl2->Value("SELECT timeline_id FROM pg_control_checkpoint()"), "2");
  tl2->Exec("CHECKPOINT");
  tl2->Exec("INSERT INTO marker VALUES (1001), (1002)");
  tl2->Exec("SELECT pg_create_restore_point('on_tl2')");
  std::string last = tl2->Value("SELECT pg_walfile_name(pg_switch_wal())");
  for (int i = 0; i < 600; ++i) {
    if (tl2->Value("SELECT coalesce(last_archived_wal, '') >= '" + last + "' FROM pg_stat_archiver") == "t") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(fs::exists(s_->repo + "/wal/history/00000002.history"));
  tl2->Stop();

  // The latest timeline: timeline 1 up to row 20, then timeline 2's rows.
  EXPECT_EQ(RestoreAndReadMarkers("to_tl2", {"--target-name", "on_tl2", "--target-timeline", "latest"}),
            Ids(1, 20) + ",1001,1002");
  // The old timeline, past the point where timeline 2 branched off.
  EXPECT_EQ(RestoreAndReadMarkers("to_tl1", {"--target-time", s_->markers[49].commit_time, "--target-timeline", "1"}),
            Ids(1, 50));
}

}  // namespace
