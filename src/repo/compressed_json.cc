#include "repo/compressed_json.h"

#include <zstd.h>

#include <fmt/format.h>

#include "core/error.h"
#include "crypto/sha256.h"
#include "storage/storage.h"

namespace pgvault {

nlohmann::json DecodeCompressedJson(const std::string& stored, const std::string& where) {
  unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (8ull << 30))
    throw IntegrityError(fmt::format("{} is damaged: not a zstd frame", where));
  std::string text(size, '\0');
  size_t n = ZSTD_decompress(text.data(), text.size(), stored.data(), stored.size());
  if (ZSTD_isError(n) || n != size)
    throw IntegrityError(fmt::format("{} is damaged: {}", where, ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw IntegrityError(fmt::format("{} is damaged: {}", where, e.what()));
  }
}

nlohmann::json ReadCompressedJson(Storage& storage, const std::string& path) {
  return DecodeCompressedJson(storage.Read(path), fmt::format("{}/{}", storage.Describe(), path));
}

std::string EncodeCompressedJson(const nlohmann::json& doc) {
  std::string text = doc.dump();
  std::string out(ZSTD_compressBound(text.size()), '\0');
  // ZSTD_c_checksumFlag on: these documents are few and small, so the frame
  // checksum is a cheap second integrity check.
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1);
  size_t n = ZSTD_compress2(ctx, out.data(), out.size(), text.data(), text.size());
  ZSTD_freeCCtx(ctx);
  if (ZSTD_isError(n)) throw Error(fmt::format("zstd compression failed: {}", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

void WriteCompressedJson(Storage& storage, const std::string& path, const nlohmann::json& doc,
                         std::string* sha256_hex, uint64_t* stored_size) {
  std::string out = EncodeCompressedJson(doc);
  if (sha256_hex) *sha256_hex = DigestHex(Sha256(out));
  if (stored_size) *stored_size = out.size();
  storage.Write(path, out);
}

}  // namespace pgvault
