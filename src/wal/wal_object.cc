#include "wal/wal_object.h"

#include <cstring>
#include <future>

#include <fmt/format.h>

#include "core/error.h"
#include "core/little_endian.h"

namespace pgvault {

namespace {
constexpr char kMagic[6] = {'P', 'G', 'V', 'W', 'A', 'L'};
constexpr uint8_t kObjectVersion = 3;
constexpr size_t kDigestOffset = 24;
// Below this, more threads cost more than they save.
constexpr size_t kParallelThreshold = 1 << 20;

// Version 3's seal: the SHA-256 of every header byte but the digest field,
// then the data digest. `header` holds at least kWalObjectHeaderSize bytes.
Digest SealHeader(std::string_view header, const Digest& data_digest) {
  Sha256Stream hasher;
  hasher.Update(header.substr(0, kDigestOffset));
  hasher.Update(header.substr(kDigestOffset + 32, kWalObjectHeaderSize - kDigestOffset - 32));
  hasher.Update(std::string_view(reinterpret_cast<const char*>(data_digest.data()), data_digest.size()));
  return hasher.Finish();
}
}  // namespace

std::string EncodeWalObject(std::string_view content, Codec codec, int level, uint64_t system_identifier,
                            int64_t archived_at_us, WalObjectHeader* header_out) {
  WalObjectHeader h;
  h.version = kObjectVersion;
  h.size = content.size();
  h.system_identifier = system_identifier;
  h.archived_at_us = archived_at_us;
  bool large = content.size() >= kParallelThreshold;
  // The payload may point into the compressors' buffers: they outlive `out`.
  Compressor first(codec, level, {.content_checksum = true});
  Compressor second(codec, level, {.content_checksum = true});
  std::string_view payload, payload_tail;
  Digest data_digest{};
  if (codec == Codec::kLz4) {
    // No checksum inside an lz4 block: hash the plaintext, beside compression.
    h.digest_of = WalObjectHeader::DigestOf::kPlaintext;
    if (large) {
      auto hash = std::async(std::launch::async, [content] { return Sha256(content); });
      payload = first.CompressView(content, &h.codec);
      data_digest = hash.get();
    } else {
      payload = first.CompressView(content, &h.codec);
      data_digest = Sha256(content);
    }
  } else {
    h.digest_of = WalObjectHeader::DigestOf::kPayload;
    if (large && codec == Codec::kZstd) {
      // Two halves, two threads, two independent frames: a zstd decoder reads
      // concatenated frames as one stream. Cheaper than libzstd's own worker
      // pool for a single 16 MiB input.
      size_t half = (content.size() / 2) & ~size_t{8191};
      Codec head_codec, tail_codec;
      auto tail = std::async(std::launch::async, [&] { return second.CompressView(content.substr(half), &tail_codec); });
      payload = first.CompressView(content.substr(0, half), &head_codec);
      payload_tail = tail.get();
      if (head_codec == Codec::kZstd && tail_codec == Codec::kZstd) {
        h.codec = Codec::kZstd;
        Sha256Stream hasher;
        hasher.Update(payload);
        hasher.Update(payload_tail);
        data_digest = hasher.Finish();
      } else {
        // Not worth compressing (at least one half did not shrink): store it.
        h.codec = Codec::kNone;
        payload = content, payload_tail = {};
        data_digest = Sha256(payload);
      }
    } else {
      payload = first.CompressView(content, &h.codec);
      data_digest = Sha256(payload);
    }
  }
  std::string out;
  out.reserve(kWalObjectHeaderSize + payload.size() + payload_tail.size());
  out.append(kMagic, sizeof kMagic);
  out.push_back(static_cast<char>(h.version));
  out.push_back(static_cast<char>(h.codec));
  out.push_back(0);  // encryption: none
  out.push_back(static_cast<char>(h.digest_of));
  out.append(6, '\0');  // reserved
  PutLe64(out, h.size);
  out.append(32, '\0');  // the seal, once every other header byte is in place
  PutLe64(out, h.system_identifier);
  PutLe64(out, static_cast<uint64_t>(h.archived_at_us));
  h.sha256 = SealHeader(out, data_digest);
  std::memcpy(out.data() + kDigestOffset, h.sha256.data(), h.sha256.size());
  out.append(payload);
  out.append(payload_tail);
  if (header_out) *header_out = h;
  return out;
}

WalObjectHeader DecodeWalObjectHeader(std::string_view bytes, const std::string& where) {
  if (bytes.size() < kWalObjectHeaderSize)
    throw IntegrityError(fmt::format("{} is damaged: {} bytes, shorter than its header", where, bytes.size()));
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw IntegrityError(fmt::format("{} is damaged: it does not start with a pgvault WAL object header", where));
  uint8_t version = static_cast<uint8_t>(bytes[6]);
  if (version < 1 || version > kObjectVersion)
    throw IntegrityError(fmt::format("{}: WAL object version {} is not supported; this pgvault reads versions 1 to {}",
                                     where, version, kObjectVersion));
  uint8_t codec = static_cast<uint8_t>(bytes[7]);
  if (codec > static_cast<uint8_t>(Codec::kLz4))
    throw IntegrityError(fmt::format("{} is damaged: unknown codec {}", where, codec));
  // Every writer wrote zeros here (version 1 from offset 8, later ones from
  // 10): anything else is damage, in version 1 and 2 otherwise unnoticed.
  for (size_t i = version >= 2 ? 10 : 9; i < 16; ++i)
    if (bytes[i] != 0)
      throw IntegrityError(fmt::format("{} is damaged: reserved header byte {} is not zero", where, i));
  if (bytes[8] != 0)
    throw IntegrityError(fmt::format("{} is encrypted (method {}), which this pgvault cannot read", where,
                                     static_cast<int>(static_cast<uint8_t>(bytes[8]))));
  uint8_t digest_of = version >= 2 ? static_cast<uint8_t>(bytes[9]) : 0;
  if (digest_of > 1) throw IntegrityError(fmt::format("{} is damaged: unknown digest scope {}", where, digest_of));
  WalObjectHeader h;
  h.version = version;
  h.codec = static_cast<Codec>(codec);
  h.digest_of = static_cast<WalObjectHeader::DigestOf>(digest_of);
  h.size = GetLe64(bytes.data() + 16);
  std::memcpy(h.sha256.data(), bytes.data() + 24, 32);
  h.system_identifier = GetLe64(bytes.data() + 56);
  h.archived_at_us = static_cast<int64_t>(GetLe64(bytes.data() + 64));
  // PostgreSQL's largest WAL segment is 1 GiB; history and backup files are
  // small. A larger size is a damaged or forged header, refused before the
  // payload is read or anything is allocated for it.
  if (h.size > kMaxWalObjectSize)
    throw IntegrityError(fmt::format("{} is damaged: implausible size {} (the largest WAL segment is {} bytes)", where,
                                     h.size, kMaxWalObjectSize));
  return h;
}

std::string DecodeWalObject(std::string_view object, const std::string& where, WalObjectHeader* header_out) {
  WalObjectHeader h = DecodeWalObjectHeader(object, where);
  std::string_view payload = object.substr(kWalObjectHeaderSize);
  // What the data digest must be: the stored value up to version 2, sealed
  // with the header from version 3 on.
  auto matches = [&](const Digest& data_digest) {
    return h.version >= 3 ? SealHeader(object, data_digest) == h.sha256 : data_digest == h.sha256;
  };
  if (h.digest_of == WalObjectHeader::DigestOf::kPayload && !matches(Sha256(payload)))
    throw IntegrityError(fmt::format("{} is damaged (checksum mismatch)", where));
  std::string content;
  try {
    Decompress(h.codec, payload, h.size, content);  // zstd checks the frame's own checksum
  } catch (const IntegrityError& e) {
    throw IntegrityError(fmt::format("{} is damaged ({})", where, e.what()));
  }
  if (h.digest_of == WalObjectHeader::DigestOf::kPlaintext && !matches(Sha256(content)))
    throw IntegrityError(fmt::format("{} is damaged (checksum mismatch)", where));
  if (header_out) *header_out = h;
  return content;
}

}  // namespace pgvault
