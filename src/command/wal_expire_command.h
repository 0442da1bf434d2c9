// `pgvault wal expire --repo R --before WALNAME|LSN [--dry-run]`: removes
// archived WAL wholly before a position (wal/wal_expiry.h), under the writer
// lock.
#pragma once

#include <string>
#include <vector>

#include "wal/wal_expiry.h"

namespace pgvault {

struct WalExpireOptions {
  std::string repo;
  std::string before;  // a segment name (that segment is kept) or an LSN (its segment is kept)
  bool dry_run = false;
};

struct WalExpireResult {
  WalExpiryReport report;
  std::string before;  // the LSN the option named
  // Committed backups that can no longer be rolled forward from the archive:
  // the segment holding their stop LSN is removed. They still restore on
  // their own (their WAL is stored with them).
  std::vector<std::string> backups_losing_pitr;
};

// Throws UsageError when `before` is neither a segment name nor an LSN.
WalExpireResult RunWalExpire(const WalExpireOptions& options);
std::string RenderWalExpire(const WalExpireResult& result, bool json);

}  // namespace pgvault
