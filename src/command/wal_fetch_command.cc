#include "command/wal_fetch_command.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {

WalFetchOutcome RunWalFetch(const WalFetchOptions& options) {
  if (options.name.empty() || options.destination.empty())
    throw UsageError("wal-fetch needs the WAL file name and the destination path (%f %p in restore_command)");
  WalArchive::ObjectPath(options.name);  // rejects names that are not WAL files
  auto repo = Repository::Open(OpenStorage(options.repo));
  WalArchive archive(repo->storage(), repo->config().system_identifier.value_or(0));
  std::optional<std::string> content = archive.Fetch(options.name);
  if (!content) return WalFetchOutcome::kNotArchived;
  // PostgreSQL reads the file right after we exit and copies or renames it
  // itself; a crash before that repeats the fetch, so no fsync is needed.
  // The rename keeps it from ever seeing a partly written file.
  WriteFileAtomically(options.destination, *content, 0600, /*durable=*/false);
  return WalFetchOutcome::kFetched;
}

}  // namespace pgvault
