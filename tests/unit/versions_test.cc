// Every versioned object refuses a format version it does not implement, in
// the same words, and config.json is only ever accepted as `repo init` makes it.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "repo/backup_manifest.h"
#include "repo/chunk_index.h"
#include "repo/chunk_reader.h"
#include "repo/compressed_json.h"
#include "repo/pack_format.h"
#include "repo/pack_writer.h"
#include "repo/repository.h"
#include "repo/sealed_json.h"
#include "storage/posix_storage.h"
#include "wal/wal_archive.h"

using namespace pgvault;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Runs `f`, expects it to throw E, and returns the message.
template <typename E, typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

class VersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("pgvault-unit-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    storage_ = std::make_unique<PosixStorage>(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  json Config() { return json::parse(storage_->Read("config.json")); }
  // Sealed again (sealed_json.h): these tests are about the values, not the seal.
  void WriteConfig(const json& j) { storage_->Write("config.json", SealJson(j)); }
  std::unique_ptr<Repository> Open() { return Repository::Open(std::make_unique<PosixStorage>(root_)); }
  void PokeByte(const std::string& path, uint64_t offset, char value) {
    std::fstream f(root_ + "/" + path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(value);
  }

  std::string root_;
  std::unique_ptr<PosixStorage> storage_;
};

}  // namespace

TEST_F(VersionsTest, ConfigRefusesEveryVersionButOne) {
  Repository::Init(*storage_, RepositoryConfig{});
  json good = Config();
  for (int version : {0, -1, 1, 3}) {
    json j = good;
    j["version"] = version;
    WriteConfig(j);
    std::string message = ErrorOf<Error>([&] { Open(); });
    EXPECT_CONTAINS(message, fmt::format("config.json: unsupported format version {}; this pgvault reads version 2",
                                         version));
    EXPECT_EQ(message.find("upgrade pgvault") != std::string::npos, version > 2) << message;
    EXPECT_EQ(message.find("written by an older pgvault") != std::string::npos, version == 1) << message;
  }
  json j = good;
  j["version"] = "1";
  WriteConfig(j);
  EXPECT_CONTAINS(ErrorOf<Error>([&] { Open(); }), "is damaged");
  WriteConfig(good);
  EXPECT_NO_THROW(Open());
}

TEST_F(VersionsTest, ConfigAcceptsExactlyTheChunkAndPackSizesRepoInitAllows) {
  Repository::Init(*storage_, RepositoryConfig{});
  json good = Config();
  // Mirrors the --chunk-size check in src/command/repo_init_command.cc.
  for (uint64_t size : {8192ull, 16384ull, 1ull << 20, 16ull << 20}) {
    json j = good;
    j["chunking"]["chunk_size"] = size;
    WriteConfig(j);
    EXPECT_NO_THROW(Open()) << size;
  }
  for (uint64_t size : {4096ull, 8192ull + 4096, 12288ull, (16ull << 20) + 8192, 64ull << 20}) {
    json j = good;
    j["chunking"]["chunk_size"] = size;
    WriteConfig(j);
    EXPECT_CONTAINS(ErrorOf<Error>([&] { Open(); }), fmt::format("chunk_size {} is not a multiple of 8192", size));
  }
  json j = good;
  j["pack_size"] = (1 << 20) - 1;
  WriteConfig(j);
  EXPECT_CONTAINS(ErrorOf<Error>([&] { Open(); }), "pack_size 1048575 is below the minimum");
  j["pack_size"] = 1 << 20;
  WriteConfig(j);
  EXPECT_NO_THROW(Open());
}

// The first backup binds the repository under the writer lock and holds the
// lock until it ends, waiting meanwhile for its WAL to be archived. A push
// (or the long-lived asynchronous worker) that opened the repository before
// that bind must take the binding, not ask for the lock: it was refused
// until the backup ended, and the backup waited for it.
TEST_F(VersionsTest, APushThatOpenedAnUnboundRepositoryTakesABindingMadeUnderAnotherLock) {
  Repository::Init(*storage_, RepositoryConfig{});
  auto pusher = Open();
  auto backup = Open();
  auto lock = backup->LockForWrite("backup");
  backup->BindSystemIdentifier(7711810645444633105ull);
  // A segment's first page: magic 0xD110, XLP_LONG_HEADER, timeline 1, then
  // the long header's system identifier at byte 24.
  std::string segment(8192, '\0');
  segment[0] = '\x10', segment[1] = '\xD1', segment[2] = '\x02', segment[4] = '\x01';
  uint64_t sysid = 7711810645444633105ull;
  std::memcpy(segment.data() + 24, &sysid, sizeof sysid);
  EXPECT_EQ(BindRepositoryForWal(*pusher, "000000010000000000000001", segment), sysid);
}

// The first backup can start while the first wal-push holds the lock to
// record the system identifier: it waits for that push instead of failing.
// Any other holder is refused at once, naming it.
TEST_F(VersionsTest, ABackupWaitsForAWalPushBindingAndNoOtherHolder) {
  Repository::Init(*storage_, RepositoryConfig{});
  auto pusher = Open();
  auto backup = Open();
  auto push_lock = std::make_unique<std::unique_ptr<StorageLock>>(pusher->LockForWrite("wal-push", false));
  auto start = std::chrono::steady_clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    push_lock.reset();
  });
  auto lock = backup->LockForWrite("backup");
  release.join();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1400));
  // Now the backup holds it: gc is refused at once.
  auto gc = Open();
  start = std::chrono::steady_clock::now();
  EXPECT_CONTAINS(ErrorOf<LockHeldError>([&] { gc->LockForWrite("repo gc"); }), "'backup'");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(VersionsTest, RecordingTheSystemIdentifierKeepsKeysThisVersionDoesNotKnow) {
  Repository::Init(*storage_, RepositoryConfig{});
  json j = Config();
  j["retention"] = {{"full", 7}};           // a key from a later pgvault
  j["chunking"]["window"] = 4096;           // nested too
  WriteConfig(j);
  auto repo = Open();
  auto lock = repo->LockForWrite("test");
  repo->BindSystemIdentifier(7711810645444633105ull);
  json after = Config();
  EXPECT_EQ(after["system_identifier"], "7711810645444633105");
  EXPECT_EQ(after["retention"], j["retention"]);
  EXPECT_EQ(after["chunking"]["window"], 4096);
  EXPECT_EQ(repo->config().system_identifier, 7711810645444633105ull);
  EXPECT_CONTAINS(ErrorOf<Error>([&] { repo->BindSystemIdentifier(42); }), "belongs to the cluster");
  EXPECT_EQ(Config(), after) << "a mismatch must not rewrite the config";
}

TEST_F(VersionsTest, ManifestAndFileListRefuseEveryVersionButOne) {
  BackupManifest m;
  m.id = "20260101T000000F";
  json manifest = json::parse(m.ToJson());
  json files = FileListToJson({});
  for (int version : {0, 1, 3}) {
    manifest["version"] = version;
    EXPECT_CONTAINS(ErrorOf<Error>([&] { BackupManifest::FromJson(manifest.dump(), "m.json"); }),
                    fmt::format("m.json: unsupported format version {}; this pgvault reads version 2", version));
    files["version"] = version;
    EXPECT_CONTAINS(ErrorOf<Error>([&] { FileListFromJson(files, "files.json.zst"); }),
                    fmt::format("files.json.zst: unsupported format version {}; this pgvault reads version 2",
                                version));
  }
  files.erase("version");
  EXPECT_CONTAINS(ErrorOf<IntegrityError>([&] { FileListFromJson(files, "files.json.zst"); }), "is damaged");
}

TEST_F(VersionsTest, IndexFileRefusesOtherFormatsAndVersions) {
  // Index files are named by their content (IndexFileName).
  auto write = [&](const json& doc) {
    for (const auto& o : storage_->List("index")) storage_->Remove(o.path);
    std::string stored = EncodeCompressedJson(doc);
    storage_->Write(IndexFileName(stored), stored);
    return IndexFileName(stored);
  };
  json index = {{"format", "pgvault-index"}, {"version", 3}, {"packs", json::array()}};
  std::string name = write(index);
  // Another version is not damage: it stops the reader rather than be left out.
  EXPECT_CONTAINS(ErrorOf<Error>([&] { ChunkIndex::Load(*storage_, false); }),
                  name + ": unsupported format version 3; this pgvault reads version 2: upgrade pgvault");
  index["version"] = 2;
  index["format"] = "something-else";
  write(index);
  EXPECT_CONTAINS(ErrorOf<IntegrityError>([&] { ReadIndexFile(*storage_, storage_->List("index").at(0).path); }),
                  "is not a pgvault index file");
  EXPECT_EQ(ChunkIndex::Load(*storage_, false).damaged_index_files().size(), 1u);
  index["format"] = "pgvault-index";
  write(index);
  EXPECT_TRUE(ChunkIndex::Load(*storage_, false).damaged_index_files().empty());
}

TEST_F(VersionsTest, PackHeaderIsCheckedWhenAdoptingAndWhenReading) {
  PackWriter writer(*storage_, 1 << 20);
  Digest a = Sha256("a");
  writer.Add(a, Codec::kNone, "a", 1);
  writer.Flush();
  const PackRecord pack = writer.records().at(0);
  ChunkIndex::WriteIndexFile(*storage_, writer.records());
  ChunkIndex index = ChunkIndex::Load(*storage_, false);
  std::string plain;
  ChunkReader(*storage_, index).Read(a, plain);
  EXPECT_EQ(plain, "a");

  PokeByte(pack.path, 7, '\x02');  // header version byte
  std::string message = ErrorOf<IntegrityError>([&] { ReadPackTrailer(*storage_, pack.path, pack.size); });
  EXPECT_CONTAINS(message, "(header): unsupported format version 2; this pgvault reads version 1");
  message = ErrorOf<IntegrityError>([&] { ChunkReader(*storage_, index).Read(a, plain); });
  EXPECT_CONTAINS(message, pack.path + " (header): unsupported format version 2");
  EXPECT_EQ(message.find("damaged"), std::string::npos) << "another version is not damage: " << message;

  PokeByte(pack.path, 7, '\x01');
  PokeByte(pack.path, 0, 'X');  // magic
  EXPECT_CONTAINS(ErrorOf<IntegrityError>([&] { ChunkReader(*storage_, index).Read(a, plain); }),
                  "header is damaged (bad magic)");
  // An orphan pack that cannot be read is skipped, not adopted.
  storage_->Remove(storage_->List("index").at(0).path);
  EXPECT_TRUE(ChunkIndex::Load(*storage_, true).adopted().empty());
}

TEST_F(VersionsTest, PackTrailerRefusesFlagsAndOtherFooterVersions) {
  PackEntry e;
  e.id = Sha256("x");
  e.offset = 8;
  e.stored_size = e.raw_size = 1;
  std::string trailer = EncodePackTrailer({e});
  EXPECT_NO_THROW(DecodePackTrailer(trailer, "p"));
  std::string other = trailer;
  other.back() = '\x02';
  EXPECT_CONTAINS(ErrorOf<IntegrityError>([&] { DecodePackTrailer(other, "p"); }),
                  "pack p (footer): unsupported format version 2");
  e.flags = 1;
  EXPECT_CONTAINS(ErrorOf<IntegrityError>([&] { DecodePackTrailer(EncodePackTrailer({e}), "p"); }),
                  "entry 0 has flags 0x01, unsupported in format version 2");
}
