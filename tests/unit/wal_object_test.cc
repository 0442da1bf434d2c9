// The archived WAL object (wal/wal_object.h): every codec round-trips, every
// damaged byte is caught (the header's too, from version 3 on), objects of
// versions 1 and 2 stay readable, and WalArchive::Fetch proves the system
// identifier a header names.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include <filesystem>

#include "core/error.h"
#include "core/little_endian.h"
#include "crypto/sha256.h"
#include "storage/posix_storage.h"
#include "wal/wal_archive.h"
#include "wal/wal_object.h"

using namespace pgvault;
namespace fs = std::filesystem;

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

// An object as pgvault wrote it before version 3: the header holds the data
// digest itself (of the plaintext in version 1, of the payload in version 2).
std::string OldObject(uint8_t version, std::string_view content, uint64_t sysid, int64_t archived_at) {
  Compressor compressor(Codec::kZstd, 1, {.content_checksum = version >= 2});
  std::string payload;
  Codec codec = compressor.Compress(content, payload);  // kNone for a short file that does not shrink
  if (codec == Codec::kNone) payload = std::string(content);
  Digest digest = version >= 2 ? Sha256(payload) : Sha256(content);
  std::string object("PGVWAL", 6);
  object.push_back(static_cast<char>(version));
  object.push_back(static_cast<char>(codec));
  object.push_back(0);                               // encryption
  object.push_back(version >= 2 ? 1 : 0);            // version 2: the digest is of the payload
  object.append(6, '\0');
  PutLe64(object, content.size());
  object.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  PutLe64(object, sysid);
  PutLe64(object, static_cast<uint64_t>(archived_at));
  return object + payload;
}

}  // namespace

TEST(WalObject, EveryCodecRoundTripsAndRecordsWhatItHashed) {
  std::string content = SegmentLike();
  for (Codec codec : {Codec::kZstd, Codec::kLz4, Codec::kNone}) {
    WalObjectHeader h;
    std::string object = EncodeWalObject(content, codec, 1, 7, 123, &h);
    EXPECT_EQ(h.version, 3);
    EXPECT_EQ(h.codec, codec);
    EXPECT_LT(object.size(), codec == Codec::kNone ? content.size() + 100 : content.size() / 2);
    WalObjectHeader parsed = DecodeWalObjectHeader(object, "test");
    EXPECT_EQ(parsed.size, content.size());
    EXPECT_EQ(parsed.system_identifier, 7u);
    EXPECT_EQ(parsed.archived_at_us, 123);
    EXPECT_EQ(parsed.sha256, h.sha256);
    // Version 3 stores a seal, never the bare digest of the data.
    EXPECT_NE(parsed.sha256, Sha256(content));
    EXPECT_NE(parsed.sha256, Sha256(std::string_view(object).substr(kWalObjectHeaderSize)));
    EXPECT_EQ(parsed.digest_of,
              codec == Codec::kLz4 ? WalObjectHeader::DigestOf::kPlaintext : WalObjectHeader::DigestOf::kPayload);
    WalObjectHeader proven;
    EXPECT_EQ(DecodeWalObject(object, "test", &proven), content);
    EXPECT_EQ(proven.system_identifier, 7u);
    EXPECT_EQ(proven.archived_at_us, 123);
  }
  // Small files (.history, .backup) take the single-frame path.
  std::string history = "1\t0/3000000\tno recovery target specified\n";
  EXPECT_EQ(DecodeWalObject(EncodeWalObject(history, Codec::kZstd, 1, 0, 0), "test"), history);
}

TEST(WalObject, AFlippedByteAnywhereIsCaught) {
  std::string content = SegmentLike();
  for (Codec codec : {Codec::kZstd, Codec::kLz4, Codec::kNone}) {
    std::string object = EncodeWalObject(content, codec, 1, 7, 123);
    // Every header byte (the system identifier and the archiving time at
    // 56-71 went unnoticed before version 3), the start, middle and end of
    // the payload; every bit of the header.
    std::vector<size_t> offsets;
    for (size_t at = 0; at < kWalObjectHeaderSize; ++at) offsets.push_back(at);
    for (size_t at : {kWalObjectHeaderSize, kWalObjectHeaderSize + 1000, object.size() / 2, object.size() - 1})
      offsets.push_back(at);
    for (size_t at : offsets)
      for (int bit = 0; bit < (at < kWalObjectHeaderSize ? 8 : 1); ++bit) {
        std::string damaged = object;
        damaged[at] ^= static_cast<char>(1 << bit);
        EXPECT_THROW(DecodeWalObject(damaged, "test"), IntegrityError)
            << CodecName(codec) << " byte " << at << " bit " << bit;
      }
    EXPECT_THROW(DecodeWalObject(object.substr(0, object.size() - 1), "test"), IntegrityError);
  }
}

TEST(WalObject, Version1And2ObjectsStayReadable) {
  std::string content = SegmentLike().substr(0, 1 << 20);
  for (uint8_t version : {1, 2}) {
    std::string object = OldObject(version, content, 7, 123);
    WalObjectHeader h;
    EXPECT_EQ(DecodeWalObject(object, "old", &h), content) << int{version};
    EXPECT_EQ(h.version, version);
    EXPECT_EQ(h.system_identifier, 7u);
    std::string damaged = object;
    damaged[kWalObjectHeaderSize + (object.size() - kWalObjectHeaderSize) / 2] ^= 0x10;
    EXPECT_THROW(DecodeWalObject(damaged, "old"), IntegrityError) << int{version};
    // Their reserved bytes were written as zeros: anything else is damage.
    for (size_t at = version >= 2 ? 10 : 9; at < 16; ++at) {
      damaged = object;
      damaged[at] ^= 0x04;
      EXPECT_THROW(DecodeWalObject(damaged, "old"), IntegrityError) << int{version} << " byte " << at;
    }
  }
  std::string future = EncodeWalObject(content, Codec::kZstd, 1, 7, 123);
  future[6] = 4;
  EXPECT_THROW(DecodeWalObject(future, "v4"), IntegrityError);
}

// A version 1 or 2 header's system identifier is not covered by its digest:
// Fetch (wal-fetch, restore, verify) holds it against the repository's, so a
// damaged one is not handed out either.
TEST(WalObject, FetchRefusesAHeaderNamingAnotherCluster) {
  fs::path root = fs::temp_directory_path() / ("pgvault-unit-" + std::to_string(std::random_device{}()));
  fs::create_directories(root);
  PosixStorage storage(root.string());
  WalArchive archive(storage, 7);
  std::string backup_file = "000000010000000000000002.00000028.backup";
  std::string backup_text = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n";
  std::string segment = "000000010000000000000002";
  std::string segment_bytes = SegmentLike().substr(0, 1 << 20);
  for (uint8_t version : {1, 2}) {
    storage.Write(WalArchive::ObjectPath(backup_file), OldObject(version, backup_text, 0, 123));
    storage.Write(WalArchive::ObjectPath(segment), OldObject(version, segment_bytes, 7, 123));
    EXPECT_EQ(archive.Fetch(backup_file).value(), backup_text);
    EXPECT_EQ(archive.Fetch(segment).value(), segment_bytes);
    // One flipped bit in the identifier of each.
    storage.Write(WalArchive::ObjectPath(backup_file), OldObject(version, backup_text, uint64_t{1} << 40, 123));
    storage.Write(WalArchive::ObjectPath(segment), OldObject(version, segment_bytes, 7 ^ 2, 123));
    for (const std::string& name : {backup_file, segment}) {
      try {
        archive.Fetch(name);
        ADD_FAILURE() << name << " version " << int{version} << " was handed out";
      } catch (const IntegrityError& e) {
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("system identifier"), std::string::npos) << e.what();
      }
    }
  }
  // Version 3 refuses a foreign identifier that is sealed correctly too.
  storage.Write(WalArchive::ObjectPath(segment), EncodeWalObject(segment_bytes, Codec::kZstd, 1, 8, 123));
  EXPECT_THROW(archive.Fetch(segment), IntegrityError);
  storage.Write(WalArchive::ObjectPath(segment), EncodeWalObject(segment_bytes, Codec::kZstd, 1, 7, 123));
  WalObjectHeader h;
  EXPECT_EQ(archive.Fetch(segment, &h).value(), segment_bytes);
  EXPECT_EQ(h.archived_at_us, 123);
  fs::remove_all(root);
}
