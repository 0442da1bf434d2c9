#include "core/duration_text.h"

#include <cctype>

namespace pgvault {

std::optional<std::chrono::seconds> ParseDurationText(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  int last_rank = 5;  // units must come largest first, each once
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i] - '0');
      if (value > 100'000'000) return std::nullopt;
      ++i;
    }
    if (i == start || i == text.size()) return std::nullopt;
    int rank;
    int64_t unit;
    switch (text[i]) {
      case 'd': rank = 4; unit = 86400; break;
      case 'h': rank = 3; unit = 3600; break;
      case 'm': rank = 2; unit = 60; break;
      case 's': rank = 1; unit = 1; break;
      default: return std::nullopt;
    }
    if (rank >= last_rank) return std::nullopt;
    last_rank = rank;
    total += value * unit;
    ++i;
  }
  if (total <= 0) return std::nullopt;
  return std::chrono::seconds(total);
}

}  // namespace pgvault
