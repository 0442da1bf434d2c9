#include "pg/lsn.h"

#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "pg/wal_segment_size.h"

namespace pgvault {

// Exactly what PostgreSQL's pg_lsn input takes: 1 to 8 hex digits, '/', 1 to
// 8 hex digits, nothing else. sscanf("%X") alone would also take spaces, a
// sign and "0x", and wrap values that do not fit.
Lsn ParseLsn(const std::string& text) {
  auto hex_run = [&](size_t pos, size_t* end) -> std::optional<uint32_t> {
    uint32_t value = 0;
    size_t i = pos;
    for (; i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (i - pos == 8) return std::nullopt;
      char c = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
      value = value << 4 | static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'A' + 10);
    }
    if (i == pos) return std::nullopt;
    *end = i;
    return value;
  };
  size_t slash = 0, end = 0;
  auto hi = hex_run(0, &slash);
  std::optional<uint32_t> lo;
  if (hi && slash < text.size() && text[slash] == '/') lo = hex_run(slash + 1, &end);
  if (!hi || !lo || end != text.size())
    throw Error(fmt::format("invalid LSN '{}': expected two hexadecimal numbers of 1 to 8 digits separated by '/', "
                            "such as 16/B374D848",
                            text));
  return static_cast<Lsn>(*hi) << 32 | *lo;
}

std::string FormatLsn(Lsn lsn) { return fmt::format("{:X}/{:X}", lsn >> 32, lsn & 0xffffffffu); }

uint64_t SegmentNumber(Lsn lsn, uint32_t segment_size) {
  CheckWalSegmentSize(segment_size, "WAL position");
  return lsn / segment_size;
}

std::string WalSegmentName(uint32_t timeline, uint64_t segment_number, uint32_t segment_size) {
  CheckWalSegmentSize(segment_size, "WAL segment name");
  uint64_t per_id = 0x100000000ull / segment_size;
  return fmt::format("{:08X}{:08X}{:08X}", timeline, segment_number / per_id, segment_number % per_id);
}

bool IsWalSegmentName(const std::string& name) {
  if (name.size() != 24) return false;
  for (char c : name)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

WalSegmentId ParseWalSegmentName(const std::string& name, uint32_t segment_size) {
  if (!IsWalSegmentName(name)) throw Error(fmt::format("'{}' is not a WAL segment file name", name));
  CheckWalSegmentSize(segment_size, name);
  uint64_t per_id = 0x100000000ull / segment_size;
  WalSegmentId id;
  id.timeline = static_cast<uint32_t>(std::stoul(name.substr(0, 8), nullptr, 16));
  id.segment_number = std::stoull(name.substr(8, 8), nullptr, 16) * per_id + std::stoull(name.substr(16, 8), nullptr, 16);
  return id;
}

}  // namespace pgvault
