// One archived WAL file as stored in the repository (format v1,
// docs/repository-format.md, "WAL archive"): a fixed 72-byte header, then the
// file's bytes, compressed as the header says.
//
//   offset size
//        0    6  magic "PGVWAL"
//        6    1  object version (2; version 1 is read too)
//        7    1  codec (0 none, 1 zstd, 2 lz4)
//        8    1  encryption (0 none; reserved)
//        9    1  what the SHA-256 covers: 0 the file (plaintext), 1 the
//                payload as stored (version 2 only)
//       10    6  reserved, zero
//       16    8  size of the file (plaintext), u64 LE
//       24   32  SHA-256 (of the file or of the payload, see offset 9)
//       56    8  system identifier from the segment's page header (0 for
//                .history and .backup files), u64 LE
//       64    8  time of archiving, microseconds since the epoch, i64 LE
//       72    -  payload
//
// Why hash the payload: archive_command latency is per segment, and hashing
// 16 MiB of plaintext costs as much as compressing it. A zstd payload is one
// frame that carries zstd's own checksum of the plaintext (XXH64, checked on
// decompression), so the SHA-256 of the (much smaller) payload detects damage
// in storage and the frame checksum detects anything else. An lz4 block has
// no such checksum, so lz4 objects keep the SHA-256 of the plaintext; so do
// version-1 objects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "compress/codec.h"
#include "crypto/sha256.h"

namespace pgvault {

inline constexpr size_t kWalObjectHeaderSize = 72;
// PostgreSQL's largest WAL segment (initdb --wal-segsize 1024).
inline constexpr uint64_t kMaxWalObjectSize = uint64_t{1} << 30;

struct WalObjectHeader {
  enum class DigestOf : uint8_t { kPlaintext = 0, kPayload = 1 };
  uint8_t version = 0;
  Codec codec = Codec::kNone;
  DigestOf digest_of = DigestOf::kPlaintext;
  uint64_t size = 0;
  Digest sha256{};
  uint64_t system_identifier = 0;
  int64_t archived_at_us = 0;
};

// Header + compressed payload for `content` (a version-2 object). Large files
// are compressed with two threads: per-segment latency is what
// archive_command callers wait for.
std::string EncodeWalObject(std::string_view content, Codec codec, int level, uint64_t system_identifier,
                            int64_t archived_at_us, WalObjectHeader* header_out = nullptr);

// Parses the first kWalObjectHeaderSize bytes. Throws IntegrityError naming
// `where` if they are not a WAL object header of a version this build reads.
WalObjectHeader DecodeWalObjectHeader(std::string_view bytes, const std::string& where);

// Checks the SHA-256 and decompresses (checking the frame checksum): the file
// exactly as archived, or an IntegrityError naming `where`.
std::string DecodeWalObject(std::string_view object, const std::string& where);

}  // namespace pgvault
