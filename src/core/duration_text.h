// Durations as people write them in manifests and options: "90s", "10m",
// "1h30m", "2d" (units s, m, h, d; several may follow each other, largest
// first). Deadlines and intervals are whole seconds.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pgvault {

// nullopt when `text` is not such a duration (or is 0).
std::optional<std::chrono::seconds> ParseDurationText(const std::string& text);

}  // namespace pgvault
