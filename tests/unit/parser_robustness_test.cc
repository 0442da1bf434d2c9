// Regression tests for inputs the fuzz/ targets found: a parser of untrusted
// bytes refuses them with pgvault::Error (naming the input), never with
// another exception that would end the process.
#include <gtest/gtest.h>

#include "compress/codec.h"
#include "core/error.h"
#include "core/little_endian.h"
#include "repo/backup_history.h"
#include "wal/wal_object.h"

namespace pgvault {
namespace {

// fuzz/backup_history_fuzzer: a "format" that is a number made j.value()
// throw nlohmann's type_error outside the parser's try.
TEST(ParserRobustness, BackupHistoryWithANumericFormatIsDamage) {
  EXPECT_THROW(BackupHistory::FromText(R"({"backups": "x", "format": 2})", "history.json"), IntegrityError);
  EXPECT_THROW(BackupHistory::FromText(R"({"format": ["pgvault-backup-history"]})", "history.json"), IntegrityError);
}

// fuzz/chunk_fuzzer: an empty stored chunk (codec none, raw size 0) into an
// empty buffer memcpy'd from/to null pointers, which UBSan (scripts/sanitize)
// reports as undefined behaviour.
TEST(ParserRobustness, AnEmptyUncompressedChunkDecodesIntoAnEmptyBuffer) {
  DecompressInto(Codec::kNone, std::string_view(), 0, nullptr);
  EXPECT_THROW(DecompressInto(Codec::kNone, std::string_view("x"), 0, nullptr), IntegrityError);
}

// fuzz/wal_object_fuzzer: a 72-byte object whose header claims 0xff000000
// bytes (digest of the plaintext, so nothing is checked before decoding) made
// Decompress allocate 4 GB. Now refused from the header and the payload alone.
TEST(ParserRobustness, AForgedWalObjectSizeIsRefusedBeforeAnythingIsAllocated) {
  std::string segment(16384, 'w');
  for (Codec codec : {Codec::kNone, Codec::kZstd, Codec::kLz4}) {
    std::string object = EncodeWalObject(segment, codec, 1, 42, 0);
    ASSERT_EQ(DecodeWalObject(object, "wal"), segment);
    for (uint64_t forged : {uint64_t{0xff000000}, kMaxWalObjectSize + 1, uint64_t{16385}, uint64_t{16383}}) {
      std::string bad = object;
      std::string size;
      PutLe64(size, forged);
      bad.replace(16, 8, size);
      EXPECT_THROW(DecodeWalObject(bad, "wal"), IntegrityError) << CodecName(codec) << " " << forged;
    }
  }
}

// The same one level down: a chunk's raw size from a damaged index entry.
TEST(ParserRobustness, AChunkSizeItsBytesCannotDecodeToIsRefused) {
  std::string raw(65536, 'c');
  for (Codec codec : {Codec::kZstd, Codec::kLz4}) {
    Compressor compressor(codec, 1);
    std::string stored;
    ASSERT_EQ(compressor.Compress(raw, stored), codec);
    std::string out;
    Decompress(codec, stored, raw.size(), out);
    EXPECT_EQ(out, raw);
    // Judged from the stored bytes alone, before an output buffer exists.
    EXPECT_NO_THROW(CheckDecodableSize(codec, stored, raw.size()));
    EXPECT_THROW(CheckDecodableSize(codec, stored, size_t{1} << 40), IntegrityError) << CodecName(codec);
    EXPECT_THROW(Decompress(codec, stored, size_t{1} << 40, out), IntegrityError) << CodecName(codec);
    EXPECT_THROW(Decompress(codec, stored, raw.size() + 1, out), IntegrityError) << CodecName(codec);
    EXPECT_THROW(Decompress(codec, std::string_view(stored).substr(0, stored.size() / 2), raw.size(), out),
                 IntegrityError)
        << CodecName(codec);
  }
  std::string out;
  EXPECT_THROW(Decompress(Codec::kZstd, "not a frame at all", 10, out), IntegrityError);
}

}  // namespace
}  // namespace pgvault
