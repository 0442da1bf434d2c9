// Garbage collection: reclaims the space of chunks that no committed backup
// references any more (after delete-backup), and what killed writers left.
// docs/repository-format.md, section 16.
//
// Steps (the numbers of the format document), each durable before the next
// begins, so that a crash anywhere leaves a repository that verifies and
// restores (the argument is in section 16.3):
//   1. read every manifest and file list: the referenced chunks;
//   2. read every index file, and the trailer of every pack no index file
//      lists;
//   3. decide per pack (gc_plan.h): keep, remove, or repack;
//   4. repack: copy the live chunks of the packs to repack into new packs;
//   5. write one new index file: the new packs, the kept packs listed by the
//      index files about to go, and kept orphan packs;
//   6. remove the index files that list a pack about to go (or one that no
//      longer exists, or one an earlier index file lists);
//   7. remove the packs to remove and the repacked packs.
// Readers (restore, verify) take no lock. Between steps 5 and 6 they find a
// repacked chunk in two packs, either of which they may read; after step 7,
// one that loaded the index earlier finds a removed pack missing and reloads
// the index (chunk_relocator.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgvault {

class Repository;
class StorageLock;

struct GcOptions {
  bool dry_run = false;  // decide and report; write and remove nothing
  // A partly referenced pack is repacked when more than this fraction of its
  // chunk bytes is unreferenced (gc_plan.h); 1 never repacks.
  double repack_threshold = 0.5;
  bool progress = false;  // a progress line on a terminal while repacking
};

struct GcReport {
  bool dry_run = false;
  uint64_t backups = 0;            // committed backups, whose chunks are all kept
  uint64_t referenced_chunks = 0;  // distinct chunks they reference
  uint64_t packs_examined = 0, bytes_examined = 0;  // every pack file before gc
  uint64_t orphan_packs = 0;       // of those, listed by no index file (killed backup or gc)
  uint64_t packs_removed = 0, bytes_removed = 0;    // no referenced chunk: removed whole
  uint64_t packs_repacked = 0, bytes_repacked = 0;  // partly referenced: live chunks copied, then removed
  uint64_t chunks_repacked = 0;
  uint64_t packs_written = 0, bytes_written = 0;  // new packs holding those chunks (dry run: an estimate)
  uint64_t index_files_removed = 0, index_files_written = 0;
  uint64_t bytes_reclaimed = 0;    // pack and index bytes before gc minus after
  uint64_t bytes_referenced = 0;   // stored bytes of the one kept copy of each referenced chunk
  uint64_t bytes_unreferenced_kept = 0;  // unreferenced bytes left in kept packs (below the threshold)
  // Packs no index file lists whose trailer cannot be read: gc cannot tell
  // what they hold, so it keeps them; "path: reason".
  std::vector<std::string> unreadable_packs;
};

// `lock` must be `repo`'s writer lock (Repository::LockForWrite): every
// backup holds it for its whole run (backup_command.cc takes it before it
// loads the chunk index and releases it after its manifest is committed), so
// no backup can reuse a chunk that gc is about to remove. gc checks the lock
// before each step that removes something (an object-store lease can be
// lost). Throws Error, removing nothing, when any manifest or file list
// cannot be read, an index file is damaged, or a referenced chunk is in no
// pack: gc cannot then know what is still needed.
GcReport CollectGarbage(Repository& repo, const StorageLock& lock, const GcOptions& options);

}  // namespace pgvault
