#include "repo/garbage_collector.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "compress/codec.h"
#include "core/error.h"
#include "core/test_pause.h"
#include "repo/chunk_index.h"
#include "repo/gc_plan.h"
#include "repo/pack_writer.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "terminal/progress.h"

namespace pgvault {

namespace {

constexpr size_t kRemoveBatch = 64;  // packs removed between two checks of the lock

using ChunkSet = std::unordered_set<Digest, DigestHash>;

std::string FixByDeleting(Repository& repo, const std::string& id) {
  return fmt::format("'pgvault repo delete-backup --repo {} {}'", repo.Describe(), id);
}

// Step 1. Every committed backup, whole: gc must not guess about any of them.
ChunkSet ReferencedChunks(Repository& repo, const BackupListing& listing) {
  if (!listing.unreadable.empty()) {
    std::string which;
    for (const auto& u : listing.unreadable) which += fmt::format("{}backup {} ({})", which.empty() ? "" : "; ", u.id, u.error);
    const auto& first = listing.unreadable.front();
    throw Error(fmt::format("gc cannot run: {} manifest(s) cannot be read: {}. gc cannot tell which chunks such a "
                            "backup references, so it removes nothing. Repair {} from a copy of the repository, or "
                            "delete the backup with {}, then run gc again",
                            listing.unreadable.size(), which, first.path, FixByDeleting(repo, first.id)));
  }
  ChunkSet referenced;
  for (const auto& m : listing.backups) {
    std::vector<FileEntry> files;
    try {
      files = repo.LoadFileList(m);
    } catch (const std::exception& e) {  // missing, damaged, another version, or a parse slip
      throw Error(fmt::format("gc cannot run: the file list of backup {} cannot be read ({}). gc cannot tell which "
                              "chunks that backup references, so it removes nothing. Restore {} from a copy of the "
                              "repository, or delete the backup with {}, then run gc again",
                              m.id, e.what(), m.files_object, FixByDeleting(repo, m.id)));
    }
    for (const auto& f : files) referenced.insert(f.chunks.begin(), f.chunks.end());
  }
  return referenced;
}

// The error for referenced chunks no pack holds, naming a backup that uses one.
Error MissingChunks(Repository& repo, const BackupListing& listing, const std::vector<Digest>& missing) {
  ChunkSet wanted(missing.begin(), missing.end());
  for (const auto& m : listing.backups)
    for (const auto& f : repo.LoadFileList(m))
      for (const auto& c : f.chunks)
        if (wanted.count(c))
          return Error(fmt::format("gc cannot run: file {} of backup {} needs chunk {}, which no pack holds ({} "
                                   "referenced chunk(s) are in no pack). The repository is damaged; gc removes "
                                   "nothing. Run 'pgvault verify --repo {}' to see which backups are affected, delete "
                                   "them with 'pgvault repo delete-backup', then run gc again",
                                   f.path, m.id, DigestHex(c), missing.size(), repo.Describe()));
  return Error(fmt::format("gc cannot run: {} referenced chunk(s) are in no pack", missing.size()));
}

struct IndexFile {
  std::string path;
  uint64_t size = 0;
  std::vector<PackRecord> packs;
};

}  // namespace

GcReport CollectGarbage(Repository& repo, const StorageLock& lock, const GcOptions& options) {
  Storage& storage = repo.storage();
  GcReport report;
  report.dry_run = options.dry_run;

  // 1. What is referenced.
  BackupListing listing = repo.ListBackups();
  ChunkSet referenced = ReferencedChunks(repo, listing);
  report.backups = listing.backups.size();
  report.referenced_chunks = referenced.size();

  // 2. The packs as stored, and what the index files say of them.
  std::map<std::string, uint64_t> stored;  // pack path -> size
  for (const auto& o : storage.List("packs"))
    if (o.path.ends_with(".pack")) stored[o.path] = o.size;
  std::vector<IndexFile> index_files;
  std::vector<std::pair<std::string, std::string>> damaged_index_files;
  for (const auto& o : storage.List("index")) {
    if (!o.path.ends_with(".json.zst")) continue;
    try {
      index_files.push_back({o.path, o.size, ReadIndexFile(storage, o.path)});
    } catch (const IntegrityError& e) {
      // Damaged: its packs are orphans below, read from their own trailers,
      // listed by the new index file, and it goes to quarantine/.
      spdlog::warn("{}: left out; the trailers of the packs it may list are read instead", e.what());
      damaged_index_files.emplace_back(o.path, e.what());
    } catch (const Error& e) {
      throw Error(fmt::format("gc cannot run: {}. gc cannot tell which packs that index file lists, so it removes "
                              "nothing. Move {}/{} out of the repository (packs describe themselves: the next backup "
                              "or gc reads the trailers of the packs it listed), then run gc again",
                              e.what(), storage.Describe(), o.path));
    }
  }
  std::sort(index_files.begin(), index_files.end(),
            [](const IndexFile& a, const IndexFile& b) { return a.path < b.path; });

  std::vector<GcPackInput> inputs;
  std::map<std::string, size_t> input_of;  // pack path -> inputs[]
  for (const auto& f : index_files)
    for (const auto& p : f.packs) {
      auto s = stored.find(p.path);
      if (s == stored.end() || input_of.count(p.path)) continue;  // gone, or listed twice
      input_of[p.path] = inputs.size();
      inputs.push_back({PackRecord{p.path, s->second, p.entries}, true});
    }
  for (const auto& [path, size] : stored) {
    report.packs_examined++;
    report.bytes_examined += size;
    if (input_of.count(path)) continue;
    // An orphan: written by a backup or gc that was killed before its index
    // file (format section 8.2). Its trailer says what it holds.
    try {
      PackRecord record = ReadPackTrailer(storage, path, size);
      input_of[path] = inputs.size();
      inputs.push_back({std::move(record), false});
      report.orphan_packs++;
    } catch (const IntegrityError& e) {
      report.unreadable_packs.push_back(fmt::format("{}: {}", path, e.what()));
      spdlog::warn("gc keeps pack {}, listed by no index file, whose trailer cannot be read: {}", path, e.what());
    }
  }

  // 3. The plan.
  GcPlan plan = PlanGarbageCollection(inputs, referenced, options.repack_threshold);
  if (!plan.missing.empty()) throw MissingChunks(repo, listing, plan.missing);

  std::set<std::string> going;  // packs removed, whole or after repacking
  uint64_t repack_bytes = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const GcPackDecision& d = plan.packs[i];
    const PackRecord& p = inputs[i].pack;
    report.bytes_referenced += d.live_bytes;
    switch (d.fate) {
      case GcPackFate::kRemove:
        report.packs_removed++;
        report.bytes_removed += p.size;
        going.insert(p.path);
        break;
      case GcPackFate::kRepack:
        report.packs_repacked++;
        report.bytes_repacked += p.size;
        report.chunks_repacked += d.keepers.size();
        repack_bytes += d.live_bytes;
        going.insert(p.path);
        break;
      case GcPackFate::kKeep:
        report.bytes_unreferenced_kept += d.dead_bytes;
        break;
    }
  }

  // Index files that list a pack about to go or already gone, or a pack an
  // earlier index file lists too, are replaced by one new index file. The
  // others stay as they are.
  std::vector<std::string> index_to_remove;
  uint64_t index_bytes_removed = 0;
  std::set<std::string> listed_by_kept_files;
  {
    std::set<std::string> seen;
    std::vector<bool> replace(index_files.size(), false);
    for (size_t i = 0; i < index_files.size(); ++i) {
      for (const auto& p : index_files[i].packs)
        if (!stored.count(p.path) || going.count(p.path) || !seen.insert(p.path).second) replace[i] = true;
    }
    for (size_t i = 0; i < index_files.size(); ++i) {
      if (replace[i]) {
        index_to_remove.push_back(index_files[i].path);
        index_bytes_removed += index_files[i].size;
      } else {
        for (const auto& p : index_files[i].packs) listed_by_kept_files.insert(p.path);
      }
    }
  }
  // What the new index file lists, apart from the packs repacking writes.
  std::vector<PackRecord> new_listing;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const PackRecord& p = inputs[i].pack;
    if (going.count(p.path) || listed_by_kept_files.count(p.path)) continue;
    new_listing.push_back(p);  // a kept pack of a replaced index file, or a kept orphan (adopted)
  }
  report.index_files_removed = index_to_remove.size();

  if (options.dry_run) {
    // New packs hold the live chunks back to back, plus a header and trailer each.
    uint64_t pack_size = repo.config().pack_size;
    uint64_t new_packs = repack_bytes == 0 ? 0 : (repack_bytes + pack_size - 1) / pack_size;
    report.packs_written = new_packs;
    report.bytes_written = repack_bytes == 0 ? 0
                                             : repack_bytes + new_packs * (kPackHeader.size() + kPackFooterSize) +
                                                   report.chunks_repacked * kPackEntrySize;
    report.index_files_written = (new_packs > 0 || !new_listing.empty()) ? 1 : 0;
    uint64_t freed = report.bytes_removed + report.bytes_repacked + index_bytes_removed;
    report.bytes_reclaimed = freed > report.bytes_written ? freed - report.bytes_written : 0;
    return report;
  }

  // 4. Repack: the stored bytes are copied as they are (same codec), each
  // checked against its chunk id first, so that damage is not carried over
  // into a pack that looks new.
  PackWriter writer(storage, repo.config().pack_size);
  {
    ProgressReporter progress("gc", repack_bytes, options.progress);
    std::string plain;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (plan.packs[i].fate != GcPackFate::kRepack) continue;
      const PackRecord& p = inputs[i].pack;
      for (size_t e : plan.packs[i].keepers) {
        const PackEntry& entry = p.entries[e];
        std::string bytes = storage.ReadRange(p.path, entry.offset, entry.stored_size);
        try {
          plain.resize(entry.raw_size);
          DecompressInto(entry.codec, bytes, entry.raw_size, plain.data());
          if (Sha256(plain) != entry.id) throw IntegrityError("checksum mismatch");
        } catch (const IntegrityError& damage) {
          throw IntegrityError(fmt::format("gc stopped: chunk {} in pack {} is damaged ({}); nothing was removed. Run "
                                           "'pgvault verify --repo {}' to see which backups use it",
                                           DigestHex(entry.id), p.path, damage.what(), repo.Describe()));
        }
        writer.Add(entry.id, entry.codec, bytes, entry.raw_size);
        progress.Add(entry.stored_size);
      }
    }
    writer.Flush();
    progress.Finish();
  }
  report.packs_written = writer.records().size();
  report.bytes_written = writer.stored_bytes();
  TestPausePoint("gc-packs-written");

  // 5. The new index file, before any index file or pack goes: from here on
  // every live chunk is listed in a pack that exists, repacked ones twice.
  new_listing.insert(new_listing.end(), writer.records().begin(), writer.records().end());
  uint64_t index_bytes_written = 0;
  if (!new_listing.empty()) {
    lock.CheckHeld();
    std::string written;
    index_bytes_written = ChunkIndex::WriteIndexFile(storage, new_listing, &written);
    // The same content as an index file it replaces has the same name: that
    // one is the new one now, and must stay.
    index_to_remove.erase(std::remove(index_to_remove.begin(), index_to_remove.end(), written),
                          index_to_remove.end());
    report.index_files_written = 1;
  }
  TestPausePoint("gc-index-written");
  if (!damaged_index_files.empty()) {
    lock.CheckHeld();
    repo.QuarantineIndexFiles(damaged_index_files);
  }

  // 6. The replaced index files: afterwards no index file lists a pack that
  // is about to go.
  if (!index_to_remove.empty()) {
    lock.CheckHeld();
    storage.RemoveObjects(index_to_remove);
  }
  TestPausePoint("gc-index-removed");

  // 7. The packs. Batches, with the lock checked between them: removing
  // thousands of objects from an object store takes a while.
  std::vector<std::string> packs_to_remove(going.begin(), going.end());
  size_t batch = std::clamp<size_t>(packs_to_remove.size() / 2, 1, kRemoveBatch);
  bool paused = false;
  for (size_t from = 0; from < packs_to_remove.size(); from += batch) {
    lock.CheckHeld();
    size_t to = std::min(packs_to_remove.size(), from + batch);
    storage.RemoveObjects(std::vector<std::string>(packs_to_remove.begin() + from, packs_to_remove.begin() + to));
    if (!paused && to * 2 >= packs_to_remove.size() && to < packs_to_remove.size()) {
      TestPausePoint("gc-packs-half-removed");
      paused = true;
    }
  }
  storage.RemoveEmptyDirectories("packs");

  uint64_t freed = report.bytes_removed + report.bytes_repacked + index_bytes_removed;
  uint64_t added = report.bytes_written + index_bytes_written;
  report.bytes_reclaimed = freed > added ? freed - added : 0;
  spdlog::info("gc of {}: {} pack(s) removed, {} repacked into {}, {} index file(s) replaced", repo.Describe(),
               report.packs_removed, report.packs_repacked, report.packs_written, report.index_files_removed);
  return report;
}

}  // namespace pgvault
