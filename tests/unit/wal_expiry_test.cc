// WAL expiry (wal/wal_expiry.h): which archived files go, on every timeline,
// and that history files and everything from the cut on stay.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "core/error.h"
#include "pg/lsn.h"
#include "repo/repository.h"
#include "storage/posix_storage.h"
#include "wal/wal_archive.h"
#include "wal/wal_expiry.h"

using namespace pgvault;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k16M = 16u << 20;
constexpr uint32_t k64M = 64u << 20;
}  // namespace

TEST(WalExpiry, TheRuleByName) {
  // 16 MiB segments: 256 per "log"; segment 0x1_05 = 256 + 5 = 261.
  uint64_t cut = SegmentNumber(ParseLsn("1/05000028"), k16M);
  EXPECT_EQ(cut, 261u);
  EXPECT_TRUE(WalFileExpires("000000010000000100000004", cut, k16M));
  EXPECT_FALSE(WalFileExpires("000000010000000100000005", cut, k16M)) << "the segment holding the LSN stays";
  EXPECT_FALSE(WalFileExpires("000000010000000100000006", cut, k16M));
  EXPECT_TRUE(WalFileExpires("0000000100000000000000FF", cut, k16M));
  // Every timeline alike: the segment number is the position in WAL.
  EXPECT_TRUE(WalFileExpires("000000070000000100000004", cut, k16M));
  EXPECT_FALSE(WalFileExpires("000000020000000100000005", cut, k16M));
  EXPECT_TRUE(WalFileExpires("000000010000000100000004.partial", cut, k16M));
  EXPECT_FALSE(WalFileExpires("000000010000000100000005.partial", cut, k16M));
  EXPECT_TRUE(WalFileExpires("000000010000000100000004.00000028.backup", cut, k16M));
  EXPECT_FALSE(WalFileExpires("000000010000000100000005.00000028.backup", cut, k16M)) << "a .backup of the kept segment";
  // Never history files, never anything else.
  EXPECT_FALSE(WalFileExpires("00000001.history", ~0ull, k16M));
  EXPECT_FALSE(WalFileExpires("00000002.history", ~0ull, k16M));
  EXPECT_FALSE(WalFileExpires(".tmp-000000010000000000000001-1234", ~0ull, k16M));
  EXPECT_FALSE(WalFileExpires("000000010000000000000001.tmp", ~0ull, k16M));
  // 64 MiB segments: 64 per log; 1/05000028 is in segment 64 + 1.
  uint64_t cut64 = SegmentNumber(ParseLsn("1/05000028"), k64M);
  EXPECT_EQ(cut64, 65u);
  EXPECT_TRUE(WalFileExpires("000000010000000100000000", cut64, k64M));
  EXPECT_FALSE(WalFileExpires("000000010000000100000001", cut64, k64M));
}

TEST(WalExpiry, RemovesExactlyTheFilesBeforeTheCutAndReports) {
  std::string root = fs::temp_directory_path() / ("pgvault-unit-" + std::to_string(std::random_device{}()));
  fs::create_directories(root);
  {
    PosixStorage init(root);
    Repository::Init(init, RepositoryConfig{});
  }
  auto repo = Repository::Open(std::make_unique<PosixStorage>(root));
  std::vector<std::string> gone = {"0000000100000000000000FE", "0000000100000000000000FF", "000000010000000100000000",
                                   "000000010000000100000000.partial", "000000010000000100000000.00000028.backup",
                                   "000000020000000100000000"};
  std::vector<std::string> kept = {"00000001.history", "00000002.history", "000000010000000100000001",
                                   "000000010000000100000001.00000060.backup", "000000020000000100000001",
                                   "000000020000000100000002", "000000030000000200000000"};
  for (const auto& name : gone) repo->storage().Write(WalArchive::ObjectPath(name), "0123456789");
  for (const auto& name : kept) repo->storage().Write(WalArchive::ObjectPath(name), "012345");
  auto lock = repo->LockForWrite("wal expire");
  WalExpiryOptions o;
  o.before = ParseLsn("1/1000000");  // inside segment 1/01: it stays
  o.segment_size = k16M;
  o.dry_run = true;
  WalExpiryReport dry = ExpireWal(*repo, *lock, o);
  for (const auto& name : gone) EXPECT_TRUE(repo->storage().Exists(WalArchive::ObjectPath(name))) << name;
  o.dry_run = false;
  WalExpiryReport r = ExpireWal(*repo, *lock, o);
  for (const auto& name : gone) EXPECT_FALSE(repo->storage().Exists(WalArchive::ObjectPath(name))) << name;
  for (const auto& name : kept) EXPECT_TRUE(repo->storage().Exists(WalArchive::ObjectPath(name))) << name;
  for (const WalExpiryReport* w : {&dry, &r}) {
    EXPECT_EQ(w->segments_removed, 4u);
    EXPECT_EQ(w->partial_removed, 1u);
    EXPECT_EQ(w->backup_files_removed, 1u);
    EXPECT_EQ(w->bytes_removed, 60u);
    EXPECT_EQ(w->files_kept, kept.size());
    EXPECT_EQ(w->bytes_kept, 6 * kept.size());
    EXPECT_EQ(w->history_files, 2u);
    EXPECT_EQ(w->kept_from, "1/1000000");
  }
  EXPECT_FALSE(fs::exists(root + "/wal/0000000100000000")) << "a directory emptied by expiry stays";
  EXPECT_TRUE(fs::exists(root + "/wal/0000000100000001"));
  // A push into a directory that expiry removed makes it again.
  repo->storage().Write(WalArchive::ObjectPath("0000000100000000000000AA"), "x");
  EXPECT_TRUE(repo->storage().Exists(WalArchive::ObjectPath("0000000100000000000000AA")));
  o.segment_size = 3 << 20;
  EXPECT_THROW(ExpireWal(*repo, *lock, o), Error);
  fs::remove_all(root);
}
