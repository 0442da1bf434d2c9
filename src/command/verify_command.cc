#include "command/verify_command.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "repo/chunk_index.h"
#include "repo/chunk_reader.h"
#include "repo/chunk_relocator.h"
#include "pg/lsn.h"
#include "pg/wal_segment.h"
#include "repo/repository.h"
#include "terminal/progress.h"
#include "wal/wal_archive.h"

namespace pgvault {

namespace {

// Every archived WAL file is read and checked; a missing segment after the
// oldest backup on its timeline is reported, because point-in-time recovery
// cannot replay past it.
void VerifyWalArchive(Repository& repo, const std::vector<BackupManifest>& backups, size_t jobs,
                      VerifyResult& result) {
  WalArchive archive(repo.storage(), repo.config().system_identifier.value_or(0));
  std::vector<ArchivedWalFile> files = archive.List();
  std::mutex mutex;
  ParallelFor(jobs, files.size(), [&](size_t, size_t i) {
    try {
      archive.Fetch(files[i].name);
    } catch (const Error& e) {
      std::lock_guard lock(mutex);
      result.problems.push_back({"", WalArchive::ObjectPath(files[i].name), e.what()});
    }
  });
  result.wal_files_checked = files.size();
  // Gaps: per timeline, segments after the oldest backup's stop segment on it.
  std::map<uint32_t, std::set<uint64_t>> segments;
  uint32_t segment_size = backups.empty() ? (16u << 20) : backups.back().wal_segment_size;
  uint64_t per_log = 0x100000000ull / segment_size;
  for (const auto& f : files) {
    if (ClassifyWalFileName(f.name) != WalFileKind::kSegment) continue;
    segments[static_cast<uint32_t>(std::stoul(f.name.substr(0, 8), nullptr, 16))].insert(
        std::stoull(f.name.substr(8, 8), nullptr, 16) * per_log + std::stoull(f.name.substr(16, 8), nullptr, 16));
  }
  for (const auto& [tli, segs] : segments) {
    std::optional<uint64_t> from;
    for (const auto& b : backups)
      if (b.timeline == tli) {
        uint64_t s = SegmentNumber(ParseLsn(b.stop_lsn), b.wal_segment_size);
        if (!from || s < *from) from = s;
      }
    if (!from || segs.empty()) continue;
    for (uint64_t s = *from; s < *segs.rbegin(); ++s)
      if (!segs.count(s) && !(s == *from && s < *segs.begin())) {
        std::string name = WalSegmentName(tli, s, segment_size);
        result.problems.push_back({"", WalArchive::ObjectPath(name),
                                   fmt::format("WAL segment {} is missing from the archive: point-in-time recovery on "
                                               "timeline {} cannot replay past it",
                                               name, tli)});
        break;  // one per timeline: the first gap is what matters
      }
  }
}

}  // namespace

VerifyResult RunVerify(const VerifyOptions& options) {
  VerifyResult result;
  auto repo = Repository::Open(OpenStorage(options.repo));
  std::vector<BackupManifest> backups;
  if (options.backup.empty()) {
    // A manifest that cannot be read is a failure of its backup alone: the
    // others are still verified.
    BackupListing listing = repo->ListBackups();
    backups = std::move(listing.backups);
    for (const auto& u : listing.unreadable)
      result.problems.push_back({u.id, u.path, fmt::format("backup {} cannot be read: {}", u.id, u.error)});
    if (!listing.history_problem.empty()) result.problems.push_back({"", "history.json", listing.history_problem});
  } else {
    backups.push_back(repo->LoadBackup(options.backup));
  }
  ChunkIndex index = ChunkIndex::Load(repo->storage(), false);
  // Reported, not fatal: Load() read the packs' own trailers instead, so
  // every backup is still verified below.
  for (const auto& [path, why] : index.damaged_index_files())
    result.problems.push_back(
        {"", path,
         fmt::format("{}; its packs were read from their own trailers, and the next backup or 'pgvault repo gc' moves "
                     "it to quarantine/",
                     why)});

  // Each distinct chunk is read once; its users are remembered so damage is
  // reported per file and per backup.
  struct Use {
    size_t backup;
    std::string path;
  };
  std::unordered_map<Digest, std::vector<Use>, DigestHash> uses;
  for (size_t b = 0; b < backups.size(); ++b) {
    std::vector<FileEntry> files;
    try {
      files = repo->LoadFileList(backups[b]);
    } catch (const Error& e) {  // damaged, missing, or of another format version
      result.problems.push_back({backups[b].id, backups[b].files_object, e.what()});
      continue;
    }
    for (const auto& f : files) {
      if (f.type != FileType::kFile) continue;
      if (FileChecksum(f.chunks) != f.checksum)
        result.problems.push_back({backups[b].id, f.path,
                                   fmt::format("backup {} is damaged: file {}: checksum does not match its chunk list",
                                               backups[b].id, f.path)});
      for (const auto& c : f.chunks) {
        auto& u = uses[c];
        if (u.empty() || u.back().backup != b || u.back().path != f.path) u.push_back({b, f.path});
      }
    }
  }
  result.backups = backups.size();

  std::vector<Digest> chunks;
  chunks.reserve(uses.size());
  uint64_t total = 0;
  for (const auto& [id, u] : uses) {
    chunks.push_back(id);
    if (const auto* loc = index.Find(id)) total += loc->raw_size;
  }
  // Pack order, then offset: sequential reads.
  std::sort(chunks.begin(), chunks.end(), [&](const Digest& a, const Digest& b) {
    const auto* la = index.Find(a);
    const auto* lb = index.Find(b);
    if (!la || !lb) return la < lb;
    return la->pack != lb->pack ? la->pack < lb->pack : la->offset < lb->offset;
  });

  size_t jobs = options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<ChunkReader>> readers;
  std::vector<std::string> buffers(jobs);
  // verify takes no lock: gc may remove packs meanwhile (chunk_relocator.h).
  ChunkRelocator relocator(repo->storage());
  for (size_t i = 0; i < jobs; ++i)
    readers.push_back(std::make_unique<ChunkReader>(repo->storage(), index, &relocator));
  std::mutex mutex;
  std::map<std::pair<std::string, std::string>, std::string> damaged;  // (backup, path) -> first reason
  ProgressReporter progress("verify", total, options.progress);
  std::atomic<uint64_t> bytes{0};
  ParallelFor(jobs, chunks.size(), [&](size_t w, size_t i) {
    const Digest& id = chunks[i];
    try {
      readers[w]->Read(id, buffers[w]);
      bytes += buffers[w].size();
      progress.Add(buffers[w].size());
    } catch (const IntegrityError& e) {
      std::lock_guard lock(mutex);
      for (const auto& u : uses[id]) damaged.try_emplace({backups[u.backup].id, u.path}, e.what());
    }
  });
  progress.Finish();
  for (const auto& [key, reason] : damaged)
    result.problems.push_back(
        {key.first, key.second, fmt::format("backup {} is damaged: file {}: {}", key.first, key.second, reason)});
  // Chunks are read through the index files, which are only copies of the
  // packs' trailers: read each trailer too, or damage to it (entry table or
  // footer) would go unnoticed until the index files are lost and the pack
  // can no longer describe its own chunks.
  for (uint32_t p = 0; p < index.pack_count(); ++p) {
    const std::string& path = index.PackPath(p);
    try {
      ReadPackTrailer(repo->storage(), path, index.PackSize(p));
    } catch (const NotFoundError&) {
      // removed by a gc meanwhile (verify takes no lock)
    } catch (const IntegrityError& e) {
      result.problems.push_back(
          {"", path,
           fmt::format("{}: the pack's trailer (entry table and footer) is damaged; its chunks are still found "
                       "through index/, which holds a copy of it, but without those index files this pack cannot be "
                       "read: keep index/ and take a new backup into a new repository",
                       e.what())});
    }
  }
  result.chunks_checked = chunks.size();
  result.bytes_checked = bytes;
  if (options.backup.empty()) VerifyWalArchive(*repo, backups, jobs, result);
  return result;
}

}  // namespace pgvault
