// verify reads chunks through the index files, which are copies of the packs'
// trailers: a damaged trailer (entry table or footer) left the chunks readable
// and went unreported, though it is all that describes the pack once the index
// files are lost. Found by bench/fault-campaign (flips).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/dataset.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

namespace {

void XorByte(const std::string& path, uint64_t offset, unsigned char mask) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  c = static_cast<char>(static_cast<unsigned char>(c) ^ mask);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(c);
}

}  // namespace

TEST(PackTrailerVerify, AFlippedByteInAPacksEntryTableOrFooterIsReported) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 1, 2, "");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  ASSERT_EQ(Pgvault({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()}).exit_code, 0);
  std::string pack;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/packs"))
    if (e.is_regular_file() && e.path().extension() == ".pack") pack = e.path().string();
  ASSERT_FALSE(pack.empty());
  const std::string pack_object = fs::relative(pack, repo).string();
  const uint64_t size = fs::file_size(pack);
  RunResult clean = Pgvault({"verify", "--repo", repo});
  ASSERT_EQ(clean.exit_code, 0) << clean.out << clean.err;

  // the first entry's chunk id, the footer's entry count, its checksum of the
  // entry table, its reserved word
  std::ifstream in(pack, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(size - 48));
  uint32_t count = 0;
  in.read(reinterpret_cast<char*>(&count), 4);
  ASSERT_GT(count, 0u);
  const uint64_t entries = size - 48 - 52ull * count;
  for (uint64_t offset : std::initializer_list<uint64_t>{entries, entries + 40, size - 48, size - 48 + 4, size - 48 + 20}) {
    XorByte(pack, offset, 0x5a);
    RunResult r = Pgvault({"verify", "--repo", repo});
    EXPECT_NE(r.exit_code, 0) << "byte " << offset << " of " << pack_object << " (size " << size << "): " << r.out;
    EXPECT_NE((r.out + r.err).find(pack_object), std::string::npos) << r.out << r.err;
    XorByte(pack, offset, 0x5a);
  }
  EXPECT_EQ(Pgvault({"verify", "--repo", repo}).exit_code, 0);
}
