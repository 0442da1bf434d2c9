#include "pg/wal_segment_size.h"

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

void CheckWalSegmentSize(uint64_t size, const std::string& where) {
  if (!IsValidWalSegmentSize(size))
    throw Error(fmt::format("{}: WAL segment size {} is not a power of two from 1 MiB to 1 GiB", where, size));
}

}  // namespace pgvault
