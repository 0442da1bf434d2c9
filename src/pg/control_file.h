// Reading global/pg_control. Only fields whose offsets are stable across
// PostgreSQL versions are read here; the rest comes from SQL.
#pragma once

#include <cstdint>
#include <string>

namespace pgvault {

// The system identifier (first 8 bytes of pg_control). Throws a clear error
// when `pgdata` is not a PostgreSQL data directory.
uint64_t ReadSystemIdentifier(const std::string& pgdata);

// Throws unless `pgdata` looks like a PostgreSQL data directory (PG_VERSION
// and global/pg_control present). Returns the major version from PG_VERSION.
std::string CheckDataDirectory(const std::string& pgdata);

}  // namespace pgvault
