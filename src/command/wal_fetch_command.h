// `pgvault wal-fetch`: restore_command. Copies one archived WAL file out of
// the repository, verified, to where PostgreSQL asked for it.
//
// Exit status matters to PostgreSQL: 1 means "not archived" (it then tries
// pg_wal or streaming, or ends recovery), while a status above 125 makes the
// startup process stop with FATAL. A damaged or unreadable archive must stop
// recovery, never look like its end, so the CLI maps every error to 126.
#pragma once

#include <string>

namespace pgvault {

struct WalFetchOptions {
  std::string repo;
  std::string name;         // %f
  std::string destination;  // %p: relative to the data directory (the cwd)
  // Segments fetched ahead in the background (wal/wal_prefetcher.h); 0: none.
  int prefetch = 0;
  std::string spool;  // default: pg_wal/pgvault-spool (the cwd is the data directory)
};

enum class WalFetchOutcome { kFetched, kNotArchived };

WalFetchOutcome RunWalFetch(const WalFetchOptions& options);

}  // namespace pgvault
