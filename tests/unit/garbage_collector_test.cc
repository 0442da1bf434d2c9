// delete-backup and gc on a real POSIX repository with synthetic backups:
// what goes, what stays, what readers see, refusals, and a kill -9 at every
// step of gc (forked child stopped at a pause point, then killed).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>

#include "core/error.h"
#include "repo/chunk_index.h"
#include "repo/chunk_reader.h"
#include "repo/chunk_relocator.h"
#include "repo/garbage_collector.h"
#include "repo/pack_writer.h"
#include "repo/repository.h"
#include "storage/posix_storage.h"

#include "plausible_manifest.h"
#include "../support/repository_surgery.h"

using namespace pgvault;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kChunk = 64 << 10;

std::string ChunkData(int n) {
  std::string data(kChunk, '\0');
  std::mt19937 gen(static_cast<uint32_t>(n));
  for (auto& c : data) c = static_cast<char>(gen());
  return data;
}

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

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("pgvault-unit-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    PosixStorage storage(root_);
    Repository::Init(storage, RepositoryConfig{});
    repo_ = Open();
  }
  void TearDown() override { fs::remove_all(root_); }
  std::unique_ptr<Repository> Open() { return Repository::Open(std::make_unique<PosixStorage>(root_)); }

  // A committed backup of one file made of chunks `ids`, stored as a backup
  // does (locked, dedup against the index, packs of `per_pack` chunks, index
  // file, file list, manifest).
  void AddBackup(const std::string& id, const std::vector<int>& ids, size_t per_pack = 4) {
    auto lock = repo_->LockForWrite("backup");
    ChunkIndex index = ChunkIndex::Load(repo_->storage(), true);
    PackWriter writer(repo_->storage(), 8 + static_cast<uint64_t>(per_pack) * kChunk);
    FileEntry f;
    f.path = "base/1/" + id;
    for (int n : ids) {
      std::string data = ChunkData(n);
      Digest d = Sha256(data);
      f.chunks.push_back(d);
      f.size += data.size();
      if (index.Find(d)) continue;
      writer.Add(d, Codec::kNone, data, kChunk);
      PackRecord one{"", 0, {PackEntry{d, 0, kChunk, kChunk, Codec::kNone, 0}}};
      one.path = "(pending)";
      index.AddPack(one);  // dedup within the backup
    }
    writer.Flush();
    f.checksum = FileChecksum(f.chunks);
    std::vector<PackRecord> packs = index.adopted();
    packs.insert(packs.end(), writer.records().begin(), writer.records().end());
    ChunkIndex::WriteIndexFile(repo_->storage(), packs);
    BackupManifest m =
        test::PlausibleManifest(id, "2026-01-01T00:00:0" + std::to_string(backups_++) + ".000Z", kChunk);
    repo_->CommitBackup(m, {f});
    contents_[id] = ids;
  }

  // Reads every chunk of backup `id` through a fresh index (no relocation):
  // the index files present must locate each one in a pack that exists.
  void ExpectReadable(const std::string& id) {
    auto repo = Open();
    auto files = repo->LoadFileList(repo->LoadBackup(id));
    ChunkIndex index = ChunkIndex::Load(repo->storage(), false);
    ChunkReader reader(repo->storage(), index);
    std::string plain;
    ASSERT_EQ(files.size(), 1u);
    for (size_t i = 0; i < files[0].chunks.size(); ++i) {
      ASSERT_NO_THROW(reader.Read(files[0].chunks[i], plain)) << "backup " << id << " chunk " << i;
      EXPECT_EQ(plain, ChunkData(contents_[id][i]));
    }
  }

  // Property L of the format (section 16.3): every pack an index file lists
  // exists. Readers that take the first copy they find (older pgvault, the
  // format's reference script) depend on it; this one would fall back.
  void ExpectNoIndexFileListsAMissingPack() {
    for (const auto& o : repo_->storage().List("index"))
      for (const auto& p : ReadIndexFile(repo_->storage(), o.path))
        EXPECT_TRUE(repo_->storage().Exists(p.path)) << o.path << " lists " << p.path << ", which is gone";
  }

  GcReport Gc(bool dry_run = false, double threshold = 0.5) {
    auto lock = repo_->LockForWrite("repo gc", !dry_run);
    GcOptions o;
    o.dry_run = dry_run;
    o.repack_threshold = threshold;
    return CollectGarbage(*repo_, *lock, o);
  }

  void Delete(const std::string& id) {
    auto lock = repo_->LockForWrite("repo delete-backup");
    repo_->DeleteBackup(id);
  }

  size_t Count(const std::string& area, const std::string& suffix) {
    size_t n = 0;
    for (const auto& o : repo_->storage().List(area)) n += o.path.ends_with(suffix);
    return n;
  }
  std::vector<std::string> Tree() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root_))
      if (e.path().filename() != "lock") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  // B1 = chunks 1..9 (packs [1-4] [5-8] [9]), B2 = 8, 9, 10 (pack [10]).
  // Once B1 is deleted: [1-4] goes whole, [5-8] is 3/4 garbage (repacked),
  // [9] and [10] stay.
  void TwoBackups() {
    AddBackup("20260101T000000F", {1, 2, 3, 4, 5, 6, 7, 8, 9});
    AddBackup("20260101T000001F", {8, 9, 10});
  }

  std::string root_;
  std::unique_ptr<Repository> repo_;
  std::map<std::string, std::vector<int>> contents_;
  int backups_ = 0;
};

}  // namespace

TEST_F(GcTest, DeletingABackupThenGcReclaimsExactlyItsOwnChunks) {
  TwoBackups();
  ASSERT_EQ(Count("packs", ".pack"), 4u);
  GcReport nothing = Gc();
  EXPECT_EQ(nothing.packs_removed + nothing.packs_repacked + nothing.index_files_removed, 0u)
      << "gc with every backup kept removed something";

  Delete("20260101T000000F");
  EXPECT_EQ(repo_->ListBackups().backups.size(), 1u);
  EXPECT_FALSE(fs::exists(root_ + "/backups/20260101T000000F")) << "the backup directory stays";

  GcReport dry = Gc(/*dry_run=*/true);
  EXPECT_EQ(Count("packs", ".pack"), 4u) << "a dry run removed packs";
  GcReport r = Gc();
  EXPECT_EQ(dry.packs_removed, r.packs_removed);
  EXPECT_EQ(dry.packs_repacked, r.packs_repacked);
  EXPECT_EQ(r.backups, 1u);
  EXPECT_EQ(r.referenced_chunks, 3u);
  EXPECT_EQ(r.packs_examined, 4u);
  EXPECT_EQ(r.packs_removed, 1u);
  EXPECT_EQ(r.packs_repacked, 1u);
  EXPECT_EQ(r.chunks_repacked, 1u);
  EXPECT_EQ(r.packs_written, 1u);
  EXPECT_EQ(r.bytes_referenced, 3u * kChunk);
  EXPECT_GT(r.bytes_reclaimed, 6u * kChunk);
  EXPECT_LT(r.bytes_reclaimed, 8u * kChunk);
  EXPECT_EQ(Count("packs", ".pack"), 3u);  // [9], [10], the new [8]
  ExpectReadable("20260101T000001F");

  GcReport again = Gc();
  EXPECT_EQ(again.packs_removed + again.packs_repacked + again.index_files_removed + again.index_files_written, 0u)
      << "a second gc found more to do";
  EXPECT_EQ(again.bytes_unreferenced_kept, 0u);

  // Everything deleted: nothing is left but the configuration.
  Delete("20260101T000001F");
  GcReport all = Gc();
  EXPECT_EQ(all.packs_removed, 3u);
  EXPECT_EQ(Count("packs", ".pack"), 0u);
  EXPECT_EQ(Count("index", ".json.zst"), 0u);
  EXPECT_TRUE(fs::is_empty(root_ + "/backups"));
  EXPECT_TRUE(fs::is_empty(root_ + "/packs")) << "empty pack directories stay";
}

TEST_F(GcTest, ReadersWithAnIndexLoadedBeforeGcFindTheChunksMoved) {
  TwoBackups();
  Delete("20260101T000000F");
  auto reader_repo = Open();
  ChunkIndex stale = ChunkIndex::Load(reader_repo->storage(), false);  // loaded before gc, as restore would
  auto files = reader_repo->LoadFileList(reader_repo->LoadBackup("20260101T000001F"));
  Gc();
  std::string plain;
  ChunkReader without(reader_repo->storage(), stale);
  EXPECT_NE(ErrorOf([&] { without.Read(files[0].chunks[0], plain); }).find("is missing"), std::string::npos);
  ChunkRelocator relocator(reader_repo->storage());
  ChunkReader with(reader_repo->storage(), stale, &relocator);
  for (size_t i = 0; i < files[0].chunks.size(); ++i) {
    ASSERT_NO_THROW(with.Read(files[0].chunks[i], plain)) << i;
    EXPECT_EQ(plain, ChunkData(contents_["20260101T000001F"][i]));
  }
}

TEST_F(GcTest, GcRefusesWhenAManifestOrAFileListCannotBeReadAndRemovesNothing) {
  TwoBackups();
  Delete("20260101T000000F");
  AddBackup("20260101T000002F", {11});
  auto before = Tree();
  std::string manifest = root_ + "/backups/20260101T000002F/manifest.json";
  std::string original = repo_->storage().Read("backups/20260101T000002F/manifest.json");
  fs::resize_file(manifest, original.size() / 2);
  std::string error = ErrorOf([&] { Gc(); });
  EXPECT_NE(error.find("backup 20260101T000002F"), std::string::npos) << error;
  EXPECT_NE(error.find("delete-backup"), std::string::npos) << error;
  EXPECT_NE(error.find("removes nothing"), std::string::npos) << error;
  EXPECT_EQ(Tree(), before) << "a refused gc changed the repository";

  repo_->storage().Write("backups/20260101T000002F/manifest.json", original);
  repo_->storage().Write("backups/20260101T000002F/files.json.zst", "damaged");
  before = Tree();
  error = ErrorOf([&] { Gc(); });
  EXPECT_NE(error.find("file list of backup 20260101T000002F"), std::string::npos) << error;
  EXPECT_EQ(Tree(), before);

  // A referenced chunk that no pack holds (a pack lost by hand).
  Delete("20260101T000002F");
  for (const auto& o : repo_->storage().List("packs")) {
    auto trailer = ReadPackTrailer(repo_->storage(), o.path, o.size);
    if (trailer.entries.size() == 1 && trailer.entries[0].id == Sha256(ChunkData(10))) repo_->storage().Remove(o.path);
  }
  before = Tree();
  error = ErrorOf([&] { Gc(); });
  EXPECT_NE(error.find("of backup 20260101T000001F needs chunk"), std::string::npos) << error;
  EXPECT_NE(error.find("pgvault verify"), std::string::npos) << error;
  EXPECT_EQ(Tree(), before);
}

TEST_F(GcTest, OrphanPacksAreRemovedWhenUnreferencedAndAdoptedWhenTheyHoldTheOnlyCopy) {
  AddBackup("20260101T000000F", {1, 2});
  // A backup whose index file was lost: its pack is an orphan holding the only copy.
  AddBackup("20260101T000001F", {3});
  std::string lost_index;
  for (const auto& o : repo_->storage().List("index"))
    for (const auto& p : ReadIndexFile(repo_->storage(), o.path))
      for (const auto& e : p.entries)
        if (e.id == Sha256(ChunkData(3))) lost_index = o.path;
  ASSERT_FALSE(lost_index.empty());
  repo_->storage().Remove(lost_index);
  // A killed backup's pack: committed, in no index file, nothing referenced.
  {
    PackWriter writer(repo_->storage(), 1 << 30);
    std::string data = ChunkData(50);
    writer.Add(Sha256(data), Codec::kNone, data, kChunk);
    writer.Flush();
  }

  GcReport r = Gc();
  EXPECT_EQ(r.orphan_packs, 2u);
  EXPECT_EQ(r.packs_removed, 1u);
  EXPECT_EQ(r.index_files_written, 1u) << "the orphan holding chunk 3 was not listed again";
  EXPECT_EQ(Count("packs", ".pack"), 2u);
  ExpectReadable("20260101T000000F");
  ExpectReadable("20260101T000001F");  // through the index gc wrote, without adopting
}

TEST_F(GcTest, DeleteBackupWorksWithoutAReadableManifestAndRefusesUnknownIds) {
  AddBackup("20260101T000000F", {1});
  AddBackup("20260101T000001F", {2});
  std::string error = ErrorOf([&] { Delete("20260101T000009F"); });
  EXPECT_NE(error.find("backup '20260101T000009F' does not exist"), std::string::npos) << error;
  EXPECT_NE(error.find("20260101T000000F, 20260101T000001F"), std::string::npos) << error;
  for (const char* evil : {"../config.json", "..", ".", "", "a/b", "20260101T000000F/../x"})
    EXPECT_NE(ErrorOf([&] { Delete(evil); }).find("does not exist"), std::string::npos) << evil;
  EXPECT_TRUE(fs::exists(root_ + "/config.json"));

  repo_->storage().Write("backups/20260101T000001F/manifest.json", "{ not json");
  ASSERT_EQ(repo_->ListBackups().unreadable.size(), 1u);
  error = ErrorOf([&] { Delete("20260101T000005F"); });
  EXPECT_NE(error.find("20260101T000001F (unreadable)"), std::string::npos) << error;
  Delete("20260101T000001F");
  EXPECT_TRUE(repo_->ListBackups().unreadable.empty());
  EXPECT_FALSE(fs::exists(root_ + "/backups/20260101T000001F"));
  Gc();
  ExpectReadable("20260101T000000F");
}

TEST_F(GcTest, ABackupDirectoryWithoutAManifestIsNoBackupAndTheNextLockHolderRemovesIt) {
  AddBackup("20260101T000000F", {1});
  AddBackup("20260101T000001F", {2});
  // As a delete-backup killed right after its uncommit leaves it: forgotten
  // in the history, then the manifest removed.
  test::ForgetInHistory(repo_->storage(), "20260101T000001F");
  fs::remove(root_ + "/backups/20260101T000001F/manifest.json");
  ASSERT_TRUE(fs::exists(root_ + "/backups/20260101T000001F/files.json.zst"));
  EXPECT_EQ(repo_->ListBackups().backups.size(), 1u);
  EXPECT_TRUE(repo_->ListBackups().unreadable.empty());
  EXPECT_NE(ErrorOf([&] { Delete("20260101T000001F"); }).find("does not exist"), std::string::npos);
  // The refused delete took the lock: the directory is gone already.
  EXPECT_FALSE(fs::exists(root_ + "/backups/20260101T000001F"));
  // An empty one (a backup killed before its file list) too.
  fs::create_directories(root_ + "/backups/20260101T000002F");
  repo_->LockForWrite("backup");
  EXPECT_FALSE(fs::exists(root_ + "/backups/20260101T000002F"));
  // A dry run's lock leaves them.
  fs::create_directories(root_ + "/backups/20260101T000003F");
  repo_->LockForWrite("repo gc --dry-run", false);
  EXPECT_TRUE(fs::exists(root_ + "/backups/20260101T000003F"));
}

TEST_F(GcTest, KillNineAtEveryStepOfGcLeavesEveryKeptBackupReadable) {
  for (const std::string point : {"gc-packs-written", "gc-index-written", "gc-index-removed", "gc-packs-half-removed",
                                  "delete-backup-uncommitted"}) {
    SCOPED_TRACE(point);
    TearDown();
    SetUp();
    contents_.clear();
    backups_ = 0;
    TwoBackups();
    AddBackup("20260101T000002F", {20, 21, 22, 23, 24, 25, 26, 27, 28});  // more packs to remove
    if (point != "delete-backup-uncommitted") {
      Delete("20260101T000000F");
      Delete("20260101T000002F");
    }
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      setenv("PGVAULT_TEST_PAUSE_AT", point.c_str(), 1);
      try {
        auto repo = Open();
        auto lock = repo->LockForWrite("test");
        if (point == "delete-backup-uncommitted") repo->DeleteBackup("20260101T000000F");
        CollectGarbage(*repo, *lock, GcOptions{});
      } catch (...) {
        _exit(3);
      }
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
    ASSERT_TRUE(WIFSTOPPED(status)) << "never paused at " << point << " (status " << status << ")";
    kill(child, SIGKILL);
    waitpid(child, &status, 0);

    // As left by the kill: every kept backup reads through the index files
    // present, without reloading and without adopting anything (R), and no
    // index file lists a pack that is gone (L).
    ExpectReadable("20260101T000001F");
    ExpectNoIndexFileListsAMissingPack();
    if (point == "delete-backup-uncommitted") {
      EXPECT_EQ(repo_->ListBackups().backups.size(), 2u) << "an uncommitted backup is listed";
      Delete("20260101T000002F");
    }
    // The next gc finishes the work: the same end state as an uninterrupted one.
    Gc();
    ExpectReadable("20260101T000001F");
    ExpectNoIndexFileListsAMissingPack();
    EXPECT_EQ(Count("packs", ".pack"), 3u);
    EXPECT_EQ(repo_->storage().List("backups").size(), 2u);  // one manifest, one file list
    GcReport again = Gc();
    EXPECT_EQ(again.packs_removed + again.packs_repacked + again.index_files_removed, 0u);
  }
}
