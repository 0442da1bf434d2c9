// What gc does with each pack: pure logic over the packs' contents and the
// chunks committed backups reference, with restic's `prune` as the model.
//
// Each referenced chunk keeps exactly one copy (its *keeper*). A pack with no
// keeper is removed whole. A pack whose keepers are a small part of it is
// repacked: its keepers are copied into new packs, then it is removed. Any
// other pack is kept as it is, unreferenced bytes and all, since rewriting a
// mostly-live pack costs more I/O than the space it frees.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "crypto/sha256.h"
#include "repo/chunk_index.h"

namespace pgvault {

struct GcPackInput {
  PackRecord pack;       // path, size as stored, entries (from an index file or the trailer)
  bool indexed = false;  // listed by an index file; false: an orphan, read from its trailer
};

enum class GcPackFate { kKeep, kRemove, kRepack };

struct GcPackDecision {
  GcPackFate fate = GcPackFate::kKeep;
  std::vector<size_t> keepers;  // indexes into pack.entries of the copies that are kept
  uint64_t live_bytes = 0;      // stored bytes of those entries
  uint64_t dead_bytes = 0;      // stored bytes of every other entry
};

struct GcPlan {
  std::vector<GcPackDecision> packs;  // one per input pack, same order
  std::vector<Digest> missing;        // referenced chunks that no pack holds
};

// `repack_threshold`: a pack with keepers is repacked when its dead bytes are
// more than this fraction of its entries' bytes (0.5: "mostly garbage"); 1 or
// more never repacks.
//
// Keepers: a copy in an indexed pack before one in an orphan (an orphan's
// chunks are, by the format's rules, never the only copy a committed backup
// relies on, but gc does not bet data on that), then the copy in the pack
// with the larger share of referenced bytes (so copies gather in dense packs
// and sparse ones empty out, instead of both staying half full), then the
// pack path, so that the plan does not depend on input order.
GcPlan PlanGarbageCollection(const std::vector<GcPackInput>& packs,
                             const std::unordered_set<Digest, DigestHash>& referenced, double repack_threshold);

}  // namespace pgvault
