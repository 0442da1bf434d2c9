#include "terminal/table.h"

#include <algorithm>

#include <fmt/format.h>

namespace pgvault {

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = headers_[c].size();
  for (const auto& r : rows_)
    for (size_t c = 0; c < r.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], r[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < widths.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      if (c + 1 == widths.size())
        out += cell;
      else
        out += cell + std::string(widths[c] - cell.size() + 3, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string text = line(headers_);
  for (const auto& r : rows_) text += line(r);
  return text;
}

std::string FormatAge(double seconds) {
  if (seconds < 0) seconds = 0;
  auto s = static_cast<long>(seconds);
  if (s < 120) return fmt::format("{}s", s);
  if (s < 3600 * 3) return fmt::format("{}m", s / 60);
  if (s < 86400 * 2) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

}  // namespace pgvault
