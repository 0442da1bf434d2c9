// Restore runs as root and writes what a repository says. A file list that
// someone altered (and whose checksum in the manifest they recomputed) must
// not get a single byte written outside the restore target: verify names the
// backup and the entry, restore refuses before writing anything. And a link
// already inside a --delta target is replaced, never written through.
#include <zstd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "repo/compressed_json.h"
#include "support/file_bytes.h"
#include "support/pg_cluster.h"
#include "storage/posix_storage.h"
#include "support/pgvault_cli.h"
#include "support/repository_surgery.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr auto npos = std::string::npos;

json ReadFileList(const std::string& repo, const std::string& id) {
  std::string path = repo + "/backups/" + id + "/files.json.zst";
  return pgvault::DecodeCompressedJson(ReadFile(path), path);
}

// The one place that knows how a file list is tied to its manifest: stores
// `doc` as the backup's file list and makes the manifest agree with it, as
// someone who can write the repository would. (When the manifest carries a
// checksum of its own, this is where to recompute it.)
void RewriteFileListAndManifest(const std::string& repo, const std::string& id, const json& doc) {
  std::string text = doc.dump();
  std::string stored(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compress(stored.data(), stored.size(), text.data(), text.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  stored.resize(n);
  WriteFile(repo + "/backups/" + id + "/files.json.zst", stored);
  std::string manifest_path = repo + "/backups/" + id + "/manifest.json";
  json manifest = json::parse(ReadFile(manifest_path));
  manifest["files"]["sha256"] = pgvault::DigestHex(pgvault::Sha256(stored));
  manifest["files"]["size"] = stored.size();
  // Sealed again and recorded in the history, as a careful forger would.
  pgvault::PosixStorage storage(repo);
  ReplaceManifest(storage, id, manifest);
}

json EntryNamed(const json& doc, const std::string& path) {
  for (const auto& e : doc["files"])
    if (e["path"] == path) return e;
  ADD_FAILURE() << "no entry " << path;
  return json::object();
}

std::string BackUp(PgCluster& pg, const std::string& repo) {
  PgvaultJson({"backup", "--repo", repo, "--pgdata", pg.datadir(), "--pg", pg.Conninfo()});
  auto list = PgvaultJson({"list", "--repo", repo});
  return list.back()["id"];
}

}  // namespace

TEST(RestorePathSafety, AlteredFileListIsNamedByVerifyAndRefusedByRestoreBeforeAnyWrite) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  std::string id = BackUp(*pg, repo);
  pg->Stop();
  const json original = ReadFileList(repo, id);
  fs::create_directories(tmp / "outside");
  fs::create_directories(tmp / "restores");
  std::string target = tmp / "restores/T";

  json escape = EntryNamed(original, "PG_VERSION");
  escape["path"] = "../escape_test_file";
  escape["mode"] = "4755";
  json link = EntryNamed(original, "PG_VERSION");
  for (const char* k : {"size", "chunks", "checksum"}) link.erase(k);
  link["path"] = "evil_link";
  link["type"] = "link";
  link["target"] = tmp / "outside";
  json pwned = EntryNamed(original, "PG_VERSION");
  pwned["path"] = "evil_link/pwned";

  struct Case {
    std::vector<json> added;
    std::string named;  // the entry verify and restore must name
  } cases[] = {
      {{escape, link, pwned}, "entry '../escape_test_file'"},
      {{link, pwned}, "entry 'evil_link/pwned' lies beneath the link 'evil_link'"},
  };
  for (const auto& c : cases) {
    json doc = original;
    for (const auto& e : c.added) doc["files"].push_back(e);
    RewriteFileListAndManifest(repo, id, doc);

    RunResult verify = Pgvault({"verify", "--repo", repo, "--json"});
    EXPECT_NE(verify.exit_code, 0) << c.named << "\n" << verify.out;
    json report = json::parse(verify.out);
    ASSERT_FALSE(report["problems"].empty()) << c.named << "\n" << verify.out;
    EXPECT_EQ(report["problems"][0]["backup"], id);
    std::string message = report["problems"][0]["message"];
    EXPECT_NE(message.find(c.named), npos) << message;
    EXPECT_NE(message.find(id), npos) << message;

    RunResult restore = Pgvault({"restore", "--repo", repo, "--target", target, "--json"});
    EXPECT_NE(restore.exit_code, 0) << c.named;
    EXPECT_NE(restore.err.find(c.named), npos) << restore.err;
    EXPECT_FALSE(fs::exists(target)) << "restore wrote into its target before refusing";
    EXPECT_FALSE(fs::exists(tmp / "restores/escape_test_file")) << "restore wrote outside its target";
    EXPECT_TRUE(fs::is_empty(tmp / "outside")) << "restore wrote through a link from the file list";
  }

  // The untouched file list still restores.
  RewriteFileListAndManifest(repo, id, original);
  ASSERT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
  PgvaultJson({"restore", "--repo", repo, "--target", target});
  EXPECT_TRUE(fs::is_regular_file(target + "/global/pg_control"));
}

TEST(RestorePathSafety, DeltaRestoreReplacesLinksInTheTargetAndNeverWritesThroughThem) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  BackUp(*pg, repo);
  pg->Stop();
  std::string copy = tmp / "copy";
  PgvaultJson({"restore", "--repo", repo, "--target", copy});

  // Someone leaves links in the copy: global (with pg_control, which restore
  // removes first) and a whole database directory point elsewhere, and one
  // file is a link to a file outside.
  fs::create_directories(tmp / "outside_global");
  WriteFile(tmp / "outside_global/pg_control", "must stay");
  fs::remove_all(copy + "/global");
  fs::create_directory_symlink(tmp / "outside_global", copy + "/global");
  fs::create_directories(tmp / "outside_base");
  fs::remove_all(copy + "/base/1");
  fs::create_directory_symlink(tmp / "outside_base", copy + "/base/1");
  WriteFile(tmp / "outside_file", "must stay");
  fs::remove(copy + "/PG_VERSION");
  fs::create_symlink(tmp / "outside_file", copy + "/PG_VERSION");
  auto outside_global = TreeListing(tmp / "outside_global");

  for (const char* mode : {"--delta", "--force"}) {
    PgvaultJson({"restore", "--repo", repo, "--target", copy, mode});
    EXPECT_EQ(ReadFile(tmp / "outside_global/pg_control"), "must stay") << mode;
    EXPECT_EQ(TreeListing(tmp / "outside_global"), outside_global) << mode;
    EXPECT_TRUE(fs::is_empty(tmp / "outside_base")) << mode;
    EXPECT_EQ(ReadFile(tmp / "outside_file"), "must stay") << mode;
    EXPECT_FALSE(fs::is_symlink(copy + "/global")) << mode;
    EXPECT_FALSE(fs::is_symlink(copy + "/base/1")) << mode;
    EXPECT_FALSE(fs::is_symlink(copy + "/PG_VERSION")) << mode;
    EXPECT_TRUE(fs::is_regular_file(copy + "/global/pg_control")) << mode;
    // Again for the second mode.
    fs::remove_all(copy + "/global");
    fs::create_directory_symlink(tmp / "outside_global", copy + "/global");
  }
  fs::remove(copy + "/global");
  PgvaultJson({"restore", "--repo", repo, "--target", copy, "--delta"});
  auto restored = PgCluster::Adopt(copy);
  restored->Start();
  EXPECT_EQ(restored->Value("SELECT count(*) > 0 FROM pg_class"), "t");
}
