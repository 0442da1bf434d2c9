// A file list may name only places beneath the restore target: what
// CheckFileListPaths and CheckTablespaceEntries refuse, and what a real
// PGDATA backup holds that they must keep accepting.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rooted_directory.h"
#include "repo/backup_manifest.h"
#include "repo/file_list_paths.h"

using namespace pgvault;
namespace fs = std::filesystem;

namespace {

FileEntry Dir(const std::string& path) {
  FileEntry e;
  e.path = path;
  e.type = FileType::kDirectory;
  e.mode = 0700;
  return e;
}

FileEntry File(const std::string& path) {
  FileEntry e;
  e.path = path;
  e.type = FileType::kFile;
  e.mode = 0600;
  return e;
}

FileEntry Link(const std::string& path, const std::string& target) {
  FileEntry e;
  e.path = path;
  e.type = FileType::kSymlink;
  e.mode = 0777;
  e.link_target = target;
  return e;
}

// What a backup of a cluster with a tablespace and a linked config file holds.
std::vector<FileEntry> Legitimate() {
  return {Dir("."),
          File("PG_VERSION"),
          Dir("base"),
          Dir("base/1"),
          File("base/1/1259"),
          Dir("pg_tblspc"),
          Link("pg_tblspc/16385", "/srv/ts"),
          Dir("pg_tblspc/16385/PG_15_202209061"),
          File("pg_tblspc/16385/PG_15_202209061/16384"),
          Link("server.crt", "/etc/ssl/certs/ssl-cert-snakeoil.pem"),
          Dir("pg_wal"),
          Dir("pg_wal/archive_status"),
          File("postgresql.auto.conf")};
}

// The message of the IntegrityError `files` raises.
std::string Refusal(std::vector<FileEntry> files) {
  try {
    CheckFileListPaths(files, "repo/backups/B1/files.json.zst");
  } catch (const IntegrityError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(FileListPaths, AcceptsWhatABackupOfPgdataHolds) {
  EXPECT_NO_THROW(CheckFileListPaths(Legitimate(), "files"));
  // pg_wal relocated to another volume, kept as the link PostgreSQL made.
  EXPECT_NO_THROW(CheckFileListPaths({Dir("."), Link("pg_wal", "/wal/pg_wal")}, "files"));
}

TEST(FileListPaths, RefusesPathsThatLeaveTheTarget) {
  struct Case {
    std::string path, why;
  } cases[] = {
      {"../escape_test_file", "leaves the data directory"},
      {"base/../../escape", "leaves the data directory"},
      {"..", "leaves the data directory"},
      {"/etc/cron.d/x", "is an absolute path"},
      {"", "has an empty path"},
      {"base//1", "has an empty path component"},
      {"base/", "has an empty path component"},
      {"base/./1", "has a '.' path component"},
      {std::string("base\0x", 6), "NUL"},
  };
  for (const auto& c : cases) {
    auto files = Legitimate();
    files.push_back(File(c.path));
    std::string error = Refusal(files);
    EXPECT_NE(error.find("repo/backups/B1/files.json.zst is unsafe: entry '"), std::string::npos) << c.path;
    EXPECT_NE(error.find(c.why), std::string::npos) << c.path << ": " << error;
  }
}

TEST(FileListPaths, RefusesEntriesBeneathALinkWhateverTheOrder) {
  auto files = Legitimate();
  files.push_back(Link("evil_link", "/tmp/outside"));
  files.push_back(File("evil_link/pwned"));
  std::string error = Refusal(files);
  EXPECT_NE(error.find("entry 'evil_link/pwned' lies beneath the link 'evil_link'"), std::string::npos) << error;

  files = Legitimate();
  files.push_back(Dir("server.crt/sub"));  // beneath a link listed before it
  EXPECT_NE(Refusal(files).find("lies beneath the link 'server.crt'"), std::string::npos);

  files = {Dir("."), File("base/1/1259"), Link("base", "/tmp/outside")};  // link listed after
  EXPECT_NE(Refusal(files).find("'base/1/1259' lies beneath the link 'base'"), std::string::npos);

  // pg_tblspc/<name> that is no OID is no tablespace: nothing beneath it.
  files = {Dir("."), Link("pg_tblspc/abc", "/tmp/outside"), File("pg_tblspc/abc/x")};
  EXPECT_NE(Refusal(files).find("lies beneath the link 'pg_tblspc/abc'"), std::string::npos);
  files = {Dir("."), Link("pg_wal", "/tmp/outside"), File("pg_wal/000000010000000000000001")};
  EXPECT_NE(Refusal(files).find("lies beneath the link 'pg_wal'"), std::string::npos);
}

TEST(FileListPaths, RefusesDuplicatesAndLinksWhereRestoreWrites) {
  auto files = Legitimate();
  files.push_back(Link("base", "/tmp/outside"));
  EXPECT_NE(Refusal(files).find("entry 'base' appears twice"), std::string::npos);
  files = {Dir("."), Link("postgresql.auto.conf", "/etc/passwd")};
  EXPECT_NE(Refusal(files).find("restore writes recovery settings into this file"), std::string::npos);
  files = {Link(".", "/")};
  EXPECT_NE(Refusal(files).find("not a directory"), std::string::npos);
  files = {Dir("."), Link("x", "")};
  EXPECT_NE(Refusal(files).find("without a valid target"), std::string::npos);
}

TEST(FileListPaths, FileListFromJsonRefusesUnknownTypesAndUnsafePaths) {
  auto doc = FileListToJson(Legitimate());
  EXPECT_NO_THROW(FileListFromJson(doc, "files"));
  auto with_fifo = doc;
  with_fifo["files"][1]["type"] = "fifo";  // used to become a symbolic link
  try {
    FileListFromJson(with_fifo, "repo/backups/B1/files.json.zst");
    ADD_FAILURE() << "an unknown type was accepted";
  } catch (const IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find("entry 'PG_VERSION' has unknown type 'fifo'"), std::string::npos) << e.what();
  }
  auto escaping = doc;
  escaping["files"][1]["path"] = "../PG_VERSION";
  EXPECT_THROW(FileListFromJson(escaping, "files"), IntegrityError);
}

TEST(FileListPaths, TablespaceLinksMustBeTheManifestsTablespaces) {
  BackupManifest m;
  m.id = "B1";
  m.tablespaces = {{16385, "ts1", "/srv/ts"}};
  EXPECT_NO_THROW(CheckTablespaceEntries(Legitimate(), m, "files"));
  auto files = Legitimate();
  files.push_back(Link("pg_tblspc/16999", "/etc"));
  files.push_back(File("pg_tblspc/16999/cron.d"));
  try {
    CheckTablespaceEntries(files, m, "files");
    ADD_FAILURE() << "a tablespace link unknown to the manifest was accepted";
  } catch (const IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find("backup B1 has no tablespace 16999"), std::string::npos) << e.what();
  }
  for (std::string location : {"relative/ts", "/", "/srv/../etc", "/srv//ts", ""}) {
    m.tablespaces = {{16385, "ts1", location}};
    EXPECT_THROW(CheckTablespaceEntries(Legitimate(), m, "files"), IntegrityError) << location;
  }
}

// Both ways of opening beneath: openat2 and, as on kernels before 5.6, the
// walk of O_NOFOLLOW opens.
class RootedDirectoryTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { RootedDirectory::UseWalkOnlyForTesting(GetParam()); }
  void TearDown() override { RootedDirectory::UseWalkOnlyForTesting(false); }
};

INSTANTIATE_TEST_SUITE_P(RootedDirectory, RootedDirectoryTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Walk" : "Openat2"; });

TEST_P(RootedDirectoryTest, NeverFollowsALink) {
  fs::path tmp = fs::temp_directory_path() / ("rooted-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "root/dir");
  fs::create_directories(tmp / "outside");
  fs::create_directory_symlink(tmp / "outside", tmp / "root/link");
  fs::create_symlink(tmp / "outside/file", tmp / "root/dir/file_link");
  RootedDirectory root((tmp / "root").string());

  EXPECT_THROW(root.Open("link/pwned", O_WRONLY | O_CREAT, 0600), Error);
  EXPECT_THROW(root.Open("dir/file_link", O_WRONLY | O_CREAT, 0600), Error);
  EXPECT_THROW(root.Open("../outside/x", O_WRONLY | O_CREAT, 0600), Error);
  EXPECT_THROW(root.MakeDirectories("link/sub", 0700), Error);
  EXPECT_THROW(root.OpenParent("link/x"), Error);
  EXPECT_THROW(root.Open("dir/../../outside/y", O_WRONLY | O_CREAT, 0600), Error);
  EXPECT_THROW(root.Open("/tmp/z", O_WRONLY | O_CREAT, 0600), Error);
  EXPECT_TRUE(fs::is_empty(tmp / "outside"));
  EXPECT_FALSE(fs::exists("/tmp/z"));

  root.MakeDirectories("a/b", 0700);
  EXPECT_TRUE(root.Open("a/b/f", O_WRONLY | O_CREAT, 0600).valid());
  EXPECT_TRUE(fs::is_regular_file(tmp / "root/a/b/f"));
  EXPECT_TRUE(root.Open(".", O_RDONLY | O_DIRECTORY).valid());
  fs::remove_all(tmp);
}
