#include "command/wal_fetch_command.h"

#include <cstdio>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "pg/wal_segment.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"
#include "wal/wal_prefetcher.h"

namespace pgvault {

WalFetchOutcome RunWalFetch(const WalFetchOptions& options) {
  if (options.name.empty() || options.destination.empty())
    throw UsageError("wal-fetch needs the WAL file name and the destination path (%f %p in restore_command)");
  WalArchive::ObjectPath(options.name);  // rejects names that are not WAL files
  auto repo = Repository::Open(OpenStorage(options.repo));
  uint64_t sysid = repo->config().system_identifier.value_or(0);

  // Only whole segments are prefetched: .history, .partial and .backup files
  // are asked for by name, once, not in sequence.
  bool prefetch = options.prefetch > 0 && ClassifyWalFileName(options.name) == WalFileKind::kSegment;
  PrefetchOptions po{options.repo, options.spool.empty() ? "pg_wal/pgvault-spool" : options.spool, options.prefetch};
  // Once the segment is in place, a failure to keep prefetching costs speed,
  // not correctness: say so and succeed.
  auto prefetch_after = [&](uint64_t size) {
    try {
      PrefetchAfter(po, options.name, size);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pgvault: warning: wal-fetch %s: prefetch not started: %s\n", options.name.c_str(),
                   e.what());
    }
  };
  if (prefetch) {
    if (auto size = TakePrefetchedSegment(po, options.name, sysid, options.destination)) {
      prefetch_after(*size);
      return WalFetchOutcome::kFetched;
    }
  }

  WalArchive archive(repo->storage(), sysid);
  std::optional<std::string> content = archive.Fetch(options.name);
  if (!content) return WalFetchOutcome::kNotArchived;
  // PostgreSQL reads the file right after we exit and copies or renames it
  // itself; a crash before that repeats the fetch, so no fsync is needed.
  // The rename keeps it from ever seeing a partly written file.
  WriteFileAtomically(options.destination, *content, 0600, /*durable=*/false);
  if (prefetch) prefetch_after(content->size());
  return WalFetchOutcome::kFetched;
}

}  // namespace pgvault
