// The WAL segment sizes PostgreSQL can have (initdb --wal-segsize): a power of
// two from 1 MiB to 1 GiB. Every segment size read from a repository, a
// manifest or a WAL object header is checked against this before it divides
// anything: a 0 there once crashed verify with SIGFPE.
#pragma once

#include <cstdint>
#include <string>

namespace pgvault {

inline constexpr uint64_t kMinWalSegmentSize = 1u << 20;
inline constexpr uint64_t kMaxWalSegmentSize = 1u << 30;

inline bool IsValidWalSegmentSize(uint64_t size) {
  return size >= kMinWalSegmentSize && size <= kMaxWalSegmentSize && (size & (size - 1)) == 0;
}

// Throws Error "<where>: WAL segment size N is not a power of two from 1 MiB
// to 1 GiB" unless IsValidWalSegmentSize(size).
void CheckWalSegmentSize(uint64_t size, const std::string& where);

}  // namespace pgvault
