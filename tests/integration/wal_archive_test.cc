// wal-push (archive_command) and wal-fetch (restore_command) against a real
// PostgreSQL 15 archiving into a repository.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/file_bytes.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

namespace {

std::string ArchiveCommand(const std::string& repo) {
  return std::string("archive_command = '") + PGVAULT_BINARY + " wal-push --repo " + repo + " %p'";
}

// A primary archiving into `repo` with wal-push; the repository is created
// as the postgres OS user, like a real deployment.
class WalArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_ / "repo";
    RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo_});
    pg_ = PgCluster::Create(tmp_ / "primary", {"archive_mode = on", ArchiveCommand(repo_)});
    pg_->Start();
  }

  // Switches to a new segment and waits until the old one is archived; returns its name.
  std::string SwitchAndWaitArchived() {
    pg_->Exec("CREATE TABLE IF NOT EXISTS filler (x text)");
    pg_->Exec("INSERT INTO filler SELECT md5(g::text) FROM generate_series(1, 1000) g");
    std::string name = pg_->Value("SELECT pg_walfile_name(pg_switch_wal())");
    for (int i = 0; i < 600; ++i) {
      if (pg_->Value("SELECT coalesce(last_archived_wal, '') >= '" + name + "' FROM pg_stat_archiver") == "t")
        return name;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "segment " << name << " was not archived; server log:\n" << pg_->Log();
    return name;
  }

  std::string ObjectPath(const std::string& name) { return repo_ + "/wal/" + name.substr(0, 16) + "/" + name; }

  TempDir tmp_;
  std::string repo_;
  std::unique_ptr<PgCluster> pg_;
};

}  // namespace

TEST_F(WalArchive, ArchivesAndFetchesSegmentsExactly) {
  std::string name = SwitchAndWaitArchived();
  ASSERT_TRUE(fs::exists(ObjectPath(name)));
  EXPECT_LT(fs::file_size(ObjectPath(name)), 16u << 20) << "segments are stored compressed";
  // pg_wal may have recycled the file by now: compare with a fresh copy only
  // if it is still there, and always check the fetched bytes' own header.
  std::string fetched = tmp_ / "fetched";
  RunResult r = Pgvault({"wal-fetch", "--repo", repo_, name, fetched});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string bytes = ReadFile(fetched);
  ASSERT_EQ(bytes.size(), 16u << 20);
  std::string original = pg_->datadir() + "/pg_wal/" + name;
  if (fs::exists(original) && pg_->Value("SELECT count(*) FROM pg_ls_waldir() WHERE name = '" + name + "'") == "1") {
    std::string live = ReadFile(original);
    // The archived segment is complete; a still-present original has the same bytes.
    EXPECT_EQ(live, bytes);
  }

  // Not archived: exit 1 and nothing on stderr (PostgreSQL probes for these).
  RunResult missing = Pgvault({"wal-fetch", "--repo", repo_, "0000000100000000000000FF", tmp_ / "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "");
  EXPECT_FALSE(fs::exists(tmp_ / "nope"));
  RunResult history = Pgvault({"wal-fetch", "--repo", repo_, "00000002.history", tmp_ / "nope"});
  EXPECT_EQ(history.exit_code, 1);
}

TEST_F(WalArchive, SameSegmentTwiceSucceedsDifferentContentAndOtherClustersAreRefused) {
  std::string name = SwitchAndWaitArchived();
  std::string copy_dir = tmp_ / "copies";
  fs::create_directories(copy_dir);
  ASSERT_EQ(Pgvault({"wal-fetch", "--repo", repo_, name, copy_dir + "/" + name}).exit_code, 0);
  std::string stored_before = ReadFile(ObjectPath(name));

  // Identical content again: success, object untouched.
  RunResult again = Pgvault({"wal-push", "--repo", repo_, copy_dir + "/" + name});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadFile(ObjectPath(name)), stored_before);

  // Different content under the same name: refused, object untouched.
  std::string altered = ReadFile(copy_dir + "/" + name);
  altered[100000] ^= 0x5a;
  std::string altered_dir = tmp_ / "altered";
  fs::create_directories(altered_dir);
  WriteFile(altered_dir + "/" + name, altered);
  RunResult different = Pgvault({"wal-push", "--repo", repo_, altered_dir + "/" + name});
  EXPECT_EQ(different.exit_code, 1);
  EXPECT_NE(different.err.find("already archived"), std::string::npos) << different.err;
  EXPECT_NE(different.err.find("different content"), std::string::npos) << different.err;
  EXPECT_EQ(ReadFile(ObjectPath(name)), stored_before);

  // A segment of another cluster (another system identifier): refused.
  auto other = PgCluster::Create(tmp_ / "other");
  other->Start();
  std::string other_name = other->Value("SELECT pg_walfile_name(pg_current_wal_lsn())");
  other->Exec("CHECKPOINT");
  std::string foreign_dir = tmp_ / "foreign";
  fs::create_directories(foreign_dir);
  fs::copy_file(other->datadir() + "/pg_wal/" + other_name, foreign_dir + "/" + other_name);
  RunResult foreign = Pgvault({"wal-push", "--repo", repo_, foreign_dir + "/" + other_name});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("system identifier"), std::string::npos) << foreign.err;
  EXPECT_EQ(std::count(foreign.err.begin(), foreign.err.end(), '\n'), 1) << foreign.err;

  // A truncated segment and a file that is not WAL at all: refused.
  WriteFile(altered_dir + "/000000010000000000000077", altered.substr(0, 8192));
  EXPECT_EQ(Pgvault({"wal-push", "--repo", repo_, altered_dir + "/000000010000000000000077"}).exit_code, 1);
  WriteFile(altered_dir + "/000000010000000000000078", std::string(16 << 20, 'x'));
  EXPECT_EQ(Pgvault({"wal-push", "--repo", repo_, altered_dir + "/000000010000000000000078"}).exit_code, 1);
  EXPECT_FALSE(fs::exists(ObjectPath("000000010000000000000077")));
  EXPECT_FALSE(fs::exists(ObjectPath("000000010000000000000078")));
  EXPECT_EQ(Pgvault({"wal-push", "--repo", repo_, altered_dir + "/not-a-wal-name"}).exit_code, 2);
}

TEST_F(WalArchive, DamagedArchivedSegmentIsNeverHandedOut) {
  std::string name = SwitchAndWaitArchived();
  std::string object = ObjectPath(name);
  {
    int fd = ::open(object.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char b;
    off_t at = static_cast<off_t>(fs::file_size(object) / 2);
    ASSERT_EQ(::pread(fd, &b, 1, at), 1);
    b ^= 0x01;
    ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
    ::close(fd);
  }
  RunResult r = Pgvault({"wal-fetch", "--repo", repo_, name, tmp_ / "out"});
  EXPECT_EQ(r.exit_code, 126) << "a status above 125 stops PostgreSQL's recovery instead of ending it";
  EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("damaged"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp_ / "out"));
  // verify reads the WAL archive too.
  RunResult verify = Pgvault({"verify", "--repo", repo_});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_NE(verify.err.find("wal/" + name.substr(0, 16) + "/" + name), std::string::npos) << verify.err;
}

TEST_F(WalArchive, RecoveryStopsAtADamagedSegmentAndResumesOnceRepaired) {
  pg_->Exec("CREATE TABLE t (id int)");
  SwitchAndWaitArchived();  // the archiver (postgres) binds the repository first, as in a deployment
  PgvaultJson({"backup", "--repo", repo_, "--pgdata", pg_->datadir(), "--pg", pg_->Conninfo()});
  pg_->Exec("INSERT INTO t SELECT generate_series(1, 1000)");
  SwitchAndWaitArchived();
  pg_->Exec("INSERT INTO t SELECT generate_series(1001, 2000)");
  std::string damaged = SwitchAndWaitArchived();
  pg_->Exec("INSERT INTO t SELECT generate_series(2001, 3000)");
  std::string target = pg_->Value("SELECT pg_current_wal_lsn()");
  SwitchAndWaitArchived();

  std::string object = ObjectPath(damaged);
  std::string good = ReadFile(object);
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x04;
  WriteFile(object, bad);
  RunResult refused = Pgvault({"wal-fetch", "--repo", repo_, damaged, tmp_ / "probe"});
  ASSERT_EQ(refused.exit_code, 126) << damaged << ": " << refused.err;

  std::string dir = tmp_ / "restored";
  PgvaultJson({"restore", "--repo", repo_, "--target", dir, "--target-lsn", target});
  std::ofstream(dir + "/postgresql.auto.conf", std::ios::app) << "archive_mode = off\nhot_standby = off\n";
  auto copy = PgCluster::Adopt(dir);
  // pg_ctl may report the start before replay reaches the damaged segment;
  // either way the server must then stop on its own, without promoting.
  try {
    copy->Start();
  } catch (const std::exception&) {
  }
  for (int i = 0; i < 600 && fs::exists(dir + "/postmaster.pid"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(fs::exists(dir + "/postmaster.pid")) << "recovery must stop at the damaged segment:\n" << copy->Log();
  std::string log = copy->Log();
  EXPECT_NE(log.find("wal-fetch " + damaged), std::string::npos) << log;
  EXPECT_NE(log.find("damaged"), std::string::npos) << log;
  EXPECT_EQ(log.find("selected new timeline"), std::string::npos) << "it must not end recovery early:\n" << log;

  // Repaired, the same directory recovers to the target with every row.
  WriteFile(object, good);
  copy->Start();
  // With hot_standby off, connections are refused until recovery has ended.
  for (int i = 0; i < 600; ++i) {
    try {
      if (copy->Value("SELECT pg_is_in_recovery()") == "f") break;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(copy->Value("SELECT count(*) || ' ' || sum(id) FROM t"), "3000 4501500");
}

TEST_F(WalArchive, PrefetchServesTheFollowingSegmentsFromTheSpool) {
  std::vector<std::string> names;
  for (int i = 0; i < 6; ++i) names.push_back(SwitchAndWaitArchived());
  for (size_t i = 1; i < names.size(); ++i)
    ASSERT_EQ(std::stoull(names[i].substr(16), nullptr, 16), std::stoull(names[i - 1].substr(16), nullptr, 16) + 1)
        << "the test needs consecutive segments: " << names[i - 1] << " " << names[i];
  // The exact bytes, fetched without prefetch.
  std::vector<std::string> expected;
  for (const auto& n : names) {
    ASSERT_EQ(Pgvault({"wal-fetch", "--repo", repo_, n, tmp_ / "plain"}).exit_code, 0);
    expected.push_back(ReadFile(tmp_ / "plain"));
  }
  std::string spool = tmp_ / "spool";
  auto fetch = [&](const std::string& name, const std::string& dest) {
    return Pgvault({"wal-fetch", "--repo", repo_, "--prefetch", "3", "--spool", spool, name, dest});
  };
  auto spooled = [&](const std::string& name) { return fs::exists(spool + "/prefetch/" + name); };
  auto wait_spooled = [&](const std::string& name) {
    for (int i = 0; i < 400 && !spooled(name); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    return spooled(name);
  };

  RunResult first = fetch(names[0], tmp_ / "seg0");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(ReadFile(tmp_ / "seg0"), expected[0]);
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(wait_spooled(names[i])) << names[i] << " was not prefetched";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(spooled(names[4])) << "prefetch goes no further than --prefetch segments ahead";

  // Served from the spool: even with the repository's copy gone.
  fs::remove(ObjectPath(names[1]));
  RunResult second = fetch(names[1], tmp_ / "seg1");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(ReadFile(tmp_ / "seg1"), expected[1]);
  EXPECT_FALSE(spooled(names[1])) << "taken by rename";

  // A spooled file that is not that segment (here: the next one's bytes) is
  // never handed out: wal-fetch removes it and reads the repository.
  WriteFile(spool + "/prefetch/" + names[2], expected[3]);
  RunResult third = fetch(names[2], tmp_ / "seg2");
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(ReadFile(tmp_ / "seg2"), expected[2]);

  // The window moves on: the next segments arrive, the ones behind are removed.
  EXPECT_TRUE(wait_spooled(names[5]));
  EXPECT_FALSE(spooled(names[0]));
  RunResult fourth = fetch(names[3], tmp_ / "seg3");
  ASSERT_EQ(fourth.exit_code, 0) << fourth.err;
  EXPECT_EQ(ReadFile(tmp_ / "seg3"), expected[3]);

  // The end of the archive is still "not archived" (exit 1, quiet).
  RunResult beyond = fetch("0000000100000000000000FF", tmp_ / "nope");
  EXPECT_EQ(beyond.exit_code, 1) << beyond.err;
  EXPECT_EQ(beyond.err, "");
}

TEST_F(WalArchive, KillNineDuringPushNeverLeavesAPartialSegment) {
  // Segments to push by hand, copied out of the archive into a fresh repository.
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) names.push_back(SwitchAndWaitArchived());
  std::string src = tmp_ / "src";
  fs::create_directories(src);
  for (const auto& n : names) ASSERT_EQ(Pgvault({"wal-fetch", "--repo", repo_, n, src + "/" + n}).exit_code, 0);
  std::string repo2 = tmp_ / "repo2";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo2}).exit_code, 0);

  std::mt19937 rng(12345);
  int killed_before_done = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const std::string& n = names[trial % names.size()];
    std::string object = repo2 + "/wal/" + n.substr(0, 16) + "/" + n;
    BackgroundProcess push({PGVAULT_BINARY, "wal-push", "--repo", repo2, src + "/" + n}, tmp_ / "push.log");
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40000)(rng)));
    if (push.Running()) ++killed_before_done;
    push.Signal(SIGKILL);
    push.Wait();
    // Either absent or complete and valid; never a partial object under the name.
    if (fs::exists(object)) {
      RunResult f = Pgvault({"wal-fetch", "--repo", repo2, n, tmp_ / "check"});
      ASSERT_EQ(f.exit_code, 0) << "trial " << trial << ": " << f.err;
      ASSERT_EQ(ReadFile(tmp_ / "check"), ReadFile(src + "/" + n));
    }
    // PostgreSQL's retry completes.
    RunResult retry = Pgvault({"wal-push", "--repo", repo2, src + "/" + n});
    ASSERT_EQ(retry.exit_code, 0) << retry.err;
    if (trial % 3 == 2) {
      // Start over for this name so later trials kill fresh pushes too.
      fs::remove(object);
    }
  }
  EXPECT_GE(killed_before_done, 5) << "too few kills landed while wal-push was running to mean anything";
  for (const auto& n : names) {
    ASSERT_EQ(Pgvault({"wal-push", "--repo", repo2, src + "/" + n}).exit_code, 0);
    ASSERT_EQ(Pgvault({"wal-fetch", "--repo", repo2, n, tmp_ / "final"}).exit_code, 0);
    EXPECT_EQ(ReadFile(tmp_ / "final"), ReadFile(src + "/" + n));
  }
}

TEST_F(WalArchive, BackupFromAStandbyWaitsForThePrimaryToArchiveItsEnd) {
  SwitchAndWaitArchived();
  auto standby = PgCluster::CreateStandby(*pg_, tmp_ / "standby");
  pg_->Exec("CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g");
  pg_->WaitForReplay(*standby);

  // No segment switch on the primary: the standby's backup cannot see its
  // end archived, keeps the backup with a warning, and fails.
  RunResult timeout = Pgvault({"backup", "--repo", repo_, "--pgdata", standby->datadir(), "--pg", standby->Conninfo(),
                               "--archive-timeout", "2"});
  EXPECT_EQ(timeout.exit_code, 1);
  EXPECT_NE(timeout.err.find("was not archived"), std::string::npos) << timeout.err;
  EXPECT_NE(timeout.err.find("standby"), std::string::npos) << timeout.err;
  auto list = PgvaultJson({"list", "--repo", repo_});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["status"], "warning");

  // With the primary switching segments, the backup completes once the
  // primary has archived the segment that holds its end.
  std::string log = tmp_ / "standby-backup.log";
  BackgroundProcess backup({PGVAULT_BINARY, "backup", "--repo", repo_, "--pgdata", standby->datadir(), "--pg",
                            standby->Conninfo(), "--json", "--archive-timeout", "120"},
                           log);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(backup.Running()) << "the backup did not wait for the archive";
  for (int i = 0; i < 100 && backup.Running(); ++i) {
    pg_->Exec("INSERT INTO t VALUES (1)");
    pg_->Exec("SELECT pg_switch_wal()");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_EQ(backup.Wait(), 0) << ReadFile(log);
  auto done = nlohmann::json::parse(ReadFile(log).substr(ReadFile(log).find('{')));
  EXPECT_EQ(done["status"], "complete") << done.dump();
  std::string stop_wal = done["stop_wal"];
  EXPECT_TRUE(fs::exists(ObjectPath(stop_wal))) << stop_wal;
}

TEST_F(WalArchive, CheckConfirmsArchivingAndNamesWhatIsWrong) {
  RunResult good = Pgvault({"check", "--repo", repo_, "--pg", pg_->Conninfo()});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("archived into"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("archive_timeout = 0"), std::string::npos) << "an unbounded RPO is a warning: " << good.out;

  // Archiving configured to a repository that does not exist: the switched
  // segment never arrives.
  pg_->Exec(std::string("ALTER SYSTEM SET archive_command = '") + PGVAULT_BINARY + " wal-push --repo " +
            (tmp_ / "elsewhere") + " %p'");
  pg_->Exec("ALTER SYSTEM SET archive_timeout = '60s'");
  pg_->Exec("SELECT pg_reload_conf()");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  RunResult broken = Pgvault({"check", "--repo", repo_, "--pg", pg_->Conninfo(), "--timeout", "3"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.out.find("does not name this repository"), std::string::npos) << broken.out;
  EXPECT_NE(broken.out.find("did not arrive"), std::string::npos) << broken.out;

  // No archiving at all.
  auto plain = PgCluster::Create(tmp_ / "plain");
  plain->Start();
  RunResult off = Pgvault({"check", "--repo", repo_, "--pg", plain->Conninfo(), "--json"});
  EXPECT_EQ(off.exit_code, 1);
  auto j = nlohmann::json::parse(off.out);
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_NE(off.out.find("archive_mode = off"), std::string::npos) << off.out;
}

TEST_F(WalArchive, WalListShowsRangesAndGaps) {
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) names.push_back(SwitchAndWaitArchived());
  auto before = PgvaultJson({"wal", "list", "--repo", repo_});
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0]["timeline"], 1);
  EXPECT_TRUE(before[0]["gaps"].empty()) << before.dump();
  fs::remove(ObjectPath(names[1]));
  auto after = PgvaultJson({"wal", "list", "--repo", repo_});
  ASSERT_EQ(after[0]["gaps"].size(), 1u) << after.dump();
  EXPECT_EQ(after[0]["gaps"][0], names[1] + ".." + names[1]);
  RunResult text = Pgvault({"wal", "list", "--repo", repo_});
  EXPECT_NE(text.out.find("GAP: " + names[1]), std::string::npos) << text.out;
  // With a backup before the gap, verify reports it: recovery cannot pass it.
  PgvaultJson({"backup", "--repo", repo_, "--pgdata", pg_->datadir(), "--pg", pg_->Conninfo()});
  RunResult clean = Pgvault({"verify", "--repo", repo_});
  EXPECT_EQ(clean.exit_code, 0) << "the gap lies before the backup: " << clean.err;
  std::string after_backup = SwitchAndWaitArchived();
  SwitchAndWaitArchived();
  fs::remove(ObjectPath(after_backup));
  RunResult gap = Pgvault({"verify", "--repo", repo_});
  EXPECT_EQ(gap.exit_code, 1) << gap.out;
  EXPECT_NE(gap.err.find(after_backup + " is missing"), std::string::npos) << gap.err;
}

// The 2026-12-07 fault campaign flipped bytes of a .backup file's header
// (system identifier, archiving time) and verify passed. Every header byte of
// every archived file is proven now: verify names each flip, and the archive
// verifies again once the byte is back.
TEST_F(WalArchive, VerifyNamesAFlipInAnyHeaderByteOfAnArchivedFile) {
  SwitchAndWaitArchived();  // the push (as postgres) binds the repository, not the backup (as root)
  PgvaultJson({"backup", "--repo", repo_, "--pgdata", pg_->datadir(), "--pg", pg_->Conninfo()});
  std::string segment = SwitchAndWaitArchived();
  std::string backup_file;
  for (const auto& e : fs::directory_iterator(repo_ + "/wal/" + segment.substr(0, 16)))
    if (e.path().filename().string().ends_with(".backup")) backup_file = e.path().filename();
  ASSERT_FALSE(backup_file.empty()) << "the backup archived no .backup file";
  ASSERT_EQ(Pgvault({"verify", "--repo", repo_}).exit_code, 0);
  // Reserved, size, digest, system identifier (first and last byte) and
  // archiving time (first and last byte).
  for (const std::string& name : {backup_file, segment})
    for (off_t at : {10, 16, 30, 56, 63, 64, 71}) {
      std::string object = ObjectPath(name);
      FlipByte(object, at);
      RunResult damaged = Pgvault({"verify", "--repo", repo_});
      EXPECT_EQ(damaged.exit_code, 1) << name << " byte " << at << " went unnoticed: " << damaged.out;
      EXPECT_NE(damaged.err.find("wal/" + name.substr(0, 16) + "/" + name), std::string::npos)
          << name << " byte " << at << ": " << damaged.err;
      RunResult fetch = Pgvault({"wal-fetch", "--repo", repo_, name, tmp_ / "fetched"});
      EXPECT_NE(fetch.exit_code, 0) << name << " byte " << at << " was handed out";
      EXPECT_FALSE(fs::exists(tmp_ / "fetched"));
      FlipByte(object, at);
    }
  RunResult repaired = Pgvault({"verify", "--repo", repo_});
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err;
}
