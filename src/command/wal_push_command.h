// `pgvault wal-push`: archive_command. Stores one WAL file (segment, .partial,
// .backup or .history) in the repository's WAL area, durably, and succeeds
// only once it is there.
#pragma once

#include <string>

namespace pgvault {

struct WalPushOptions {
  std::string repo;
  std::string path;  // %p: relative to PostgreSQL's data directory (the cwd)
  std::string compress = "zstd";
  int compress_level = 1;
};

struct WalPushResult {
  std::string name;
  bool already_archived = false;  // identical content was already there
  uint64_t size = 0;
};

WalPushResult RunWalPush(const WalPushOptions& options);

}  // namespace pgvault
