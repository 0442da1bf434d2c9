// A manifest that cannot be read (damaged, or of a newer format version)
// costs only its own backup: list, info and verify go on with the others,
// and "latest" refuses to fall back silently to an older backup.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "command/list_command.h"
#include "command/verify_command.h"
#include "core/error.h"
#include "repo/compressed_json.h"
#include "repo/repository.h"
#include "storage/posix_storage.h"

#include "plausible_manifest.h"
#include "../support/repository_surgery.h"

using namespace pgvault;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

class BackupListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("pgvault-unit-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    PosixStorage storage(root_);
    Repository::Init(storage, RepositoryConfig{});
    repo_ = Repository::Open(std::make_unique<PosixStorage>(root_));
  }
  void TearDown() override { fs::remove_all(root_); }

  // A committed backup with an empty file list: enough for everything but restore.
  void AddBackup(const std::string& id, const std::string& start_time) {
    BackupManifest m = test::PlausibleManifest(id, start_time);
    repo_->CommitBackup(m, {});
  }
  std::string ManifestPath(const std::string& id) { return "backups/" + id + "/manifest.json"; }
  void Truncate(const std::string& id) {
    std::string text = repo_->storage().Read(ManifestPath(id));
    repo_->storage().Write(ManifestPath(id), text.substr(0, text.size() / 2));
  }
  void MakeNewerVersion(const std::string& id) {
    json j = json::parse(repo_->storage().Read(ManifestPath(id)));
    j["version"] = 3;
    repo_->storage().Write(ManifestPath(id), j.dump(2));
  }
  std::vector<std::string> Ids(const std::vector<BackupManifest>& backups) {
    std::vector<std::string> ids;
    for (const auto& m : backups) ids.push_back(m.id);
    return ids;
  }

  std::string root_;
  std::unique_ptr<Repository> repo_;
};

const std::string kOld = "20260101T100000F", kMiddle = "20260101T110000F", kNew = "20260101T120000F";

}  // namespace

TEST_F(BackupListingTest, UnreadableManifestsAreListedApartFromTheOthers) {
  AddBackup(kOld, "2026-01-01T10:00:00.100Z");
  AddBackup(kMiddle, "2026-01-01T11:00:00.100Z");
  AddBackup(kNew, "2026-01-01T12:00:00.100Z");
  Truncate(kMiddle);
  MakeNewerVersion(kNew);
  BackupListing listing = repo_->ListBackups();
  EXPECT_EQ(Ids(listing.backups), std::vector<std::string>{kOld});
  ASSERT_EQ(listing.unreadable.size(), 2u);
  EXPECT_EQ(listing.unreadable[0].id, kMiddle);
  EXPECT_EQ(listing.unreadable[0].path, ManifestPath(kMiddle));
  EXPECT_CONTAINS(listing.unreadable[0].error, ManifestPath(kMiddle) + " is damaged");
  EXPECT_EQ(listing.unreadable[1].id, kNew);
  EXPECT_CONTAINS(listing.unreadable[1].error,
                  ManifestPath(kNew) + ": unsupported format version 3; this pgvault reads version 2: upgrade pgvault");
}

TEST_F(BackupListingTest, AManifestInTheWrongDirectoryIsUnreadable) {
  AddBackup(kOld, "2026-01-01T10:00:00.100Z");
  repo_->storage().Write(ManifestPath(kNew), repo_->storage().Read(ManifestPath(kOld)));
  BackupListing listing = repo_->ListBackups();
  EXPECT_EQ(Ids(listing.backups), std::vector<std::string>{kOld});
  ASSERT_EQ(listing.unreadable.size(), 1u);
  EXPECT_CONTAINS(listing.unreadable[0].error, "it is the manifest of backup " + kOld);
  EXPECT_THROW(repo_->LoadBackup(kNew), IntegrityError);
}

TEST_F(BackupListingTest, LatestRefusesToSkipADamagedNewestBackup) {
  AddBackup(kOld, "2026-01-01T10:00:00.100Z");
  AddBackup(kNew, "2026-01-01T12:00:00.100Z");
  Truncate(kNew);
  std::string message = ErrorOf([&] { repo_->LoadBackup("latest"); });
  EXPECT_CONTAINS(message, "may be " + kNew + ", whose manifest cannot be read");
  EXPECT_CONTAINS(message, ManifestPath(kNew));
  EXPECT_CONTAINS(message, "pass --backup ID explicitly");
  EXPECT_CONTAINS(message, "(readable: " + kOld + ")");
  EXPECT_EQ(repo_->LoadBackup(kOld).id, kOld) << "an explicit id still works";
  EXPECT_CONTAINS(ErrorOf([&] { repo_->LoadBackup(kNew); }), ManifestPath(kNew) + " is damaged");
}

TEST_F(BackupListingTest, LatestIgnoresADamagedBackupThatIsProvablyOlder) {
  AddBackup(kOld, "2026-01-01T10:00:00.100Z");
  AddBackup(kNew, "2026-01-01T12:00:00.100Z");
  AddBackup("20260101T120000F-2", "2026-01-01T12:00:00.900Z");  // same second, later id
  Truncate(kOld);
  EXPECT_EQ(repo_->LoadBackup("latest").id, "20260101T120000F-2");
  Truncate(kNew);  // same second as the latest, but a lower sequence number
  EXPECT_EQ(repo_->LoadBackup("latest").id, "20260101T120000F-2");
  // A directory name pgvault would not make could be anything: refuse.
  AddBackup("manual-copy", "2026-01-01T09:00:00.000Z");
  Truncate("manual-copy");
  EXPECT_CONTAINS(ErrorOf([&] { repo_->LoadBackup("latest"); }), "may be manual-copy");
}

TEST_F(BackupListingTest, StartedBeforeUsesTheSecondThenTheSequenceNumber) {
  BackupManifest m;
  m.id = "20260101T120000F-3";
  m.start_time = "2026-01-01T12:00:00.500Z";
  EXPECT_TRUE(StartedBefore("20260101T115959F", m));
  EXPECT_TRUE(StartedBefore("20260101T120000F", m));
  EXPECT_TRUE(StartedBefore("20260101T120000F-2", m));
  EXPECT_FALSE(StartedBefore("20260101T120000F-3", m));
  EXPECT_FALSE(StartedBefore("20260101T120000F-4", m));
  EXPECT_FALSE(StartedBefore("20260101T120001F", m));
  EXPECT_FALSE(StartedBefore("2026010xT115959F", m));
  EXPECT_FALSE(StartedBefore("20260101T115959X", m));
  EXPECT_FALSE(StartedBefore("20260101T115959F-x", m));
}

TEST_F(BackupListingTest, ListShowsTheReadableBackupsAndMarksTheDamagedOne) {
  AddBackup(kOld, "2026-01-01T10:00:00.100Z");
  AddBackup(kMiddle, "2026-01-01T11:00:00.100Z");
  AddBackup(kNew, "2026-01-01T12:00:00.100Z");
  json before = json::parse(RenderBackupList(root_, true));
  Truncate(kMiddle);
  json list = json::parse(RenderBackupList(root_, true));
  ASSERT_EQ(list.size(), 3u) << list.dump(2);
  EXPECT_EQ(list[0], before[0]) << "good entries are unchanged";
  EXPECT_EQ(list[2], before[2]);
  EXPECT_EQ(list[1]["id"], kMiddle) << "a damaged backup keeps its place, by id";
  EXPECT_EQ(list[1]["status"], "damaged");
  EXPECT_CONTAINS(list[1]["error"].get<std::string>(), ManifestPath(kMiddle));

  std::string table = RenderBackupList(root_, false);
  EXPECT_CONTAINS(table, kOld + " ");
  EXPECT_CONTAINS(table, kNew + " ");
  EXPECT_CONTAINS(table, kMiddle + "       damaged\n");

  json info = json::parse(RenderInfo(root_, "", true));
  EXPECT_EQ(info["backups"], 2);
  ASSERT_EQ(info["unreadable_backups"].size(), 1u);
  EXPECT_EQ(info["unreadable_backups"][0]["id"], kMiddle);
  EXPECT_CONTAINS(RenderInfo(root_, "", false), "unreadable backups: " + kMiddle + "\n");
  EXPECT_CONTAINS(RenderInfo(root_, "latest", false), "backup:             " + kNew);
}

TEST_F(BackupListingTest, InfoCountsEntriesNotFiles) {
  AddBackup(kOld, "2026-01-01T10:00:00.100Z");
  EXPECT_CONTAINS(RenderInfo(root_, kOld, false), " in 0 entries\n");
}

TEST_F(BackupListingTest, VerifyReportsAnUnreadableManifestAndChecksTheOthers) {
  AddBackup(kOld, "2026-01-01T10:00:00.100Z");
  AddBackup(kMiddle, "2026-01-01T11:00:00.100Z");
  AddBackup(kNew, "2026-01-01T12:00:00.100Z");
  MakeNewerVersion(kMiddle);
  // kNew: a file list of another version, consistently recorded in its manifest.
  json manifest = json::parse(repo_->storage().Read(ManifestPath(kNew)));
  std::string files = manifest["files"]["path"], sha256;
  uint64_t size = 0;
  json list = {{"format", "pgvault-file-list"}, {"version", 3}, {"files", json::array()}};
  WriteCompressedJson(repo_->storage(), files, list, &sha256, &size);
  manifest["files"]["sha256"] = sha256;
  manifest["files"]["size"] = size;
  test::ReplaceManifest(repo_->storage(), kNew, manifest);

  VerifyOptions options;
  options.repo = root_;
  options.progress = false;
  VerifyResult result = RunVerify(options);
  EXPECT_EQ(result.backups, 2u);
  ASSERT_EQ(result.problems.size(), 2u);
  EXPECT_EQ(result.problems[0].backup_id, kMiddle);
  EXPECT_EQ(result.problems[0].path, ManifestPath(kMiddle));
  EXPECT_CONTAINS(result.problems[0].message, "backup " + kMiddle + " cannot be read: ");
  EXPECT_CONTAINS(result.problems[0].message, ManifestPath(kMiddle) + ": unsupported format version 3");
  EXPECT_EQ(result.problems[1].backup_id, kNew);
  EXPECT_EQ(result.problems[1].path, files);
  EXPECT_CONTAINS(result.problems[1].message, files + ": unsupported format version 3");
}
