// Numbers other programs wrote (S3/Azure sizes, .history files, the
// prefetcher's want file): only plain digits within range are numbers.
#include <gtest/gtest.h>

#include "core/decimal_number.h"

namespace pgvault {

TEST(DecimalNumber, PlainDigitsWithinRangeOnly) {
  EXPECT_EQ(ParseDecimal("0"), 0u);
  EXPECT_EQ(ParseDecimal("18446744073709551615"), 18446744073709551615ull);
  EXPECT_EQ(ParseDecimal("4294967295", 4294967295u), 4294967295u);
  for (const char* bad : {"", " 1", "1 ", "+1", "-1", "0x10", "1e3", "18446744073709551616",
                          "99999999999999999999999", "12abc"}) {
    EXPECT_FALSE(ParseDecimal(bad)) << bad;
  }
  EXPECT_FALSE(ParseDecimal("4294967296", 4294967295u));
}

}  // namespace pgvault
