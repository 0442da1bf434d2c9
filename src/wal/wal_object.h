// One archived WAL file as stored in the repository
// (docs/repository-format.md, section 15.2): a fixed 72-byte header, then the
// file's bytes, compressed as the header says.
//
//   offset size
//        0    6  magic "PGVWAL"
//        6    1  object version (3; versions 1 and 2 are read too)
//        7    1  codec (0 none, 1 zstd, 2 lz4)
//        8    1  encryption (0 none; reserved)
//        9    1  what the data digest covers: 0 the file (plaintext), 1 the
//                payload as stored (version 2 and later)
//       10    6  reserved, zero
//       16    8  size of the file (plaintext), u64 LE
//       24   32  version 3: SHA-256 of (bytes 0-23, bytes 56-71, data
//                digest); versions 1 and 2: the data digest itself
//       56    8  system identifier from the segment's page header (0 for
//                .history and .backup files), u64 LE
//       64    8  time of archiving, microseconds since the epoch, i64 LE
//       72    -  payload
//
// The data digest is the SHA-256 of the file or of the payload (offset 9).
// Why version 3 seals the header too: in versions 1 and 2 a damaged system
// identifier or archiving time read as valid, and restore and verify trust
// both (a fault campaign found such flips unnoticed, issue 14). Sealing costs
// one SHA-256 of 72 bytes.
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
  Digest sha256{};  // as stored at offset 24 (see above for what it covers)
  uint64_t system_identifier = 0;
  int64_t archived_at_us = 0;
};

// Header + compressed payload for `content` (a version-3 object). Large files
// are compressed with two threads: per-segment latency is what
// archive_command callers wait for.
std::string EncodeWalObject(std::string_view content, Codec codec, int level, uint64_t system_identifier,
                            int64_t archived_at_us, WalObjectHeader* header_out = nullptr);

// Parses the first kWalObjectHeaderSize bytes. Throws IntegrityError naming
// `where` if they are not a WAL object header of a version this build reads.
// The fields are not proven until the whole object is decoded: the seal
// (version 3) covers the payload's digest too.
WalObjectHeader DecodeWalObjectHeader(std::string_view bytes, const std::string& where);

// Checks the SHA-256 (and, in version 3, the header it seals) and decompresses
// (checking the frame checksum): the file exactly as archived, or an
// IntegrityError naming `where`. `header_out` receives the proven header.
std::string DecodeWalObject(std::string_view object, const std::string& where, WalObjectHeader* header_out = nullptr);

}  // namespace pgvault
