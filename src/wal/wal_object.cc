#include "wal/wal_object.h"

#include <cstring>
#include <future>

#include <fmt/format.h>

#include "core/error.h"
#include "core/little_endian.h"

namespace pgvault {

namespace {
constexpr char kMagic[6] = {'P', 'G', 'V', 'W', 'A', 'L'};
constexpr uint8_t kObjectVersion = 1;
// Below this, a second thread costs more than it saves.
constexpr size_t kParallelHashThreshold = 1 << 20;
}  // namespace

std::string EncodeWalObject(std::string_view content, Codec codec, int level, uint64_t system_identifier,
                            int64_t archived_at_us, WalObjectHeader* header_out) {
  WalObjectHeader h;
  h.size = content.size();
  h.system_identifier = system_identifier;
  h.archived_at_us = archived_at_us;
  std::string payload;
  if (content.size() >= kParallelHashThreshold) {
    auto hash = std::async(std::launch::async, [content] { return Sha256(content); });
    Compressor compressor(codec, level);
    h.codec = compressor.Compress(content, payload);
    h.sha256 = hash.get();
  } else {
    Compressor compressor(codec, level);
    h.codec = compressor.Compress(content, payload);
    h.sha256 = Sha256(content);
  }
  std::string out;
  out.reserve(kWalObjectHeaderSize + payload.size());
  out.append(kMagic, sizeof kMagic);
  out.push_back(static_cast<char>(kObjectVersion));
  out.push_back(static_cast<char>(h.codec));
  out.push_back(0);               // encryption: none
  out.append(7, '\0');            // reserved
  PutLe64(out, h.size);
  out.append(reinterpret_cast<const char*>(h.sha256.data()), h.sha256.size());
  PutLe64(out, h.system_identifier);
  PutLe64(out, static_cast<uint64_t>(h.archived_at_us));
  out.append(payload);
  if (header_out) *header_out = h;
  return out;
}

WalObjectHeader DecodeWalObjectHeader(std::string_view bytes, const std::string& where) {
  if (bytes.size() < kWalObjectHeaderSize)
    throw IntegrityError(fmt::format("{} is damaged: {} bytes, shorter than its header", where, bytes.size()));
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw IntegrityError(fmt::format("{} is damaged: it does not start with a pgvault WAL object header", where));
  uint8_t version = static_cast<uint8_t>(bytes[6]);
  if (version != kObjectVersion)
    throw IntegrityError(fmt::format("{}: WAL object version {} is not supported; this pgvault reads version {}",
                                     where, version, kObjectVersion));
  uint8_t codec = static_cast<uint8_t>(bytes[7]);
  if (codec > static_cast<uint8_t>(Codec::kLz4))
    throw IntegrityError(fmt::format("{} is damaged: unknown codec {}", where, codec));
  if (bytes[8] != 0)
    throw IntegrityError(fmt::format("{} is encrypted (method {}), which this pgvault cannot read", where,
                                     static_cast<int>(static_cast<uint8_t>(bytes[8]))));
  WalObjectHeader h;
  h.codec = static_cast<Codec>(codec);
  h.size = GetLe64(bytes.data() + 16);
  std::memcpy(h.sha256.data(), bytes.data() + 24, 32);
  h.system_identifier = GetLe64(bytes.data() + 56);
  h.archived_at_us = static_cast<int64_t>(GetLe64(bytes.data() + 64));
  if (h.size > (1ull << 32))
    throw IntegrityError(fmt::format("{} is damaged: implausible size {}", where, h.size));
  return h;
}

std::string DecodeWalObject(std::string_view object, const std::string& where) {
  WalObjectHeader h = DecodeWalObjectHeader(object, where);
  std::string content;
  try {
    Decompress(h.codec, object.substr(kWalObjectHeaderSize), h.size, content);
  } catch (const IntegrityError& e) {
    throw IntegrityError(fmt::format("{} is damaged ({})", where, e.what()));
  }
  if (Sha256(content) != h.sha256) throw IntegrityError(fmt::format("{} is damaged (checksum mismatch)", where));
  return content;
}

}  // namespace pgvault
