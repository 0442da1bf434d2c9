// The storage contract the engine relies on, on the POSIX backend.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "repo/chunk_index.h"
#include "repo/pack_writer.h"
#include "repo/repository.h"
#include "storage/posix_storage.h"

#include "plausible_manifest.h"

using namespace pgvault;
namespace fs = std::filesystem;

namespace {
class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("pgvault-unit-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    storage_ = std::make_unique<PosixStorage>(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
  std::unique_ptr<PosixStorage> storage_;
};
}  // namespace

TEST_F(StorageTest, UncommittedObjectsAreInvisibleAndDiscarded) {
  {
    auto w = storage_->Create("a/b/object");
    w->Append("hello");
    EXPECT_FALSE(storage_->Exists("a/b/object"));
    EXPECT_TRUE(storage_->List("a").empty()) << "temp files must not be listed";
  }  // destroyed without Commit
  EXPECT_FALSE(storage_->Exists("a/b/object"));
  EXPECT_TRUE(fs::is_empty(root_ + "/a/b"));
  auto w = storage_->Create("a/b/object");
  w->Append("hello ");
  w->Append("world");
  w->Commit();
  EXPECT_EQ(storage_->Read("a/b/object"), "hello world");
  EXPECT_EQ(storage_->ReadRange("a/b/object", 6, 5), "world");
  EXPECT_THROW(storage_->ReadRange("a/b/object", 6, 50), IntegrityError);
  EXPECT_THROW(storage_->Read("missing"), NotFoundError);
  auto listed = storage_->List("a");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].path, "a/b/object");
  EXPECT_EQ(listed[0].size, 11u);
}

TEST_F(StorageTest, LockIsExclusiveAndNamesTheHolder) {
  auto held = storage_->Lock("lock", "pid 1 on host, 'backup'");
  try {
    storage_->Lock("lock", "second");
    FAIL() << "a second writer got the lock";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pid 1 on host, 'backup'"), std::string::npos) << e.what();
  }
  held.reset();
  EXPECT_NO_THROW(storage_->Lock("lock", "third"));
}

TEST_F(StorageTest, RepositoryRefusesNonEmptyDirectoryAndUnknownVersions) {
  storage_->Write("somebody-elses-file", "x");
  EXPECT_THROW(Repository::Init(*storage_, RepositoryConfig{}), Error);
  storage_->Remove("somebody-elses-file");
  Repository::Init(*storage_, RepositoryConfig{});
  EXPECT_THROW(Repository::Init(*storage_, RepositoryConfig{}), Error);
  std::string config = storage_->Read("config.json");
  auto pos = config.find("\"version\": 2");
  ASSERT_NE(pos, std::string::npos);
  config.replace(pos, 12, "\"version\": 9");
  storage_->Write("config.json", config);
  try {
    Repository::Open(std::make_unique<PosixStorage>(root_));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("upgrade pgvault"), std::string::npos) << e.what();
  }
}

TEST_F(StorageTest, PacksWithoutAnIndexAreAdoptedFromTheirTrailers) {
  PackWriter writer(*storage_, 1 << 20);
  Digest a = Sha256("a"), b = Sha256("b");
  writer.Add(a, Codec::kNone, "a", 1);
  writer.Add(b, Codec::kNone, "b", 1);
  writer.Flush();
  // No index file was written: as after a crash.
  ChunkIndex without = ChunkIndex::Load(*storage_, false);
  EXPECT_EQ(without.Find(a), nullptr);
  ChunkIndex adopted = ChunkIndex::Load(*storage_, true);
  ASSERT_NE(adopted.Find(b), nullptr);
  EXPECT_EQ(adopted.adopted().size(), 1u);
  ChunkIndex::WriteIndexFile(*storage_, adopted.adopted());
  ChunkIndex indexed = ChunkIndex::Load(*storage_, true);
  EXPECT_NE(indexed.Find(a), nullptr);
  EXPECT_TRUE(indexed.adopted().empty());
}

TEST_F(StorageTest, TakingTheWriterLockRemovesTemporaryFilesOfKilledWriters) {
  Repository::Init(*storage_, RepositoryConfig{});
  storage_->Write("packs/ab/ab01.pack", "pack");
  storage_->Write("backups/20260101T000000F/manifest.json", "{}");
  auto write = [&](const std::string& path) {
    fs::create_directories(fs::path(root_ + "/" + path).parent_path());
    std::ofstream(root_ + "/" + path) << "partial";
  };
  // What kill -9 leaves behind in the areas only lock holders write...
  const std::vector<std::string> stale = {"packs/ab/.tmp-ab02.pack-0123456789abcdef",
                                          "packs/cd/.tmp-cd03.pack-0123456789abcdef",
                                          "index/.tmp-0123.json.zst-0123456789abcdef",
                                          "backups/20260101T000000F/.tmp-files.json.zst-0123456789abcdef"};
  // ...and elsewhere, where writers may not hold the lock.
  const std::vector<std::string> foreign = {"wal/.tmp-000000010000000000000001-0123456789abcdef",
                                            ".tmp-config.json-0123456789abcdef"};
  for (const auto& p : stale) write(p);
  for (const auto& p : foreign) write(p);

  auto repo = Repository::Open(std::make_unique<PosixStorage>(root_));
  auto lock = repo->LockForWrite("test");
  for (const auto& p : stale) EXPECT_FALSE(fs::exists(root_ + "/" + p)) << p << " was left behind";
  for (const auto& p : foreign) EXPECT_TRUE(fs::exists(root_ + "/" + p)) << p << " is outside the locked areas";
  EXPECT_TRUE(storage_->Exists("packs/ab/ab01.pack"));
  EXPECT_TRUE(storage_->Exists("backups/20260101T000000F/manifest.json"));
  EXPECT_TRUE(storage_->Exists("config.json"));
}

TEST_F(StorageTest, StoredSizeCountsTheFileListAndTheManifestExactly) {
  Repository::Init(*storage_, RepositoryConfig{});
  auto repo = Repository::Open(std::make_unique<PosixStorage>(root_));
  // Starting values whose digit count changes once the manifest is added.
  const std::vector<uint64_t> starts = {0, 9000, 99000, 998000, 9999999};
  for (size_t i = 0; i < starts.size(); ++i) {
    BackupManifest m = test::PlausibleManifest("20260101T00000" + std::to_string(i) + "F",
                                               "2026-01-01T00:00:0" + std::to_string(i) + ".000Z");
    m.stored_size = starts[i];
    repo->CommitBackup(m, {});
    uint64_t manifest = storage_->Size("backups/" + m.id + "/manifest.json");
    uint64_t files = storage_->Size(m.files_object);
    EXPECT_EQ(m.stored_size, starts[i] + files + manifest) << "starting from " << starts[i];
    EXPECT_EQ(repo->LoadBackup(m.id).stored_size, m.stored_size);
  }
}
