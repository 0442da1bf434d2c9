#include "wal/wal_expiry.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/test_pause.h"
#include "pg/wal_segment.h"
#include "pg/wal_segment_size.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {

namespace {

constexpr size_t kRemoveBatch = 256;  // files removed between two checks of the lock


}  // namespace

bool WalFileExpires(const std::string& name, uint64_t cut_segment, uint32_t segment_size) {
  auto kind = ClassifyWalFileName(name);
  if (!kind || *kind == WalFileKind::kHistory) return false;
  // The first 24 characters name a segment for the other three kinds.
  uint64_t log = std::stoull(name.substr(8, 8), nullptr, 16);
  uint64_t seg = std::stoull(name.substr(16, 8), nullptr, 16);
  uint64_t per_log = 0x100000000ull / segment_size;
  return log * per_log + seg < cut_segment;
}

uint32_t ArchivedWalSegmentSize(Repository& repo) {
  WalArchive archive(repo.storage(), repo.config().system_identifier.value_or(0));
  for (const auto& f : archive.List()) {
    if (ClassifyWalFileName(f.name) != WalFileKind::kSegment) continue;
    // Read whole and proven: a damaged size would move the expiry cut.
    WalObjectHeader header;
    if (archive.Fetch(f.name, &header) && IsValidWalSegmentSize(header.size))
      return static_cast<uint32_t>(header.size);
    break;  // one segment says it for all
  }
  BackupListing listing = repo.ListBackups();
  if (!listing.backups.empty()) return listing.backups.back().wal_segment_size;
  throw Error(fmt::format("cannot tell the WAL segment size of the cluster archiving into {}: it holds no archived "
                          "segment and no backup",
                          repo.Describe()));
}

WalExpiryReport ExpireWal(Repository& repo, const StorageLock& lock, const WalExpiryOptions& options) {
  if (!IsValidWalSegmentSize(options.segment_size))
    throw Error(fmt::format("WAL segment size {} is not a power of two from 1 MiB to 1 GiB", options.segment_size));
  WalExpiryReport report;
  report.dry_run = options.dry_run;
  uint64_t cut = SegmentNumber(options.before, options.segment_size);
  report.kept_from = FormatLsn(cut * options.segment_size);

  WalArchive archive(repo.storage(), repo.config().system_identifier.value_or(0));
  std::vector<std::string> doomed;
  // List() is sorted by name, so per timeline oldest first: an expiry that is
  // interrupted leaves each timeline's archive without holes, only shorter.
  for (const auto& f : archive.List()) {
    auto kind = ClassifyWalFileName(f.name);
    if (!WalFileExpires(f.name, cut, options.segment_size)) {
      report.files_kept++;
      report.bytes_kept += f.stored_size;
      if (kind == WalFileKind::kHistory) report.history_files++;
      continue;
    }
    doomed.push_back(WalArchive::ObjectPath(f.name));
    report.bytes_removed += f.stored_size;
    switch (*kind) {
      case WalFileKind::kSegment: report.segments_removed++; break;
      case WalFileKind::kPartial: report.partial_removed++; break;
      case WalFileKind::kBackup: report.backup_files_removed++; break;
      case WalFileKind::kHistory: break;  // never expires
    }
  }
  if (options.dry_run) return report;

  for (size_t from = 0; from < doomed.size(); from += kRemoveBatch) {
    lock.CheckHeld();
    size_t to = std::min(doomed.size(), from + kRemoveBatch);
    repo.storage().RemoveObjects(std::vector<std::string>(doomed.begin() + from, doomed.begin() + to));
    if (from == 0 && to < doomed.size()) TestPausePoint("wal-expire-removing");
  }
  // Directories of 256 segments each; a wal-push that was about to write
  // into one that just went makes it again (storage.h).
  repo.storage().RemoveEmptyDirectories("wal");
  spdlog::info("WAL expiry in {}: removed {} file(s) before {}", repo.Describe(), doomed.size(), report.kept_from);
  return report;
}

}  // namespace pgvault
