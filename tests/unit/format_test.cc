// Unit tests of the repository format's building blocks.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "compress/codec.h"
#include "core/error.h"
#include "core/hex.h"
#include "crypto/sha256.h"
#include "pg/data_directory.h"
#include "pg/lsn.h"
#include "repo/backup_manifest.h"
#include "repo/pack_format.h"

using namespace pgvault;

TEST(Sha256, KnownVector) {
  EXPECT_EQ(DigestHex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(DigestHex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Hex, RoundTripAndRejects) {
  std::vector<uint8_t> bytes = {0x00, 0x7f, 0xff, 0x10};
  EXPECT_EQ(HexEncode(bytes), "007fff10");
  EXPECT_EQ(HexDecode("007FFF10"), bytes);
  EXPECT_THROW(HexDecode("abc"), Error);
  EXPECT_THROW(HexDecode("zz"), Error);
}

TEST(Codec, RoundTripEveryCodec) {
  std::string text(1 << 20, '\0');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>("postgres"[i % 8]);
  for (Codec c : {Codec::kNone, Codec::kZstd, Codec::kLz4}) {
    Compressor compressor(c, 1);
    std::string stored, back;
    Codec used = compressor.Compress(text, stored);
    EXPECT_EQ(used, c);
    Decompress(used, stored, text.size(), back);
    EXPECT_EQ(back, text);
  }
}

TEST(Codec, IncompressibleDataIsStoredRaw) {
  std::mt19937_64 rng(42);
  std::string random(1 << 16, '\0');
  for (auto& ch : random) ch = static_cast<char>(rng());
  Compressor compressor(Codec::kZstd, 1);
  std::string stored;
  EXPECT_EQ(compressor.Compress(random, stored), Codec::kNone);
  EXPECT_EQ(stored, random);
}

TEST(Codec, CorruptFrameIsAnIntegrityError) {
  std::string text(100000, 'x');
  Compressor compressor(Codec::kZstd, 1);
  std::string stored, back;
  compressor.Compress(text, stored);
  stored[stored.size() / 2] ^= 0x5a;
  stored[3] ^= 0x01;
  EXPECT_THROW(Decompress(Codec::kZstd, stored, text.size(), back), IntegrityError);
  EXPECT_THROW(Decompress(Codec::kNone, "abc", 4, back), IntegrityError);
}

TEST(PackFormat, TrailerRoundTripAndDamageDetection) {
  std::vector<PackEntry> entries;
  for (int i = 0; i < 3; ++i) {
    PackEntry e;
    e.id = Sha256(std::to_string(i));
    e.offset = 8 + i * 100;
    e.stored_size = 100;
    e.raw_size = 1000 + i;
    e.codec = i == 1 ? Codec::kLz4 : Codec::kZstd;
    entries.push_back(e);
  }
  std::string trailer = EncodePackTrailer(entries);
  ASSERT_EQ(trailer.size(), 3 * kPackEntrySize + kPackFooterSize);
  auto decoded = DecodePackTrailer(trailer, "p");
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_EQ(decoded[2].id, entries[2].id);
  EXPECT_EQ(decoded[2].raw_size, 1002u);
  EXPECT_EQ(decoded[1].codec, Codec::kLz4);
  std::string damaged = trailer;
  damaged[10] ^= 1;
  EXPECT_THROW(DecodePackTrailer(damaged, "p"), IntegrityError);
  damaged = trailer;
  damaged.back() ^= 1;
  EXPECT_THROW(DecodePackTrailer(damaged, "p"), IntegrityError);
}

TEST(Lsn, ParseFormatAndSegmentNames) {
  EXPECT_EQ(ParseLsn("16/B374D848"), 0x16B374D848ull);
  EXPECT_EQ(FormatLsn(0x16B374D848ull), "16/B374D848");
  EXPECT_THROW(ParseLsn("16-B3"), Error);
  EXPECT_THROW(ParseLsn("1/2x"), Error);
  uint32_t seg = 16 << 20;
  EXPECT_EQ(WalSegmentName(1, SegmentNumber(ParseLsn("0/2000028"), seg), seg), "000000010000000000000002");
  EXPECT_EQ(WalSegmentName(3, SegmentNumber(ParseLsn("1/FF000000"), seg), seg), "0000000300000001000000FF");
  EXPECT_TRUE(IsWalSegmentName("0000000300000001000000FF"));
  EXPECT_FALSE(IsWalSegmentName("00000003.history"));
}

TEST(DataDirectory, RelationFileNames) {
  uint32_t seg = 99;
  EXPECT_TRUE(IsRelationFileName("16384", &seg));
  EXPECT_EQ(seg, 0u);
  EXPECT_TRUE(IsRelationFileName("16384.12", &seg));
  EXPECT_EQ(seg, 12u);
  EXPECT_TRUE(IsRelationFileName("16384_fsm", &seg));
  EXPECT_TRUE(IsRelationFileName("16384_vm.1", &seg));
  EXPECT_EQ(seg, 1u);
  EXPECT_FALSE(IsRelationFileName("pg_filenode.map", nullptr));
  EXPECT_FALSE(IsRelationFileName("PG_VERSION", nullptr));
  EXPECT_FALSE(IsRelationFileName("16384_xyz", nullptr));
  EXPECT_FALSE(IsRelationFileName("16384.", nullptr));
}

TEST(Manifest, FileListRoundTrip) {
  FileEntry f;
  f.path = "base/5/16384";
  f.size = 3 << 20;
  f.mode = 0600;
  f.mtime = 1700000000;
  f.uid = 105;
  f.user = "postgres";
  f.chunks = {Sha256("a"), Sha256("b"), Sha256("c")};
  f.checksum = FileChecksum(f.chunks);
  FileEntry d;
  d.path = "base";
  d.type = FileType::kDirectory;
  d.mode = 0700;
  FileEntry l;
  l.path = "pg_tblspc/16390";
  l.type = FileType::kSymlink;
  l.link_target = "/srv/ts";
  auto back = FileListFromJson(FileListToJson({f, d, l}), "test");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].chunks, f.chunks);
  EXPECT_EQ(back[0].checksum, f.checksum);
  EXPECT_EQ(back[0].mode, 0600u);
  EXPECT_EQ(back[1].type, FileType::kDirectory);
  EXPECT_EQ(back[2].link_target, "/srv/ts");
  EXPECT_NE(FileChecksum({Sha256("b"), Sha256("a")}), FileChecksum({Sha256("a"), Sha256("b")}));
}
