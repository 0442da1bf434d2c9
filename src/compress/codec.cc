#include "compress/codec.h"

#include <cstring>
#include <limits>
#include <memory>
#include <lz4.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

std::string CodecName(Codec codec) {
  switch (codec) {
    case Codec::kNone: return "none";
    case Codec::kZstd: return "zstd";
    case Codec::kLz4: return "lz4";
  }
  return "unknown";
}

Codec CodecFromName(const std::string& name) {
  if (name == "zstd") return Codec::kZstd;
  if (name == "lz4") return Codec::kLz4;
  if (name == "none") return Codec::kNone;
  throw Error(fmt::format("unknown compression '{}': use zstd, lz4 or none", name));
}

struct Compressor::State {
  ZSTD_CCtx* zstd = nullptr;
  // Compressed output lands here first: growing `output` to the bound for
  // every chunk would zero a megabyte each time (std::string::resize).
  std::unique_ptr<char[]> scratch;
  size_t scratch_size = 0;
  char* Scratch(size_t size) {
    if (size > scratch_size) scratch.reset(new char[size]), scratch_size = size;
    return scratch.get();
  }
  ~State() { ZSTD_freeCCtx(zstd); }
};

Compressor::Compressor(Codec codec, int level) : Compressor(codec, level, Options{}) {}

Compressor::Compressor(Codec codec, int level, const Options& options)
    : codec_(codec), level_(level), state_(std::make_unique<State>()) {
  if (codec_ == Codec::kZstd) {
    state_->zstd = ZSTD_createCCtx();
    if (state_->zstd == nullptr) throw Error("zstd: cannot create compression context");
    ZSTD_CCtx_setParameter(state_->zstd, ZSTD_c_compressionLevel, level_);
    ZSTD_CCtx_setParameter(state_->zstd, ZSTD_c_checksumFlag, options.content_checksum ? 1 : 0);
    // A libzstd built without threads refuses this; one thread then does it all.
    if (options.workers > 0) ZSTD_CCtx_setParameter(state_->zstd, ZSTD_c_nbWorkers, options.workers);
  }
}

Compressor::~Compressor() = default;

Codec Compressor::Compress(std::string_view input, std::string& output) {
  Codec used;
  std::string_view result = CompressView(input, &used);
  output.assign(result.data(), result.size());
  return used;
}

std::string_view Compressor::CompressView(std::string_view input, Codec* used) {
  // Output that does not save at least 1/32 is not worth decompressing later:
  // compressing into a buffer of that size stops as soon as it overflows.
  size_t limit = input.size() - input.size() / 32;
  if (limit > 0) {
    switch (codec_) {
      case Codec::kNone:
        break;
      case Codec::kZstd: {
        char* out = state_->Scratch(limit);
        size_t n = ZSTD_compress2(state_->zstd, out, limit - 1, input.data(), input.size());
        if (!ZSTD_isError(n)) {
          *used = Codec::kZstd;
          return {out, n};
        }
        if (ZSTD_getErrorCode(n) != ZSTD_error_dstSize_tooSmall)
          throw Error(fmt::format("zstd compression failed: {}", ZSTD_getErrorName(n)));
        break;
      }
      case Codec::kLz4: {
        char* out = state_->Scratch(limit);
        int n = LZ4_compress_default(input.data(), out, static_cast<int>(input.size()), static_cast<int>(limit - 1));
        if (n > 0) {
          *used = Codec::kLz4;
          return {out, static_cast<size_t>(n)};
        }
        break;  // 0: did not fit
      }
    }
  }
  *used = Codec::kNone;
  return input;
}

// LZ4's block format cannot expand one input byte into more than 255 output
// bytes (a match length is extended one byte = 255 at a time).
constexpr size_t kLz4MaxRatio = 255;

void CheckDecodableSize(Codec codec, std::string_view input, size_t raw_size) {
  switch (codec) {
    case Codec::kNone:
      if (input.size() != raw_size)
        throw IntegrityError(fmt::format("stored size {} differs from expected {}", input.size(), raw_size));
      return;
    case Codec::kLz4:
      if (raw_size > static_cast<size_t>(std::numeric_limits<int>::max()) ||
          raw_size > input.size() * kLz4MaxRatio + 64)
        throw IntegrityError(
            fmt::format("lz4: {} stored bytes cannot decode to the {} bytes expected", input.size(), raw_size));
      return;
    case Codec::kZstd: {
      // Every frame pgvault writes records its content size: a sum that
      // disagrees is damage, found before the output is allocated. (Frames
      // that do not record it are bounded by the caller's own limits.)
      unsigned long long total = 0;
      bool known = true;
      for (std::string_view rest = input; !rest.empty();) {
        size_t frame = ZSTD_findFrameCompressedSize(rest.data(), rest.size());
        if (ZSTD_isError(frame))
          throw IntegrityError(fmt::format("zstd: {} stored bytes are not whole zstd frames ({})", input.size(),
                                           ZSTD_getErrorName(frame)));
        unsigned long long content = ZSTD_getFrameContentSize(rest.data(), frame);
        if (content == ZSTD_CONTENTSIZE_ERROR)
          throw IntegrityError(fmt::format("zstd: {} stored bytes are not zstd frames", input.size()));
        if (content == ZSTD_CONTENTSIZE_UNKNOWN) known = false;
        else total += content;
        if (total > raw_size) break;
        rest.remove_prefix(frame);
      }
      if ((known && total != raw_size) || total > raw_size)
        throw IntegrityError(fmt::format("zstd: frames hold {} bytes, {} expected", total, raw_size));
      return;
    }
  }
  throw IntegrityError(fmt::format("unknown codec {}", static_cast<int>(codec)));
}

void Decompress(Codec codec, std::string_view input, size_t raw_size, std::string& output) {
  CheckDecodableSize(codec, input, raw_size);
  output.resize(raw_size);
  DecompressInto(codec, input, raw_size, output.data());
}

void DecompressInto(Codec codec, std::string_view input, size_t raw_size, char* output) {
  switch (codec) {
    case Codec::kNone:
      if (input.size() != raw_size)
        throw IntegrityError(fmt::format("stored size {} differs from expected {}", input.size(), raw_size));
      // memcpy from or to a null pointer is undefined even for 0 bytes, and an
      // empty chunk's buffers may be null.
      if (raw_size > 0) std::memcpy(output, input.data(), input.size());
      return;
    case Codec::kZstd: {
      // One context per thread: ZSTD_decompress would allocate one per chunk.
      thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
      size_t n = ZSTD_decompressDCtx(context.get(), output, raw_size, input.data(), input.size());
      if (ZSTD_isError(n)) throw IntegrityError(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
      if (n != raw_size) throw IntegrityError(fmt::format("zstd: {} bytes decoded, {} expected", n, raw_size));
      return;
    }
    case Codec::kLz4: {
      int n = LZ4_decompress_safe(input.data(), output, static_cast<int>(input.size()), static_cast<int>(raw_size));
      if (n < 0 || static_cast<size_t>(n) != raw_size) throw IntegrityError("lz4: corrupt data");
      return;
    }
  }
  throw IntegrityError(fmt::format("unknown codec {}", static_cast<int>(codec)));
}

}  // namespace pgvault
