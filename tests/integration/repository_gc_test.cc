// delete-backup, gc and WAL expiry end to end on real PostgreSQL 15: the
// space of a deleted backup comes back, what is kept verifies and restores
// exactly (table checksums, pg_amcheck, pg_checksums), gc refuses when it
// cannot know what is referenced and while a backup runs, a kill -9 at any
// step of gc leaves a repository that verifies and restores, a restore
// running during gc is not disturbed, and WAL expiry removes exactly the WAL
// before a backup while a point-in-time recovery from it still works.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pg/lsn.h"
#include "repo/chunk_index.h"
#include "storage/posix_storage.h"
#include "support/dataset.h"
#include "support/file_bytes.h"
#include "support/object_store_backend.h"
#include "support/object_store_server.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr auto npos = std::string::npos;

struct Area {
  uint64_t files = 0, bytes = 0;
};
// Files under repo/<area> ending in `suffix`, and their bytes.
Area Measure(const std::string& repo, const std::string& area, const std::string& suffix) {
  Area a;
  if (!fs::exists(repo + "/" + area)) return a;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/" + area))
    if (e.is_regular_file() && e.path().string().ends_with(suffix)) {
      a.files++;
      a.bytes += e.file_size();
    }
  return a;
}

// Property L of the format (section 16.3): every pack an index file lists
// exists (verify alone would not notice: it reads other copies).
void ExpectNoIndexFileListsAMissingPack(const std::string& repo) {
  pgvault::PosixStorage storage(repo);
  for (const auto& o : storage.List("index"))
    for (const auto& p : pgvault::ReadIndexFile(storage, o.path))
      EXPECT_TRUE(storage.Exists(p.path)) << o.path << " lists " << p.path << ", which is gone";
}

// `mib` MiB of fresh random (incompressible) bytes in table `name`.
void AddRandomTable(PgCluster& pg, const std::string& name, int mib) {
  pg.Exec("CREATE TABLE " + name + " (id int PRIMARY KEY, payload bytea)");
  pg.Exec("ALTER TABLE " + name + " ALTER payload SET STORAGE EXTERNAL");
  pg.Exec("INSERT INTO " + name + " SELECT g, (SELECT string_agg(gen_random_bytes(1024), ''::bytea) "
          "FROM generate_series(1, 8) WHERE g > 0) FROM generate_series(1, " + std::to_string(mib * 128) + ") g");
}

std::vector<std::string> BackupArgs(const std::string& repo, PgCluster& pg) {
  return {"backup", "--repo", repo, "--pgdata", pg.datadir(), "--pg", pg.Conninfo()};
}

// Starts `pgvault args...` paused at `point` (PGVAULT_TEST_PAUSE_AT) and
// waits until it is there.
std::unique_ptr<BackgroundProcess> StartPaused(const std::vector<std::string>& args, const std::string& point,
                                               const std::string& log) {
  std::vector<std::string> argv = {PGVAULT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  setenv("PGVAULT_TEST_PAUSE_AT", point.c_str(), 1);
  auto process = std::make_unique<BackgroundProcess>(argv, log);
  unsetenv("PGVAULT_TEST_PAUSE_AT");
  for (int i = 0; i < 2400 && ReadFile(log).find("paused at " + point) == npos; ++i) {
    if (!process->Running()) {
      ADD_FAILURE() << "pgvault ended before reaching " << point << ": " << ReadFile(log);
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(ReadFile(log).find("paused at " + point), npos) << ReadFile(log);
  return process;
}

// Restores `id` into `dir`, starts it, and checks the given tables against
// the source's checksums, then pg_amcheck and pg_checksums (leaves it stopped).
void RestoreAndCheck(const std::string& repo, const std::string& id, const std::string& dir,
                     const std::map<std::string, std::string>& sums, const std::string& absent_table) {
  auto restore = PgvaultJson({"restore", "--repo", repo, "--backup", id, "--target", dir});
  EXPECT_EQ(restore["backup_id"], id);
  auto restored = PgCluster::Adopt(dir);
  restored->Start();
  for (const auto& [table, sum] : sums) EXPECT_EQ(TableChecksum(*restored, table), sum) << table;
  if (!absent_table.empty()) {
    EXPECT_EQ(restored->Value("SELECT count(*)::text FROM pg_class WHERE relname = '" + absent_table + "'"), "0");
  }
  ExpectAmcheckAndChecksumsClean(*restored);
}

// A primary, a repository of 64 KiB chunks in 1 MiB packs (so that packs mix
// chunks of several files, and some become partly garbage), and two backups: B1 holds
// only_in_b1 (16 MiB of random bytes), dropped before B2; B2 holds
// only_in_b2 (2 MiB) and pgbench rows updated in between.
struct TwoBackups {
  TempDir tmp;
  std::unique_ptr<PgCluster> pg;
  std::string repo;
  json b1, b2;
  std::map<std::string, std::string> sums;  // of B2's tables, at B2

  TwoBackups() {
    pg = PgCluster::Create(tmp / "primary");
    pg->Start();
    BuildDataset(*pg, 2, 4, "");
    repo = tmp / "repo";
    EXPECT_EQ(Pgvault({"repo", "init", "--repo", repo, "--chunk-size", "65536", "--pack-size", "1048576"}).exit_code, 0);
    AddRandomTable(*pg, "only_in_b1", 16);
    pg->Exec("CHECKPOINT");
    b1 = PgvaultJson(BackupArgs(repo, *pg));
    pg->Exec("DROP TABLE only_in_b1");
    pg->Exec("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 50 = 0");
    AddRandomTable(*pg, "only_in_b2", 2);
    pg->Exec("CHECKPOINT");
    b2 = PgvaultJson(BackupArgs(repo, *pg));
    for (const char* t : {"random_bytes", "only_in_b2", "pgbench_accounts", "pgbench_branches"})
      sums[t] = TableChecksum(*pg, t);
  }
};

}  // namespace

TEST(RepositoryGc, DeletingABackupAndGcReclaimItsDataWhileTheOtherRestoresExactly) {
  TwoBackups s;
  const std::string& repo = s.repo;
  std::string b1 = s.b1["id"], b2 = s.b2["id"];
  Area packs_before = Measure(repo, "packs", ".pack"), index_before = Measure(repo, "index", ".json.zst");

  // Nothing is garbage while both backups are kept.
  json idle = PgvaultJson({"repo", "gc", "--repo", repo});
  EXPECT_EQ(idle["packs_removed"], 0);
  EXPECT_EQ(idle["packs_repacked"], 0);
  EXPECT_EQ(idle["bytes_reclaimed"], 0);
  EXPECT_EQ(Measure(repo, "packs", ".pack").bytes, packs_before.bytes);

  // An id that does not exist: refused, naming the ones that do.
  RunResult unknown = Pgvault({"repo", "delete-backup", "--repo", repo, "20000101T000000F"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("backup '20000101T000000F' does not exist"), npos) << unknown.err;
  EXPECT_NE(unknown.err.find(b1 + ", " + b2), npos) << unknown.err;

  json deleted = PgvaultJson({"repo", "delete-backup", "--repo", repo, b1});
  EXPECT_EQ(deleted["id"], b1);
  EXPECT_EQ(deleted["readable"], true);
  EXPECT_EQ(deleted["backups_left"], 1);
  json list = PgvaultJson({"list", "--repo", repo});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], b2);
  EXPECT_FALSE(fs::exists(repo + "/backups/" + b1));
  EXPECT_EQ(Measure(repo, "packs", ".pack").bytes, packs_before.bytes) << "delete-backup removed packs";

  json dry = PgvaultJson({"repo", "gc", "--repo", repo, "--dry-run", "--repack-threshold", "0"});
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(Measure(repo, "packs", ".pack").bytes, packs_before.bytes) << "a dry run removed packs";

  // A restore of B2 that loaded the index before gc runs, and reads every
  // chunk after gc removed and repacked packs under it.
  auto restore = StartPaused({"restore", "--repo", repo, "--backup", b2, "--target", s.tmp / "during_gc", "--jobs",
                              "2", "--json", "--log-level", "info"},
                             "restore-index-loaded", s.tmp / "restore-during-gc.log");
  ASSERT_NE(restore, nullptr);

  // Every partly used pack repacked, so that the restore finds chunks moved.
  json gc = PgvaultJson({"repo", "gc", "--repo", repo, "--repack-threshold", "0"});
  Area packs_after = Measure(repo, "packs", ".pack"), index_after = Measure(repo, "index", ".json.zst");
  EXPECT_GT(gc["packs_repacked"].get<uint64_t>(), 0u) << gc.dump(2);
  EXPECT_EQ(gc["packs_removed"].get<uint64_t>() + gc["packs_repacked"].get<uint64_t>(),
            packs_before.files - packs_after.files + gc["packs_written"].get<uint64_t>());
  // The same once more, as JSON: nothing left to do, and what it measured.
  json again = PgvaultJson({"repo", "gc", "--repo", repo});
  EXPECT_EQ(again["packs_removed"], 0) << again.dump(2);
  EXPECT_EQ(again["packs_repacked"], 0) << again.dump(2);
  EXPECT_EQ(again["bytes_examined"].get<uint64_t>(), packs_after.bytes);

  // B1's unique data was 16 MiB of random bytes (plus its own WAL and the
  // pgbench pages changed since): that much came back, and not much more.
  uint64_t reclaimed = (packs_before.bytes + index_before.bytes) - (packs_after.bytes + index_after.bytes);
  // B1's 4 MiB of random_bytes are B2's too: never reclaimable. B2's 6 MiB
  // of random bytes (random_bytes, only_in_b2) must still be stored.
  EXPECT_GE(reclaimed, 15u << 20) << "packs " << packs_before.bytes << " -> " << packs_after.bytes;
  EXPECT_LE(reclaimed, s.b1["stored_size"].get<uint64_t>() - (4u << 20));
  EXPECT_GE(packs_after.bytes, 6u << 20) << "more than B1's data went";
  EXPECT_EQ(gc["bytes_reclaimed"].get<uint64_t>(), reclaimed) << gc.dump(2);
  EXPECT_EQ(gc["bytes_referenced"].get<uint64_t>() + gc["bytes_unreferenced_kept"].get<uint64_t>(),
            again["bytes_referenced"].get<uint64_t>() + again["bytes_unreferenced_kept"].get<uint64_t>());
  // The dry run planned exactly this, and estimated the space within 5 %.
  EXPECT_EQ(dry["packs_removed"], gc["packs_removed"]);
  EXPECT_EQ(dry["packs_repacked"], gc["packs_repacked"]);
  EXPECT_EQ(dry["chunks_repacked"], gc["chunks_repacked"]);
  EXPECT_NEAR(static_cast<double>(dry["bytes_reclaimed"].get<uint64_t>()), static_cast<double>(reclaimed),
              0.05 * static_cast<double>(reclaimed));

  // The restore that ran across gc finished with B2's exact data.
  restore->Signal(SIGCONT);
  EXPECT_EQ(restore->Wait(), 0) << ReadFile(s.tmp / "restore-during-gc.log");
  // It had opened no pack yet, and gc repacked packs holding B2's chunks.
  EXPECT_NE(ReadFile(s.tmp / "restore-during-gc.log").find("reloading the index"), npos)
      << ReadFile(s.tmp / "restore-during-gc.log");
  {
    auto restored = PgCluster::Adopt(s.tmp / "during_gc");
    restored->Start();
    for (const auto& [table, sum] : s.sums) EXPECT_EQ(TableChecksum(*restored, table), sum) << table;
  }

  RunResult verify = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  RestoreAndCheck(repo, b2, s.tmp / "restored", s.sums, "only_in_b1");

  // Both gone: gc leaves no pack and no index file.
  RunResult text = Pgvault({"repo", "delete-backup", "--repo", repo, b2});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("deleted backup " + b2), npos) << text.out;
  text = Pgvault({"repo", "gc", "--repo", repo});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("reclaimed"), npos) << text.out;
  EXPECT_EQ(Measure(repo, "packs", ".pack").files, 0u) << text.out;
  EXPECT_EQ(Measure(repo, "index", ".json.zst").files, 0u);
  EXPECT_TRUE(fs::is_empty(repo + "/backups"));
  EXPECT_EQ(PgvaultJson({"list", "--repo", repo}).size(), 0u);
  // And the repository takes backups again.
  auto b3 = PgvaultJson(BackupArgs(repo, *s.pg));
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
}

TEST(RepositoryGc, RefusesWhileABackupHoldsTheLockAndWhenAManifestCannotBeRead) {
  TwoBackups s;
  const std::string& repo = s.repo;
  std::string b1 = s.b1["id"], b2 = s.b2["id"];

  // A backup in progress holds the writer lock for its whole run: gc and
  // delete-backup refuse at once, naming it, rather than wait an unknown time.
  auto backup = StartPaused(BackupArgs(repo, *s.pg), "backup-copying", s.tmp / "backup.log");
  ASSERT_NE(backup, nullptr);
  auto tree = TreeListing(repo);
  RunResult gc = Pgvault({"repo", "gc", "--repo", repo});
  EXPECT_EQ(gc.exit_code, 1);
  EXPECT_NE(gc.err.find("is locked by another pgvault process"), npos) << gc.err;
  EXPECT_NE(gc.err.find("'backup'"), npos) << gc.err;
  RunResult del = Pgvault({"repo", "delete-backup", "--repo", repo, b1});
  EXPECT_EQ(del.exit_code, 1);
  EXPECT_NE(del.err.find("is locked"), npos) << del.err;
  EXPECT_EQ(TreeListing(repo), tree) << "a refused gc or delete-backup touched the repository";
  backup->Signal(SIGCONT);
  ASSERT_EQ(backup->Wait(), 0) << ReadFile(s.tmp / "backup.log");
  EXPECT_EQ(PgvaultJson({"list", "--repo", repo}).size(), 3u);

  // B1 deleted, B2's manifest torn: gc cannot know what B2 references.
  PgvaultJson({"repo", "delete-backup", "--repo", repo, b1});
  std::string manifest = repo + "/backups/" + b2 + "/manifest.json";
  std::string original = ReadFile(manifest);
  fs::resize_file(manifest, original.size() / 2);
  tree = TreeListing(repo);
  gc = Pgvault({"repo", "gc", "--repo", repo});
  EXPECT_EQ(gc.exit_code, 1);
  EXPECT_NE(gc.err.find("backup " + b2), npos) << gc.err;
  EXPECT_NE(gc.err.find("removes nothing"), npos) << gc.err;
  EXPECT_NE(gc.err.find("repo delete-backup --repo " + repo + " " + b2), npos) << gc.err;
  EXPECT_EQ(TreeListing(repo), tree) << "a refused gc changed the repository";
  EXPECT_EQ(Pgvault({"repo", "gc", "--repo", repo, "--dry-run"}).exit_code, 1) << "a dry run must refuse too";
  // A file list that does not match its manifest: the same.
  std::ofstream(manifest, std::ios::trunc) << original;
  std::string files = repo + "/backups/" + b2 + "/files.json.zst";
  std::string files_original = ReadFile(files);
  std::ofstream(files, std::ios::trunc | std::ios::binary) << files_original.substr(0, files_original.size() - 1) << 'x';
  tree = TreeListing(repo);
  gc = Pgvault({"repo", "gc", "--repo", repo});
  EXPECT_EQ(gc.exit_code, 1);
  EXPECT_NE(gc.err.find("file list of backup " + b2), npos) << gc.err;
  EXPECT_EQ(TreeListing(repo), tree);

  // Repaired: gc runs, everything verifies, B2 restores.
  std::ofstream(files, std::ios::trunc | std::ios::binary) << files_original;
  json report = PgvaultJson({"repo", "gc", "--repo", repo});
  EXPECT_GT(report["bytes_reclaimed"].get<uint64_t>(), 15u << 20) << report.dump(2);
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);

  // A backup whose manifest cannot be read can still be deleted, by id.
  fs::resize_file(manifest, original.size() / 2);
  json deleted = PgvaultJson({"repo", "delete-backup", "--repo", repo, b2});
  EXPECT_EQ(deleted["readable"], false);
  EXPECT_NE(deleted["error"].get<std::string>().find("manifest.json"), npos) << deleted;
  EXPECT_EQ(PgvaultJson({"list", "--repo", repo}).size(), 1u);
  EXPECT_EQ(Pgvault({"repo", "gc", "--repo", repo}).exit_code, 0);
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
}

TEST(RepositoryGc, KillNineAtEveryStepOfGcAndDeleteLeavesARepositoryThatVerifiesAndRestores) {
  TwoBackups s;
  const std::string& repo = s.repo;
  std::string b1 = s.b1["id"], b2 = s.b2["id"];

  // delete-backup killed between its uncommit and the rest: B1 is gone for
  // every reader, and the leftover directory goes with the next lock holder.
  auto del = StartPaused({"repo", "delete-backup", "--repo", repo, b1}, "delete-backup-uncommitted",
                         s.tmp / "delete.log");
  ASSERT_NE(del, nullptr);
  del->Signal(SIGKILL);
  EXPECT_EQ(del->Wait(), -SIGKILL);
  EXPECT_TRUE(fs::exists(repo + "/backups/" + b1 + "/files.json.zst"));
  json list = PgvaultJson({"list", "--repo", repo});
  ASSERT_EQ(list.size(), 1u) << list.dump(2);
  EXPECT_EQ(list[0]["id"], b2);
  RunResult verify = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;

  Area packs_before = Measure(repo, "packs", ".pack");
  // gc killed at each of its steps, one after the other on the same
  // repository: each run starts from what the previous left.
  for (const std::string point : {"gc-packs-written", "gc-index-written", "gc-index-removed", "gc-packs-half-removed"}) {
    SCOPED_TRACE(point);
    auto gc = StartPaused({"repo", "gc", "--repo", repo, "--repack-threshold", "0"}, point,
                          s.tmp / ("gc-" + point + ".log"));
    ASSERT_NE(gc, nullptr);
    gc->Signal(SIGKILL);
    EXPECT_EQ(gc->Wait(), -SIGKILL);
    list = PgvaultJson({"list", "--repo", repo});
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["id"], b2);
    verify = Pgvault({"verify", "--repo", repo});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    ExpectNoIndexFileListsAMissingPack(repo);
  }
  EXPECT_FALSE(fs::exists(repo + "/backups/" + b1)) << "the interrupted delete's directory is still there";
  EXPECT_LT(Measure(repo, "packs", ".pack").bytes, packs_before.bytes) << "the killed gc runs removed nothing";

  // A complete run finishes the job, then finds nothing more.
  PgvaultJson({"repo", "gc", "--repo", repo, "--repack-threshold", "0"});
  json again = PgvaultJson({"repo", "gc", "--repo", repo, "--repack-threshold", "0"});
  EXPECT_EQ(again["packs_removed"].get<uint64_t>() + again["packs_repacked"].get<uint64_t>(), 0u) << again.dump(2);
  EXPECT_EQ(again["orphan_packs"], 0) << again.dump(2);
  EXPECT_LT(Measure(repo, "packs", ".pack").bytes, packs_before.bytes - (15u << 20));
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
  RestoreAndCheck(repo, b2, s.tmp / "restored", s.sums, "only_in_b1");
  // The repository takes a new backup that reuses what gc kept.
  auto b3 = PgvaultJson(BackupArgs(repo, *s.pg));
  EXPECT_LT(b3["stored_size"].get<uint64_t>(), 4u << 20) << b3.dump(2);
}

TEST(RepositoryGc, WalExpiryRemovesExactlyTheWalBeforeTheKeptBackupAndPitrFromItStillWorks) {
  TempDir tmp;
  std::string repo = tmp / "repo";
  RunAsPostgresOk({PGVAULT_BINARY, "repo", "init", "--repo", repo});
  auto pg = PgCluster::Create(
      tmp / "primary",
      {"archive_mode = on", std::string("archive_command = '") + PGVAULT_BINARY + " wal-push --repo " + repo + " %p'"});
  pg->Start();
  pg->Exec("CREATE TABLE marker (id int PRIMARY KEY)");
  int next = 1;
  // Three markers, each in a segment of its own.
  auto markers = [&](int n) {
    for (int i = 0; i < n; ++i) {
      pg->Exec("INSERT INTO marker VALUES (" + std::to_string(next++) + ")");
      pg->Exec("SELECT pg_switch_wal()");
    }
  };
  auto wait_archived = [&](PgCluster& server) {
    std::string last = server.Value("SELECT pg_walfile_name(pg_switch_wal())");
    for (int i = 0; i < 600; ++i) {
      if (server.Value("SELECT coalesce(last_archived_wal, '') >= '" + last + "' FROM pg_stat_archiver") == "t") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "segment " << last << " was not archived";
  };
  markers(3);
  json b1 = PgvaultJson(BackupArgs(repo, *pg));
  markers(3);
  json b2 = PgvaultJson(BackupArgs(repo, *pg));
  markers(3);  // 1..9
  std::string lsn_after_9 = pg->Value("SELECT pg_current_wal_insert_lsn()::text");
  markers(1);  // 10, after the PITR target
  wait_archived(*pg);

  // Timeline 2: a copy of B2 recovered to marker 7 and promoted archives its
  // .history file and its segments into the same repository.
  PgvaultJson({"restore", "--repo", repo, "--backup", b2["id"], "--target", tmp / "tl2", "--target-xid",
               pg->Value("SELECT xmin::text FROM marker WHERE id = 7")});
  auto tl2 = PgCluster::Adopt(tmp / "tl2");
  tl2->Start();
  for (int i = 0; i < 600 && tl2->Value("SELECT pg_is_in_recovery()::text") == "true"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(tl2->Value("SELECT timeline_id::text FROM pg_control_checkpoint()"), "2");
  tl2->Exec("INSERT INTO marker VALUES (1001)");
  wait_archived(*tl2);
  tl2->Stop();
  ASSERT_TRUE(fs::exists(repo + "/wal/history/00000002.history"));

  PgvaultJson({"repo", "delete-backup", "--repo", repo, b1["id"]});
  // Every archived file, and which go by the rule: the segment its name
  // gives is before the segment holding B2's start LSN (16 MiB segments).
  uint64_t cut = pgvault::ParseLsn(b2["start_lsn"]) / (16u << 20);
  std::set<std::string> before, expected_gone;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/wal")) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();
    if (name.starts_with(".tmp-")) continue;  // a wal-push in flight
    before.insert(name);
    if (name.size() >= 24 && name.find(".history") == npos &&
        std::stoull(name.substr(8, 8), nullptr, 16) * 256 + std::stoull(name.substr(16, 8), nullptr, 16) < cut)
      expected_gone.insert(name);
  }
  std::string b1_backup_file;
  for (const auto& n : expected_gone)
    if (n.ends_with(".backup")) b1_backup_file = n;
  ASSERT_FALSE(b1_backup_file.empty()) << "B1's .backup file is not before the cut";
  ASSERT_GE(expected_gone.size(), 4u);
  // (No .partial here: PostgreSQL makes one of the old timeline's last
  // segment only when it was not restored from the archive, as after a
  // standby's promotion. The unit tests cover .partial names.)

  // By LSN and by segment name, dry runs: the same, and nothing removed.
  json dry = PgvaultJson({"wal", "expire", "--repo", repo, "--before", b2["start_lsn"], "--dry-run"});
  json dry_name = PgvaultJson({"wal", "expire", "--repo", repo, "--before", b2["start_wal"], "--dry-run"});
  EXPECT_EQ(dry["segments_removed"], dry_name["segments_removed"]);
  EXPECT_EQ(dry["segments_removed"].get<uint64_t>() + dry["backup_files_removed"].get<uint64_t>() +
                dry["partial_removed"].get<uint64_t>(),
            expected_gone.size());
  size_t files_now = 0;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/wal")) files_now += e.is_regular_file();
  EXPECT_EQ(files_now, before.size()) << "a dry run removed WAL";
  RunResult bad = Pgvault({"wal", "expire", "--repo", repo, "--before", "yesterday"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;

  json report = PgvaultJson({"wal", "expire", "--repo", repo, "--before", b2["start_lsn"]});
  EXPECT_EQ(report["history_files"], 1);
  EXPECT_EQ(report["backups_losing_pitr"].size(), 0u) << report.dump(2);
  std::set<std::string> after;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/wal"))
    if (e.is_regular_file() && !e.path().filename().string().starts_with(".tmp-"))
      after.insert(e.path().filename().string());
  std::set<std::string> expected_after;
  for (const auto& n : before)
    if (!expected_gone.count(n)) expected_after.insert(n);
  EXPECT_EQ(after, expected_after);
  EXPECT_TRUE(after.count("00000002.history"));
  EXPECT_TRUE(after.count(b2["start_wal"].get<std::string>())) << "the segment holding B2's start went";

  // The archive is whole from B2 on: verify, and recovery from B2 along
  // timeline 1 to marker 9, and along timeline 2 (which needs the history file).
  RunResult verify = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  auto recover = [&](const std::string& dir, const std::vector<std::string>& target) {
    std::vector<std::string> args = {"restore", "--repo", repo, "--backup", b2["id"], "--target", tmp / dir};
    args.insert(args.end(), target.begin(), target.end());
    PgvaultJson(args);
    std::ofstream(tmp / dir + "/postgresql.auto.conf", std::ios::app) << "archive_mode = off\n";
    auto copy = PgCluster::Adopt(tmp / dir);
    copy->Start();
    for (int i = 0; i < 600 && copy->Value("SELECT pg_is_in_recovery()::text") == "true"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::string ids = copy->Value("SELECT string_agg(id::text, ',' ORDER BY id) FROM marker");
    if (ids.empty()) ADD_FAILURE() << copy->Log();
    return ids;
  };
  EXPECT_EQ(recover("pitr_tl1", {"--target-lsn", lsn_after_9, "--target-timeline", "1"}), "1,2,3,4,5,6,7,8,9");
  EXPECT_EQ(recover("pitr_tl2", {"--target-timeline", "latest"}), "1,2,3,4,5,6,7,1001");
}

// The same through the object-store Storage (Swift's S3 API): removals are
// DELETEs, there are no directories, and the lock is a lease.
TEST(RepositoryGc, OnAnObjectStoreDeleteAndGcReclaimAndTheOtherBackupRestores) {
  if (auto why = SwiftUnavailable()) GTEST_SKIP() << "SKIPPED (object-store tests): " << *why;
  auto backend = ObjectStoreBackend::Start("swift");
  TempDir tmp;
  std::string creds = backend->WriteCredentialsFile("creds");
  std::string repo = backend->Url("gc");
  auto pv = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--repo-credentials", creds});
    return args;
  };
  ASSERT_EQ(Pgvault(pv({"repo", "init", "--repo", repo, "--chunk-size", "65536", "--pack-size", "1048576"})).exit_code,
            0);
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 1, 2, "");
  AddRandomTable(*pg, "only_in_b1", 8);
  pg->Exec("CHECKPOINT");
  json b1 = PgvaultJson(pv(BackupArgs(repo, *pg)));
  pg->Exec("DROP TABLE only_in_b1");
  pg->Exec("CHECKPOINT");
  json b2 = PgvaultJson(pv(BackupArgs(repo, *pg)));
  std::map<std::string, std::string> sums;
  for (const char* t : {"random_bytes", "pgbench_accounts"}) sums[t] = TableChecksum(*pg, t);

  json before = PgvaultJson(pv({"repo", "gc", "--repo", repo, "--dry-run"}));
  PgvaultJson(pv({"repo", "delete-backup", "--repo", repo, b1["id"]}));
  json gc = PgvaultJson(pv({"repo", "gc", "--repo", repo, "--repack-threshold", "0"}));
  EXPECT_GT(gc["bytes_reclaimed"].get<uint64_t>(), 7u << 20) << gc.dump(2);
  json after = PgvaultJson(pv({"repo", "gc", "--repo", repo}));
  EXPECT_EQ(after["packs_removed"].get<uint64_t>() + after["packs_repacked"].get<uint64_t>(), 0u) << after.dump(2);
  EXPECT_EQ(after["bytes_examined"].get<uint64_t>(),
            before["bytes_examined"].get<uint64_t>() - gc["bytes_removed"].get<uint64_t>() -
                gc["bytes_repacked"].get<uint64_t>() + gc["bytes_written"].get<uint64_t>());
  RunResult verify = Pgvault(pv({"verify", "--repo", repo}));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  PgvaultJson(pv({"restore", "--repo", repo, "--backup", b2["id"], "--target", tmp / "restored"}));
  auto restored = PgCluster::Adopt(tmp / "restored");
  restored->Start();
  for (const auto& [table, sum] : sums) EXPECT_EQ(TableChecksum(*restored, table), sum) << table;
  EXPECT_EQ(restored->Value("SELECT count(*)::text FROM pg_class WHERE relname = 'only_in_b1'"), "0");
}
