// Time as pgvault writes it: for its own records and for PostgreSQL's
// configuration (recovery_target_time), which cannot read "Z" at startup.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/timestamp.h"

namespace pgvault {

TEST(Timestamp, PostgresFormIsNumericZoneWithMicroseconds) {
  auto t = ParseTimestampWithZone("2026-11-25T04:57:56.335Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatPostgresTimestamp(*t), "2026-11-25 04:57:56.335000+00");
  t = ParseTimestampWithZone("2026-11-25 06:57:56.123456+02");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatPostgresTimestamp(*t), "2026-11-25 04:57:56.123456+00");
  EXPECT_EQ(FormatPostgresTimestamp(ParseTimestamp("1969-12-31T23:59:59.500Z")), "1969-12-31 23:59:59.500000+00");
}

// Timestamps read back from catalogs and manifests: a field out of range is
// refused instead of normalised by timegm() or overflowing the clock.
TEST(Timestamp, RecordedFormRefusesFieldsOutOfRange) {
  for (const std::string v : {"0026-01-01T00:00:00Z", "9999-01-01T00:00:00Z", "2026-13-01T00:00:00Z",
                              "2026-11-32T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T04:61:00Z",
                              "2026-11-25T04:57:56.1234567890Z", "2026-11-25T04:57:56.-1Z", "2026-11-25T04:57:56.Z",
                              "2026-02-30T00:00:00Z", "2026-11-25T04:57:56", "2026-11-25T04:57:56+00:00",
                              " 2026-11-25T04:57:56Z", "2026-11-25T04:57:56Z ", "+026-11-25T04:57:56Z", "garbage"}) {
    EXPECT_THROW(ParseTimestamp(v), Error) << v;
  }
  EXPECT_NO_THROW(ParseTimestamp("2261-12-31T23:59:59.999Z"));
  EXPECT_NO_THROW(ParseTimestamp("1678-01-01T00:00:00Z"));
}

// A fraction is a fraction of a second, whatever its length: ".5Z" was read
// as 5 ms, and Kubernetes' 6-digit MicroTime was refused.
TEST(Timestamp, RecordedFormReadsEveryFractionLength) {
  auto ms_of = [](const std::string& v) {
    return std::chrono::duration_cast<std::chrono::microseconds>(ParseTimestamp(v) -
                                                                 ParseTimestamp("2026-11-25T04:57:56Z"))
        .count();
  };
  EXPECT_EQ(ms_of("2026-11-25T04:57:56.5Z"), 500000);
  EXPECT_EQ(ms_of("2026-11-25T04:57:56.05Z"), 50000);
  EXPECT_EQ(ms_of("2026-11-25T04:57:56.123Z"), 123000);
  EXPECT_EQ(ms_of("2026-11-25T04:57:56.123456Z"), 123456);
  EXPECT_EQ(ms_of("2026-11-25T04:57:56.123456789Z"), 123456);
  // What pgvault writes reads back exactly.
  SystemTime t = ParseTimestamp("2026-11-25T04:57:56.007Z");
  EXPECT_EQ(FormatTimestamp(t), "2026-11-25T04:57:56.007Z");
  EXPECT_EQ(ParseTimestamp("2024-02-29T00:00:00Z"), ParseTimestamp("2024-02-28T00:00:00Z") + std::chrono::hours(24));
}

}  // namespace pgvault
