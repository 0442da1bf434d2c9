// Chunk compression. A codec is recorded per stored chunk (not per backup), so
// a repository may mix codecs and a chunk that does not compress is stored raw.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pgvault {

enum class Codec : uint8_t { kNone = 0, kZstd = 1, kLz4 = 2 };

std::string CodecName(Codec codec);
Codec CodecFromName(const std::string& name);  // "zstd", "lz4", "none"; throws

// One compressor per worker thread: it keeps its compression context alive
// between chunks, which matters for small chunks.
class Compressor {
 public:
  struct Options {
    // zstd only: each frame carries a checksum of its plaintext (XXH64),
    // which the decoder checks. Chunks do not need it (their id is the
    // SHA-256 of the plaintext); WAL objects do (wal/wal_object.h).
    bool content_checksum = false;
    // zstd only: compress one input with this many threads (0: the calling
    // thread only). For large single inputs such as a WAL segment.
    int workers = 0;
  };
  Compressor(Codec codec, int level);
  Compressor(Codec codec, int level, const Options& options);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Compresses `input` into `output`; returns the codec actually used. Data
  // that does not shrink by at least 1/32 is stored as-is (kNone): reading it
  // back then costs nothing.
  Codec Compress(std::string_view input, std::string& output);
  // The same without a copy: the result is `input` itself (kNone) or points
  // into this compressor's buffer, valid until its next call.
  std::string_view CompressView(std::string_view input, Codec* used);

 private:
  struct State;
  Codec codec_;
  int level_;
  std::unique_ptr<State> state_;
};

// Throws IntegrityError when `input` cannot decode to `raw_size` bytes (a
// stored copy of another size, an lz4 block too short for it, zstd frames
// that record another content size): checked before anything is allocated,
// so a forged size read from a repository costs no memory.
void CheckDecodableSize(Codec codec, std::string_view input, size_t raw_size);
// Decompresses a chunk whose plaintext is exactly `raw_size` bytes. Throws
// IntegrityError when the stored bytes are not a valid frame of that size.
void Decompress(Codec codec, std::string_view input, size_t raw_size, std::string& output);
// The same into a caller's buffer of at least `raw_size` bytes (an aligned
// buffer for direct I/O, for instance).
void DecompressInto(Codec codec, std::string_view input, size_t raw_size, char* output);

}  // namespace pgvault
