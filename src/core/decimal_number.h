// Strict unsigned decimal numbers from text another program wrote (HTTP
// headers, XML replies, PostgreSQL's files). std::stoull would take a sign,
// leading spaces and trailing text, and throws std::out_of_range, which names
// nothing; callers here turn std::nullopt into an error that names the source.
#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace pgvault {

// Digits only, at least one, no sign or space, and at most `max`.
inline std::optional<uint64_t> ParseDecimal(std::string_view text,
                                            uint64_t max = std::numeric_limits<uint64_t>::max()) {
  if (text.empty()) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

}  // namespace pgvault
