#include "repo/gc_plan.h"

#include <algorithm>
#include <unordered_map>

namespace pgvault {

GcPlan PlanGarbageCollection(const std::vector<GcPackInput>& packs,
                             const std::unordered_set<Digest, DigestHash>& referenced, double repack_threshold) {
  // Density of referenced bytes per pack, counting every copy: what the pack
  // would keep if it won every chunk it holds.
  struct Density {
    uint64_t referenced = 0, total = 0;
  };
  std::vector<Density> density(packs.size());
  for (size_t p = 0; p < packs.size(); ++p) {
    std::unordered_set<Digest, DigestHash> seen;
    for (const auto& e : packs[p].pack.entries) {
      density[p].total += e.stored_size;
      if (referenced.count(e.id) && seen.insert(e.id).second) density[p].referenced += e.stored_size;
    }
  }
  auto better = [&](size_t a, size_t b) {  // is pack a a better home than pack b?
    if (packs[a].indexed != packs[b].indexed) return packs[a].indexed;
    // referenced_a / total_a > referenced_b / total_b, without division.
    unsigned __int128 lhs = static_cast<unsigned __int128>(density[a].referenced) * density[b].total;
    unsigned __int128 rhs = static_cast<unsigned __int128>(density[b].referenced) * density[a].total;
    if (lhs != rhs) return lhs > rhs;
    return packs[a].pack.path < packs[b].pack.path;
  };

  struct Keeper {
    size_t pack, entry;
  };
  std::unordered_map<Digest, Keeper, DigestHash> keepers;
  for (size_t p = 0; p < packs.size(); ++p) {
    const auto& entries = packs[p].pack.entries;
    for (size_t e = 0; e < entries.size(); ++e) {
      if (!referenced.count(entries[e].id)) continue;
      auto [it, inserted] = keepers.try_emplace(entries[e].id, Keeper{p, e});
      // Within one pack the first copy stays the keeper.
      if (!inserted && it->second.pack != p && better(p, it->second.pack)) it->second = Keeper{p, e};
    }
  }

  GcPlan plan;
  plan.packs.resize(packs.size());
  for (const auto& [id, k] : keepers) plan.packs[k.pack].keepers.push_back(k.entry);
  for (const auto& id : referenced)
    if (!keepers.count(id)) plan.missing.push_back(id);
  for (size_t p = 0; p < packs.size(); ++p) {
    GcPackDecision& d = plan.packs[p];
    std::sort(d.keepers.begin(), d.keepers.end());  // pack order: sequential reads when repacking
    for (size_t e : d.keepers) d.live_bytes += packs[p].pack.entries[e].stored_size;
    d.dead_bytes = density[p].total - d.live_bytes;
    if (d.keepers.empty())
      d.fate = GcPackFate::kRemove;
    else if (repack_threshold < 1.0 &&
             static_cast<double>(d.dead_bytes) > repack_threshold * static_cast<double>(density[p].total))
      d.fate = GcPackFate::kRepack;
    else
      d.fate = GcPackFate::kKeep;
  }
  return plan;
}

}  // namespace pgvault
