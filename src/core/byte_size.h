// Human-readable byte counts (binary units, as PostgreSQL's pg_size_pretty).
#pragma once

#include <cstdint>
#include <string>

namespace pgvault {

std::string FormatBytes(uint64_t bytes);  // "1.5 GiB"

}  // namespace pgvault
