// The archived WAL object (wal/wal_object.h): every codec round-trips, every
// damaged byte is caught, and objects of version 1 stay readable.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/error.h"
#include "core/little_endian.h"
#include "crypto/sha256.h"
#include "wal/wal_object.h"

using namespace pgvault;

namespace {

// 16 MiB that compresses like WAL: runs of structure with random words.
std::string SegmentLike() {
  std::mt19937_64 random(42);
  std::string data(16 << 20, '\0');
  for (size_t i = 0; i < data.size() / 2; i += 64) {
    uint64_t word = random();
    std::memcpy(&data[i], &word, sizeof word);
    std::memcpy(&data[i + 8], "pgbench_accounts", 16);
  }
  return data;  // the second half stays zero, like a switched segment
}

}  // namespace

TEST(WalObject, EveryCodecRoundTripsAndRecordsWhatItHashed) {
  std::string content = SegmentLike();
  for (Codec codec : {Codec::kZstd, Codec::kLz4, Codec::kNone}) {
    WalObjectHeader h;
    std::string object = EncodeWalObject(content, codec, 1, 7, 123, &h);
    EXPECT_EQ(h.version, 2);
    EXPECT_EQ(h.codec, codec);
    EXPECT_LT(object.size(), codec == Codec::kNone ? content.size() + 100 : content.size() / 2);
    WalObjectHeader parsed = DecodeWalObjectHeader(object, "test");
    EXPECT_EQ(parsed.size, content.size());
    EXPECT_EQ(parsed.system_identifier, 7u);
    EXPECT_EQ(parsed.archived_at_us, 123);
    if (codec == Codec::kLz4) {
      EXPECT_EQ(parsed.digest_of, WalObjectHeader::DigestOf::kPlaintext);
      EXPECT_EQ(parsed.sha256, Sha256(content));
    } else {
      EXPECT_EQ(parsed.digest_of, WalObjectHeader::DigestOf::kPayload);
      EXPECT_EQ(parsed.sha256, Sha256(std::string_view(object).substr(kWalObjectHeaderSize)));
    }
    EXPECT_EQ(DecodeWalObject(object, "test"), content);
  }
  // Small files (.history, .backup) take the single-frame path.
  std::string history = "1\t0/3000000\tno recovery target specified\n";
  EXPECT_EQ(DecodeWalObject(EncodeWalObject(history, Codec::kZstd, 1, 0, 0), "test"), history);
}

TEST(WalObject, AFlippedByteAnywhereIsCaught) {
  std::string content = SegmentLike();
  for (Codec codec : {Codec::kZstd, Codec::kLz4, Codec::kNone}) {
    std::string object = EncodeWalObject(content, codec, 1, 7, 123);
    // Header fields that matter, the start, middle and end of the payload.
    for (size_t at : {size_t{16}, size_t{30}, kWalObjectHeaderSize, kWalObjectHeaderSize + 1000, object.size() / 2,
                      object.size() - 1}) {
      std::string damaged = object;
      damaged[at] ^= 0x01;
      EXPECT_THROW(DecodeWalObject(damaged, "test"), IntegrityError) << CodecName(codec) << " byte " << at;
    }
    EXPECT_THROW(DecodeWalObject(object.substr(0, object.size() - 1), "test"), IntegrityError);
  }
}

TEST(WalObject, Version1ObjectsStayReadable) {
  // Version 1: the SHA-256 of the plaintext, one zstd frame without a frame
  // checksum; the byte at offset 9 was reserved (zero).
  std::string content = SegmentLike().substr(0, 1 << 20);
  Compressor compressor(Codec::kZstd, 1);
  std::string payload;
  ASSERT_EQ(compressor.Compress(content, payload), Codec::kZstd);
  Digest digest = Sha256(content);
  std::string object("PGVWAL", 6);
  object.push_back(1);  // version
  object.push_back(static_cast<char>(Codec::kZstd));
  object.append(8, '\0');
  PutLe64(object, content.size());
  object.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  PutLe64(object, 7);
  PutLe64(object, 123);
  object += payload;
  EXPECT_EQ(DecodeWalObject(object, "v1"), content);
  object[kWalObjectHeaderSize + payload.size() / 2] ^= 0x10;
  EXPECT_THROW(DecodeWalObject(object, "v1"), IntegrityError);
  std::string future = EncodeWalObject(content, Codec::kZstd, 1, 7, 123);
  future[6] = 3;
  EXPECT_THROW(DecodeWalObject(future, "v3"), IntegrityError);
}
