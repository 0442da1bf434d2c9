#include "repo/pack_format.h"

#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "repo/format_version.h"

namespace pgvault {

namespace {
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}
// Magic (all but the last byte) and version byte (the last), checked apart so
// that a pack of another version is not called damaged.
void CheckMagic(std::string_view found, std::string_view expected, const std::string& pack, const char* part) {
  if (found.substr(0, expected.size() - 1) != expected.substr(0, expected.size() - 1))
    throw IntegrityError(fmt::format("pack {}: {} is damaged (bad magic)", pack, part));
  uint8_t version = static_cast<uint8_t>(found[expected.size() - 1]);
  if (version != static_cast<uint8_t>(expected.back()))
    throw IntegrityError(UnsupportedVersionMessage(version, fmt::format("pack {} ({})", pack, part), kPackVersion));
}

}  // namespace

bool IsPackPath(std::string_view path) {
  // packs/ab/ab<30 more>.pack
  if (path.size() != 6 + 3 + 32 + 5 || !path.starts_with("packs/") || path[8] != '/' || !path.ends_with(".pack"))
    return false;
  std::string_view name = path.substr(9, 32);
  for (char c : name)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return path.substr(6, 2) == name.substr(0, 2);
}

void CheckPackHeader(std::string_view header, const std::string& pack) {
  if (header.size() != kPackHeader.size()) throw IntegrityError(fmt::format("pack {}: header is truncated", pack));
  CheckMagic(header, kPackHeader, pack, "header");
}

std::string EncodePackTrailer(const std::vector<PackEntry>& entries) {
  std::string out;
  out.reserve(entries.size() * kPackEntrySize + kPackFooterSize);
  for (const auto& e : entries) {
    out.append(reinterpret_cast<const char*>(e.id.data()), e.id.size());
    PutU64(out, e.offset);
    PutU32(out, e.stored_size);
    PutU32(out, e.raw_size);
    out.push_back(static_cast<char>(e.codec));
    out.push_back(static_cast<char>(e.flags));
    out.append(2, '\0');
  }
  Digest digest = Sha256(out);
  PutU32(out, static_cast<uint32_t>(entries.size()));
  PutU32(out, 0);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  out.append(kPackFooterMagic);
  return out;
}

uint32_t DecodePackFooterCount(std::string_view footer, const std::string& pack) {
  if (footer.size() != kPackFooterSize) throw IntegrityError(fmt::format("pack {}: footer is truncated", pack));
  CheckMagic(footer.substr(40), kPackFooterMagic, pack, "footer");
  // The only footer bytes no checksum covers: zero in this version, so any
  // other value is damage (section 7.3).
  if (GetU32(footer.data() + 4) != 0)
    throw IntegrityError(fmt::format("pack {}: footer is damaged: its reserved word is not zero", pack));
  return GetU32(footer.data());
}

std::vector<PackEntry> DecodePackTrailer(std::string_view trailer, const std::string& pack) {
  if (trailer.size() < kPackFooterSize) throw IntegrityError(fmt::format("pack {}: trailer is truncated", pack));
  std::string_view footer = trailer.substr(trailer.size() - kPackFooterSize);
  uint32_t count = DecodePackFooterCount(footer, pack);
  std::string_view body = trailer.substr(0, trailer.size() - kPackFooterSize);
  if (body.size() != static_cast<size_t>(count) * kPackEntrySize)
    throw IntegrityError(fmt::format("pack {}: trailer size does not match its {} entries", pack, count));
  Digest digest = Sha256(body);
  if (std::memcmp(digest.data(), footer.data() + 8, 32) != 0)
    throw IntegrityError(fmt::format("pack {}: trailer checksum mismatch", pack));
  std::vector<PackEntry> entries(count);
  for (uint32_t i = 0; i < count; ++i) {
    const char* p = body.data() + static_cast<size_t>(i) * kPackEntrySize;
    PackEntry& e = entries[i];
    std::memcpy(e.id.data(), p, 32);
    e.offset = GetU64(p + 32);
    e.stored_size = GetU32(p + 40);
    e.raw_size = GetU32(p + 44);
    e.codec = static_cast<Codec>(static_cast<uint8_t>(p[48]));
    e.flags = static_cast<uint8_t>(p[49]);
    if (e.codec != Codec::kNone && e.codec != Codec::kZstd && e.codec != Codec::kLz4)
      throw IntegrityError(fmt::format("pack {}: entry {} has unknown codec", pack, i));
    if (e.flags != 0)
      throw IntegrityError(fmt::format("pack {}: entry {} has flags 0x{:02x}, unsupported in format version {} (bit 0 "
                                       "marks an encrypted chunk)",
                                       pack, i, e.flags, kFormatVersion));
  }
  return entries;
}

}  // namespace pgvault
