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
  // Asynchronous, parallel archiving (wal/async_archiver.h): a background
  // worker pushes the other ready segments ahead with `async_jobs` threads.
  bool async = false;
  std::string spool;  // default: pg_wal/pgvault-spool next to the segment
  int async_jobs = 4;
  int async_queue_max = 64;
};

struct WalPushResult {
  std::string name;
  bool already_archived = false;  // identical content was already there
  uint64_t size = 0;
};

WalPushResult RunWalPush(const WalPushOptions& options);

}  // namespace pgvault
