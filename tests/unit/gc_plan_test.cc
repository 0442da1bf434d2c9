// Which packs gc keeps, removes or repacks (repo/gc_plan.h): pure logic.
#include <gtest/gtest.h>

#include "repo/gc_plan.h"

using namespace pgvault;

namespace {

Digest Id(int n) {
  Digest d{};
  d[0] = static_cast<uint8_t>(n);
  d[1] = static_cast<uint8_t>(n >> 8);
  return d;
}

// A pack of chunks `ids`, each `size` stored bytes.
GcPackInput Pack(const std::string& path, std::vector<int> ids, uint32_t size = 100, bool indexed = true) {
  GcPackInput in;
  in.pack.path = path;
  in.indexed = indexed;
  uint64_t offset = 8;
  for (int id : ids) {
    in.pack.entries.push_back(PackEntry{Id(id), offset, size, size * 2, Codec::kZstd, 0});
    offset += size;
  }
  in.pack.size = offset + 48 + 52 * ids.size();
  return in;
}

std::unordered_set<Digest, DigestHash> Refs(std::vector<int> ids) {
  std::unordered_set<Digest, DigestHash> out;
  for (int id : ids) out.insert(Id(id));
  return out;
}

}  // namespace

TEST(GcPlan, WhollyUnreferencedPacksGoAndWhollyReferencedStay) {
  GcPlan plan = PlanGarbageCollection({Pack("packs/aa/a.pack", {1, 2}), Pack("packs/bb/b.pack", {3, 4})}, Refs({3, 4}),
                                      0.5);
  ASSERT_EQ(plan.packs.size(), 2u);
  EXPECT_EQ(plan.packs[0].fate, GcPackFate::kRemove);
  EXPECT_EQ(plan.packs[0].live_bytes, 0u);
  EXPECT_EQ(plan.packs[0].dead_bytes, 200u);
  EXPECT_EQ(plan.packs[1].fate, GcPackFate::kKeep);
  EXPECT_EQ(plan.packs[1].keepers, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(plan.packs[1].live_bytes, 200u);
  EXPECT_TRUE(plan.missing.empty());
}

TEST(GcPlan, APartlyReferencedPackIsRepackedOnlyWhenMostlyGarbage) {
  // 1 of 4 chunks referenced: 75 % garbage.
  auto sparse = Pack("packs/aa/a.pack", {1, 2, 3, 4});
  // 3 of 4 referenced: 25 % garbage.
  auto dense = Pack("packs/bb/b.pack", {5, 6, 7, 8});
  // Exactly half: not more than the threshold.
  auto half = Pack("packs/cc/c.pack", {9, 10});
  GcPlan plan = PlanGarbageCollection({sparse, dense, half}, Refs({1, 5, 6, 7, 9}), 0.5);
  EXPECT_EQ(plan.packs[0].fate, GcPackFate::kRepack);
  EXPECT_EQ(plan.packs[0].keepers, (std::vector<size_t>{0}));
  EXPECT_EQ(plan.packs[1].fate, GcPackFate::kKeep);
  EXPECT_EQ(plan.packs[1].dead_bytes, 100u);
  EXPECT_EQ(plan.packs[2].fate, GcPackFate::kKeep);

  // Threshold 1 never repacks; 0 repacks any pack with garbage.
  plan = PlanGarbageCollection({sparse, dense, half}, Refs({1, 5, 6, 7, 9}), 1.0);
  EXPECT_EQ(plan.packs[0].fate, GcPackFate::kKeep);
  plan = PlanGarbageCollection({sparse, dense, half}, Refs({1, 5, 6, 7, 9}), 0.0);
  EXPECT_EQ(plan.packs[1].fate, GcPackFate::kRepack);
  EXPECT_EQ(plan.packs[2].fate, GcPackFate::kRepack);
}

TEST(GcPlan, AChunkInTwoPacksKeepsOneCopyInTheDenserPack) {
  // After an interrupted repack: the old pack (chunk 1 live among garbage)
  // and the new one (only chunk 1). The new one must win whatever the order,
  // or gc would shuffle the chunk back and forth on every run.
  auto old_pack = Pack("packs/00/old.pack", {1, 2, 3});
  auto new_pack = Pack("packs/ff/new.pack", {1});
  for (bool reversed : {false, true}) {
    std::vector<GcPackInput> in = reversed ? std::vector{new_pack, old_pack} : std::vector{old_pack, new_pack};
    GcPlan plan = PlanGarbageCollection(in, Refs({1}), 0.5);
    size_t o = reversed ? 1 : 0, n = reversed ? 0 : 1;
    EXPECT_EQ(plan.packs[o].fate, GcPackFate::kRemove) << reversed;
    EXPECT_EQ(plan.packs[n].fate, GcPackFate::kKeep) << reversed;
    EXPECT_EQ(plan.packs[n].live_bytes, 100u);
  }
}

TEST(GcPlan, IndexedCopiesWinOverOrphansAndOrphansWithTheOnlyCopyStay) {
  auto indexed = Pack("packs/aa/a.pack", {1, 2, 3});
  auto orphan = Pack("packs/bb/b.pack", {1}, 100, /*indexed=*/false);  // denser, but not indexed
  auto only_copy = Pack("packs/cc/c.pack", {4}, 100, /*indexed=*/false);
  GcPlan plan = PlanGarbageCollection({indexed, orphan, only_copy}, Refs({1, 2, 4}), 0.5);
  EXPECT_EQ(plan.packs[0].fate, GcPackFate::kKeep);
  EXPECT_EQ(plan.packs[1].fate, GcPackFate::kRemove);
  EXPECT_EQ(plan.packs[2].fate, GcPackFate::kKeep);
}

TEST(GcPlan, ReferencedChunksNoPackHoldsAreReported) {
  GcPlan plan = PlanGarbageCollection({Pack("packs/aa/a.pack", {1})}, Refs({1, 7}), 0.5);
  ASSERT_EQ(plan.missing.size(), 1u);
  EXPECT_EQ(plan.missing[0], Id(7));
}

TEST(GcPlan, AChunkTwiceInOnePackKeepsTheFirstCopy) {
  GcPlan plan = PlanGarbageCollection({Pack("packs/aa/a.pack", {1, 1, 2, 3})}, Refs({1}), 0.9);
  EXPECT_EQ(plan.packs[0].keepers, (std::vector<size_t>{0}));
  EXPECT_EQ(plan.packs[0].dead_bytes, 300u);
}
