#include "command/wal_expire_command.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/byte_size.h"
#include "core/error.h"
#include "pg/lsn.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {

namespace {

Lsn ParseBefore(const std::string& text, uint32_t segment_size) {
  if (IsWalSegmentName(text)) return ParseWalSegmentName(text, segment_size).segment_number * segment_size;
  try {
    return ParseLsn(text);
  } catch (const Error&) {
    throw UsageError(fmt::format("--before {}: give a WAL segment name (000000010000000A000000FF, upper case) or an "
                                 "LSN (A/FF000028)",
                                 text));
  }
}

}  // namespace

WalExpireResult RunWalExpire(const WalExpireOptions& options) {
  // Checked before anything is opened: a typo is a usage error, whatever the repository.
  if (!IsWalSegmentName(options.before)) ParseBefore(options.before, 16u << 20);
  auto repo = Repository::Open(OpenStorage(options.repo));
  auto lock = repo->LockForWrite(options.dry_run ? "wal expire --dry-run" : "wal expire", !options.dry_run);
  WalExpiryOptions expiry;
  try {
    expiry.segment_size = ArchivedWalSegmentSize(*repo);
  } catch (const Error&) {
    // No segment and no backup to tell the size: with nothing archived there
    // is nothing to expire, whatever the size.
    if (!WalArchive(repo->storage(), 0).List().empty()) throw;
    expiry.segment_size = 16u << 20;
  }
  expiry.before = ParseBefore(options.before, expiry.segment_size);
  expiry.dry_run = options.dry_run;

  WalExpireResult result;
  result.before = FormatLsn(expiry.before);
  uint64_t cut = SegmentNumber(expiry.before, expiry.segment_size);
  for (const auto& m : repo->ListBackups().backups)
    if (SegmentNumber(ParseLsn(m.stop_lsn), m.wal_segment_size) < cut) result.backups_losing_pitr.push_back(m.id);
  result.report = ExpireWal(*repo, *lock, expiry);
  return result;
}

std::string RenderWalExpire(const WalExpireResult& r, bool json) {
  const WalExpiryReport& w = r.report;
  if (json) {
    nlohmann::json j = {{"dry_run", w.dry_run},
                        {"before", r.before},
                        {"kept_from", w.kept_from},
                        {"segments_removed", w.segments_removed},
                        {"partial_removed", w.partial_removed},
                        {"backup_files_removed", w.backup_files_removed},
                        {"bytes_removed", w.bytes_removed},
                        {"files_kept", w.files_kept},
                        {"bytes_kept", w.bytes_kept},
                        {"history_files", w.history_files},
                        {"backups_losing_pitr", r.backups_losing_pitr}};
    return j.dump(2) + "\n";
  }
  std::string out = w.dry_run ? "dry run: nothing was changed\n" : "";
  out += fmt::format("{} {}removed: {} segment(s), {} .partial, {} .backup file(s) before {} (any timeline)\n",
                     FormatBytes(w.bytes_removed), w.dry_run ? "would be " : "", w.segments_removed,
                     w.partial_removed, w.backup_files_removed, w.kept_from);
  out += fmt::format("kept: {} file(s), {} ({} timeline history file(s))\n", w.files_kept, FormatBytes(w.bytes_kept),
                     w.history_files);
  for (const auto& id : r.backups_losing_pitr)
    out += fmt::format("note: backup {} can no longer be rolled forward from the archive (WAL after its end {} "
                       "removed); it still restores to its own end\n",
                       id, w.dry_run ? "would be" : "is");
  return out;
}

}  // namespace pgvault
