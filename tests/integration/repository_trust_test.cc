// Issue 14's holes in the repository's metadata, end to end on a real
// cluster: a backup never reuses a chunk whose copy is lost or damaged, a
// damaged index file is quarantined while everything else stays usable, an
// edited manifest is found, and numbers no pgvault could have written are
// damage, not a crash.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "storage/posix_storage.h"
#include "support/dataset.h"
#include "support/file_bytes.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/repository_surgery.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr auto npos = std::string::npos;

// Pack files, largest first.
std::vector<std::string> PacksBySize(const std::string& repo) {
  std::vector<std::pair<uintmax_t, std::string>> packs;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/packs"))
    if (e.is_regular_file() && e.path().extension() == ".pack") packs.emplace_back(e.file_size(), e.path().string());
  std::sort(packs.rbegin(), packs.rend());
  std::vector<std::string> out;
  for (auto& [size, path] : packs) out.push_back(path);
  return out;
}

std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path().string());
  return out;
}

// Restores `backup` into `target`, starts it, and compares its static tables
// with the source's.
void ExpectRestoresExactly(const std::string& repo, const std::string& backup, const std::string& target,
                           const std::map<std::string, std::string>& expected) {
  RunResult restore = Pgvault({"restore", "--repo", repo, "--backup", backup, "--target", target});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  auto restored = PgCluster::Adopt(target);
  restored->Start();
  EXPECT_EQ(StaticChecksums(*restored, false), expected);
  restored->Stop();
}

}  // namespace

// Point 4: a pack removed and a byte flipped in another, then a backup: the
// new backup stores those chunks again, verifies and restores exactly.
TEST(RepositoryTrust, ANewBackupNeverReusesALostOrDamagedChunk) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 1, 6, "");
  auto expected = StaticChecksums(*pg, false);
  std::string repo = tmp / "repo";
  // Small packs: one lost pack costs a few chunks, not the whole backup.
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo, "--pack-size", "1048576"}).exit_code, 0);
  std::vector<std::string> backup = {"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()};
  std::string first = PgvaultJson(backup)["id"];
  auto packs = PacksBySize(repo);
  ASSERT_GE(packs.size(), 4u);
  fs::remove(packs[0]);
  FlipByte(packs[1], static_cast<off_t>(fs::file_size(packs[1]) / 2));

  RunResult second = Pgvault({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo(), "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find(fs::path(packs[0]).filename().string() + " cannot be trusted (it is missing)"), npos)
      << second.err;
  EXPECT_NE(second.err.find("this backup stores it again"), npos) << second.err;
  std::string second_id = json::parse(second.out)["id"];

  RunResult latest = Pgvault({"verify", "--repo", repo, "--backup", "latest"});
  EXPECT_EQ(latest.exit_code, 0) << latest.out << latest.err;
  // The chunks stored again are copies the first backup's readers fall back
  // on: it is whole again too (the source did not change in between).
  RunResult all = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(all.exit_code, 0) << all.out << all.err;
  ExpectRestoresExactly(repo, second_id, tmp / "restored", expected);
  ExpectRestoresExactly(repo, first, tmp / "first", expected);

  // With --reuse-check pack, lost packs are still caught (a flipped byte is
  // not: that is what "read" is for). Every pack: whichever copy of a chunk
  // the index names first is gone.
  for (const auto& pack : PacksBySize(repo)) fs::remove(pack);
  RunResult third = Pgvault({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo(),
                             "--reuse-check", "pack", "--json"});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_NE(third.err.find("cannot be trusted (it is missing)"), npos) << third.err;
  EXPECT_EQ(Pgvault({"verify", "--repo", repo, "--backup", "latest"}).exit_code, 0);
}

// Point 6: one damaged index file blocks nothing: restore, verify (with its
// summary), a new backup (which quarantines it) and gc all work.
TEST(RepositoryTrust, ADamagedIndexFileIsQuarantinedAndTheRestStaysUsable) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 1, 2, "");
  auto expected = StaticChecksums(*pg, false);
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  std::vector<std::string> backup = {"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()};
  std::string first = PgvaultJson(backup)["id"];
  auto index_files = FilesUnder(repo + "/index");
  ASSERT_EQ(index_files.size(), 1u);
  std::string damaged = index_files[0];
  std::string damaged_object = "index/" + fs::path(damaged).filename().string();
  FlipByte(damaged, static_cast<off_t>(fs::file_size(damaged) / 2));

  ExpectRestoresExactly(repo, first, tmp / "restored", expected);

  RunResult verify = Pgvault({"verify", "--repo", repo, "--json"});
  EXPECT_EQ(verify.exit_code, 1) << verify.err;
  json v = json::parse(verify.out);
  EXPECT_EQ(v["backups"], 1);
  EXPECT_GT(v["chunks_checked"].get<uint64_t>(), 0u);
  ASSERT_EQ(v["problems"].size(), 1u) << v.dump(2);
  EXPECT_EQ(v["problems"][0]["path"], damaged_object);
  EXPECT_NE(v["problems"][0]["message"].get<std::string>().find("does not match its name"), npos) << v.dump(2);

  pg->Exec("CREATE TABLE after_the_damage AS SELECT 1 AS x");
  RunResult second = Pgvault({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo(), "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_FALSE(fs::exists(damaged)) << "the damaged index file is still in index/";
  EXPECT_TRUE(fs::exists(repo + "/quarantine/" + damaged_object));
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
  ASSERT_EQ(Pgvault({"repo", "gc", "--repo", repo}).exit_code, 0);
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
  ExpectRestoresExactly(repo, first, tmp / "again", expected);

  // gc quarantines too, without a backup first.
  index_files = FilesUnder(repo + "/index");
  ASSERT_FALSE(index_files.empty());
  FlipByte(index_files[0], 10);
  RunResult gc = Pgvault({"repo", "gc", "--repo", repo});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_FALSE(fs::exists(index_files[0]));
  RunResult after_gc = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(after_gc.exit_code, 0) << after_gc.out << after_gc.err << "\ngc said: " << gc.err;
}

// Point 5: the manifest, the stored backup_label inside it, the file list and
// config.json are each checked; an edit is refused before anything is written.
TEST(RepositoryTrust, AnEditedManifestFileListOrConfigIsFoundAndRefused) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 1, 1, "");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  std::string id = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()})["id"];
  std::string manifest = repo + "/backups/" + id + "/manifest.json";
  const std::string original = ReadFile(manifest);

  // The CHECKPOINT LOCATION of the stored backup_label, as the adversarial test did.
  size_t at = original.find("CHECKPOINT LOCATION: ");
  ASSERT_NE(at, npos);
  std::string edited = original;
  size_t digit = at + std::string("CHECKPOINT LOCATION: ").size();
  edited[digit] = edited[digit] == '0' ? '1' : '0';
  WriteFile(manifest, edited);
  RunResult verify = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.err.find("manifest.json is damaged (checksum mismatch)"), npos) << verify.err;
  RunResult restore = Pgvault({"restore", "--repo", repo, "--backup", id, "--target", tmp / "r1"});
  EXPECT_NE(restore.exit_code, 0);
  EXPECT_NE(restore.err.find("checksum mismatch"), npos) << restore.err;
  EXPECT_FALSE(fs::exists(tmp / "r1"));
  WriteFile(manifest, original);
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);

  // A byte of the file list.
  std::string files = repo + "/backups/" + id + "/files.json.zst";
  FlipByte(files, static_cast<off_t>(fs::file_size(files) / 2));
  verify = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_NE(verify.err.find("files.json.zst is damaged (checksum mismatch)"), npos) << verify.err;
  FlipByte(files, static_cast<off_t>(fs::file_size(files) / 2));

  // config.json: a changed repository id is damage too.
  std::string config = repo + "/config.json";
  std::string text = ReadFile(config);
  size_t rid = text.find("\"repository_id\": \"");
  ASSERT_NE(rid, npos);
  std::string changed = text;
  char& c = changed[rid + std::string("\"repository_id\": \"").size()];
  c = c == 'a' ? 'b' : 'a';
  WriteFile(config, changed);
  RunResult list = Pgvault({"list", "--repo", repo});
  EXPECT_NE(list.exit_code, 0);
  EXPECT_NE(list.err.find("config.json is damaged (checksum mismatch)"), npos) << list.err;
  WriteFile(config, text);
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
}

// Point 3: "wal_segment_size": 0 (sealed again, as a careful forger would) is
// damage named by verify, wal list and restore, not SIGFPE.
TEST(RepositoryTrust, ImpossibleNumbersInAManifestAreDamageNotACrash) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  json b = PgvaultJson({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  std::string id = b["id"];
  std::string manifest = repo + "/backups/" + id + "/manifest.json";
  const std::string original = ReadFile(manifest);
  const std::pair<const char*, json> impossible[] = {
      {"wal_segment_size", 0}, {"wal_segment_size", 3000000}, {"chunk_size", 0}, {"timeline", 0},
      {"timeline", -1},        {"chunk_size", 1e30},         {"stop_lsn", "-1/0"}};
  for (const auto& [key, value] : impossible) {
    SCOPED_TRACE(std::string(key) + " = " + value.dump());
    json j = json::parse(original);
    j[key] = value;
    pgvault::PosixStorage storage(repo);
    ReplaceManifest(storage, id, j);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"verify", "--repo", repo}, {"wal", "list", "--repo", repo},
          {"restore", "--repo", repo, "--target", tmp / "never", "--target-lsn", b["stop_lsn"].get<std::string>()},
          {"restore", "--repo", repo, "--backup", id, "--target", tmp / "never"}}) {
      RunResult r = Pgvault(args);
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1 || r.exit_code == 2)
          << args[0] << " exited " << r.exit_code << "\n" << r.err;
      if (args[0] != "wal") {
        EXPECT_NE(r.exit_code, 0) << args[0];
        EXPECT_NE(r.err.find("manifest.json is damaged: " + std::string(key)), npos) << args[0] << ": " << r.err;
      }
    }
    EXPECT_FALSE(fs::exists(tmp / "never"));
  }
}

// Point 5: the newest manifest deleted by hand: verify and list name it from
// the backup history, restore of "latest" refuses instead of restoring the
// backup before, and delete-backup accepts the loss.
TEST(RepositoryTrust, ADeletedNewestManifestIsNoticed) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  std::vector<std::string> backup = {"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()};
  std::string older = PgvaultJson(backup)["id"];
  std::string newest = PgvaultJson(backup)["id"];
  ASSERT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
  fs::remove(repo + "/backups/" + newest + "/manifest.json");

  RunResult verify = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.err.find("backups/" + newest + "/manifest.json is missing, but the backup history records"), npos)
      << verify.err;
  json list = PgvaultJson({"list", "--repo", repo});
  ASSERT_EQ(list.size(), 2u) << list.dump(2);
  EXPECT_EQ(list[1]["id"], newest);
  EXPECT_EQ(list[1]["status"], "missing");
  RunResult restore = Pgvault({"restore", "--repo", repo, "--target", tmp / "latest"});
  EXPECT_NE(restore.exit_code, 0);
  EXPECT_NE(restore.err.find(newest), npos) << restore.err;
  EXPECT_FALSE(fs::exists(tmp / "latest"));
  // A later backup does not hide it either.
  std::string third = PgvaultJson(backup)["id"];
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 1);
  // Accepting the loss.
  RunResult forget = Pgvault({"repo", "delete-backup", "--repo", repo, newest});
  ASSERT_EQ(forget.exit_code, 0) << forget.err;
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
  EXPECT_EQ(PgvaultJson({"list", "--repo", repo}).size(), 2u);
  (void)older;
  (void)third;
}
