// Damage to repository objects other than chunks, and leftovers of killed
// writers, end to end on a real cluster: an unreadable manifest costs only
// its own backup, "latest" never falls back silently, and the next backup
// clears what a killed one left.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/dataset.h"
#include "support/file_bytes.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr auto npos = std::string::npos;

// The lines of `text` that start with "pgvault: error: ", in order, repeats kept.
std::vector<std::string> ErrorLinesInOrder(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("pgvault: error: ")) out.push_back(line);
  return out;
}

uint64_t SizeOfPacks(const std::string& repo) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/packs"))
    if (e.is_regular_file() && e.path().extension() == ".pack") total += e.file_size();
  return total;
}

std::vector<std::string> TemporaryFiles(const std::string& repo) {
  std::vector<std::string> out;
  for (const char* area : {"packs", "index", "backups"}) {
    if (!fs::exists(repo + "/" + area)) continue;
    for (const auto& e : fs::recursive_directory_iterator(repo + "/" + area))
      if (e.path().filename().string().starts_with(".tmp-")) out.push_back(e.path().string());
  }
  return out;
}

}  // namespace

TEST(RepositoryDamage, AnUnreadableManifestCostsOnlyItsOwnBackup) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 1, 2, "");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  std::vector<std::string> backup = {"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()};
  auto older = PgvaultJson(backup);
  std::string old_id = older["id"];
  // stored_size of a first backup (nothing adopted): exactly its packs, its
  // index file, its file list and its manifest.
  uint64_t index_bytes = 0;
  for (const auto& e : fs::directory_iterator(repo + "/index")) index_bytes += fs::file_size(e.path());
  EXPECT_EQ(older["stored_size"].get<uint64_t>(),
            SizeOfPacks(repo) + index_bytes + fs::file_size(repo + "/backups/" + old_id + "/files.json.zst") +
                fs::file_size(repo + "/backups/" + old_id + "/manifest.json"));
  pg->Exec("CREATE TABLE after_the_first_backup AS SELECT 1 AS x");
  auto newer = PgvaultJson(backup);
  std::string new_id = newer["id"];
  auto list_before = PgvaultJson({"list", "--repo", repo});

  const std::string manifest_object = "backups/" + new_id + "/manifest.json";
  const std::string manifest = repo + "/" + manifest_object;
  const std::string original = ReadFile(manifest);
  fs::resize_file(manifest, original.size() / 2);  // a torn write, a bad disk

  RunResult list = Pgvault({"list", "--repo", repo, "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json entries = json::parse(list.out);
  ASSERT_EQ(entries.size(), 2u) << entries.dump(2);
  EXPECT_EQ(entries[0], list_before[0]) << "the readable backup is listed unchanged";
  EXPECT_EQ(entries[1]["id"], new_id);
  EXPECT_EQ(entries[1]["status"], "damaged");
  EXPECT_NE(entries[1]["error"].get<std::string>().find(manifest_object), npos) << entries[1];
  EXPECT_NE(list.err.find("backup " + new_id + " cannot be read"), npos) << list.err;
  RunResult table = Pgvault({"list", "--repo", repo});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find(old_id + " "), npos) << table.out;
  EXPECT_NE(table.err.find(manifest_object), npos) << table.err;
  RunResult info = Pgvault({"info", "--repo", repo});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("unreadable backups: " + new_id), npos) << info.out;

  // verify fails, names the manifest, and still verifies the other backup.
  RunResult verify = Pgvault({"verify", "--repo", repo});
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  auto errors = ErrorLinesInOrder(verify.err);
  ASSERT_EQ(errors.size(), 1u) << verify.err;
  EXPECT_NE(errors[0].find(manifest_object), npos) << errors[0];
  EXPECT_NE(verify.out.find("verify found 1 problem(s) (1 backup(s) checked)"), npos) << verify.out;
  RunResult verify_json = Pgvault({"verify", "--repo", repo, "--json"});
  EXPECT_EQ(verify_json.exit_code, 1);
  json v = json::parse(verify_json.out);
  EXPECT_EQ(v["backups"], 1);
  EXPECT_GT(v["chunks_checked"].get<uint64_t>(), 0u);
  ASSERT_EQ(v["problems"].size(), 1u);
  EXPECT_EQ(v["problems"][0]["path"], manifest_object);

  // latest may be the damaged one: restore refuses instead of restoring an
  // older backup without a word...
  RunResult latest = Pgvault({"restore", "--repo", repo, "--target", tmp / "latest"});
  EXPECT_NE(latest.exit_code, 0);
  EXPECT_NE(latest.err.find(new_id), npos) << latest.err;
  EXPECT_NE(latest.err.find("--backup ID"), npos) << latest.err;
  EXPECT_FALSE(fs::exists(tmp / "latest/global/pg_control"));
  // ...and does it when asked to.
  PgvaultJson({"restore", "--repo", repo, "--backup", old_id, "--target", tmp / "restored"});
  auto restored = PgCluster::Adopt(tmp / "restored");
  restored->Start();
  EXPECT_EQ(TableChecksum(*restored, "pgbench_accounts"), TableChecksum(*pg, "pgbench_accounts"));
  EXPECT_EQ(restored->Value("SELECT count(*)::text FROM pg_class WHERE relname = 'after_the_first_backup'"), "0");
  restored->Stop();

  // A manifest from a newer pgvault: the same, with the reason.
  json newer_manifest = json::parse(original);
  newer_manifest["version"] = 3;
  std::ofstream(manifest, std::ios::trunc) << newer_manifest.dump(2);
  entries = PgvaultJson({"list", "--repo", repo});
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1]["status"], "damaged");
  EXPECT_NE(entries[1]["error"].get<std::string>().find("unsupported format version 3; this pgvault reads version 2"),
            npos)
      << entries[1];
  EXPECT_NE(Pgvault({"restore", "--repo", repo, "--target", tmp / "latest"}).exit_code, 0);

  // Repaired, everything is as before.
  std::ofstream(manifest, std::ios::trunc) << original;
  EXPECT_EQ(PgvaultJson({"list", "--repo", repo}), list_before);
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
}

TEST(RepositoryDamage, TemporaryFilesOfAKilledBackupAreRemovedByTheNext) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 1, 8, "");
  std::string repo = tmp / "repo";
  // Small packs: workers have packs open (as temporary files) at any time.
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo, "--pack-size", "1048576"}).exit_code, 0);
  std::vector<std::string> backup = {PGVAULT_BINARY, "backup",       "--repo", repo, "--pgdata",
                                     pg->datadir(),  "--pg", pg->Conninfo()};
  std::string log = tmp / "killed.log";
  setenv("PGVAULT_TEST_PAUSE_AT", "backup-copying", 1);
  BackgroundProcess killed(backup, log);
  unsetenv("PGVAULT_TEST_PAUSE_AT");
  for (int i = 0; i < 1200 && ReadFile(log).find("paused at backup-copying") == npos; ++i) {
    ASSERT_TRUE(killed.Running()) << ReadFile(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  killed.Signal(SIGKILL);
  EXPECT_EQ(killed.Wait(), -SIGKILL);
  ASSERT_FALSE(TemporaryFiles(repo).empty()) << "the killed backup left no temporary file to clean";

  RunResult next = Pgvault({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo(),
                            "--log-level", "info"});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_NE(next.err.find("temporary file(s) left by interrupted writes"), npos) << next.err;
  EXPECT_EQ(TemporaryFiles(repo), std::vector<std::string>{});
  EXPECT_EQ(PgvaultJson({"list", "--repo", repo}).size(), 1u);
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
}
