// The footer's reserved word is the only part of a pack's trailer that no
// checksum covers: a flipped byte there must still be refused as damage.
// Found by bench/fault-campaign (flips).
#include <gtest/gtest.h>

#include "core/error.h"
#include "repo/pack_format.h"

using namespace pgvault;

TEST(PackFooter, ANonZeroReservedWordIsDamage) {
  PackEntry e;
  e.offset = 8;
  e.stored_size = 10;
  e.raw_size = 10;
  std::string trailer = EncodePackTrailer({e});
  ASSERT_EQ(DecodePackTrailer(trailer, "p").size(), 1u);
  for (size_t i = 4; i < 8; ++i) {
    std::string damaged = trailer;
    damaged[damaged.size() - kPackFooterSize + i] ^= 0x40;
    EXPECT_THROW(DecodePackTrailer(damaged, "p"), IntegrityError) << "reserved byte " << i - 4;
    EXPECT_THROW(DecodePackFooterCount(std::string_view(damaged).substr(damaged.size() - kPackFooterSize), "p"),
                 IntegrityError);
  }
}
