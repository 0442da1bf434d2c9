// A repository on a local directory gets its modes from its config, not from
// the umask: directories 0700 and files 0600, or 0750 and 0640 with
// group_access (repo init --group-read). Checked under umask 000, where
// mkdir() and open() alone would make every directory world-writable.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "repo/repository.h"
#include "repo/repository_config.h"
#include "repo/sealed_json.h"
#include "storage/posix_storage.h"

namespace pgvault {
namespace {

namespace fs = std::filesystem;

class RepositoryPermissions : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("pgvault-unit-modes-" + std::to_string(std::random_device{}()));
    fs::create_directories(base_);
    old_umask_ = ::umask(0);
  }
  void TearDown() override {
    ::umask(old_umask_);
    fs::remove_all(base_);
  }

  // What a backup, wal-push and gc write, in the repository's layout.
  void WriteLikeABackup(const std::string& root) {
    auto repo = Repository::Open(std::make_unique<PosixStorage>(root));
    auto lock = repo->LockForWrite("test");
    Storage& s = repo->storage();
    s.Write("packs/ab/ab01.pack", "pack");
    s.Write("index/ab01.json.zst", "index");
    s.Write("backups/20261204T120000F/files.json.zst", "files");
    s.Write("backups/20261204T120000F/manifest.json", "{}");
    s.Write("wal/0000000100000000/000000010000000000000001", "wal");
    s.Write("wal/history/00000002.history", "history");
    auto uncommitted = s.Create("packs/cd/cd01.pack");  // a temporary file, as during a backup
    uncommitted->Append("x");
    CheckModes(root);
  }

  // Every directory (the root too) and every file under `root`.
  void CheckModes(const std::string& root) {
    EXPECT_EQ(Mode(root), directory_mode_) << root;
    size_t files = 0, directories = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      std::string path = entry.path().string();
      if (entry.is_directory()) {
        ++directories;
        EXPECT_EQ(Mode(path), directory_mode_) << fmt::format("{}: {:04o}", path, Mode(path));
      } else {
        ++files;
        EXPECT_EQ(Mode(path), file_mode_) << fmt::format("{}: {:04o}", path, Mode(path));
      }
    }
    EXPECT_GE(files, 9u);  // config.json, lock, the objects above and the temporary pack
    EXPECT_GE(directories, 9u);
  }

  static mode_t Mode(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) ADD_FAILURE() << "cannot stat " << path;
    return st.st_mode & 07777;
  }

  std::string base_;
  mode_t old_umask_ = 0;
  mode_t directory_mode_ = 0700, file_mode_ = 0600;
};

TEST_F(RepositoryPermissions, OwnerOnlyWhateverTheUmask) {
  std::string root = base_ + "/new/parent/repo";  // made with its parents
  PosixStorage storage(root);
  Repository::Init(storage, RepositoryConfig{});
  EXPECT_EQ(Mode(base_ + "/new"), 0700u);
  WriteLikeABackup(root);
}

TEST_F(RepositoryPermissions, GroupReadWhenTheConfigSaysSo) {
  directory_mode_ = 0750;
  file_mode_ = 0640;
  std::string root = base_ + "/repo";
  PosixStorage storage(root);
  RepositoryConfig config;
  config.group_access = true;
  Repository::Init(storage, config);
  WriteLikeABackup(root);  // a later process, which learns the modes from config.json
}

TEST_F(RepositoryPermissions, InitGivesAnExistingRootTheRepositoryMode) {
  std::string root = base_ + "/existing";
  fs::create_directories(root);
  ::chmod(root.c_str(), 0777);
  PosixStorage storage(root);
  Repository::Init(storage, RepositoryConfig{});
  EXPECT_EQ(Mode(root), 0700u);
  WriteLikeABackup(root);
}

TEST_F(RepositoryPermissions, ALockFileOfAnEarlierVersionGetsTheRepositoryMode) {
  std::string root = base_ + "/repo";
  PosixStorage storage(root);
  Repository::Init(storage, RepositoryConfig{});
  { auto lock = Repository::Open(std::make_unique<PosixStorage>(root))->LockForWrite("test"); }
  ::chmod((root + "/lock").c_str(), 0666);
  WriteLikeABackup(root);
}

TEST(RepositoryConfigGroupAccess, RecordedAndOffWhenAbsent) {
  RepositoryConfig config;
  config.repository_id = "0123456789abcdef0123456789abcdef";
  config.group_access = true;
  EXPECT_TRUE(RepositoryConfig::FromJson(config.ToJson(), "c").group_access);
  config.group_access = false;
  std::string text = config.ToJson();
  EXPECT_NE(text.find("\"group_access\": false"), std::string::npos) << text;
  EXPECT_FALSE(RepositoryConfig::FromJson(text, "c").group_access);
  // A config written before the key existed: owner only.
  auto json = nlohmann::json::parse(text);
  json.erase("group_access");
  EXPECT_FALSE(RepositoryConfig::FromJson(SealJson(json), "c").group_access);
  json["group_access"] = "yes";
  EXPECT_THROW(RepositoryConfig::FromJson(SealJson(json), "c"), Error);
}

}  // namespace
}  // namespace pgvault
