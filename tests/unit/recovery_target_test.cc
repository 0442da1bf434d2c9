// The recovery-target options of `restore` (issue 14, point 7): every value
// PostgreSQL would refuse, or read differently from pgvault, is refused here
// with the option, the value and the accepted form; good values are written
// in a form PostgreSQL reads back exactly.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "command/recovery_target.h"
#include "core/error.h"
#include "core/timestamp.h"
#include "pg/lsn.h"

namespace pgvault {
namespace {

// The UsageError ParseRecoveryTarget throws for `options`, or "" if none.
std::string Refusal(const RecoveryTargetOptions& options) {
  try {
    ParseRecoveryTarget(options);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

RecoveryTargetOptions Time(const std::string& v) {
  RecoveryTargetOptions o;
  o.time = v;
  return o;
}
RecoveryTargetOptions LsnOption(const std::string& v) {
  RecoveryTargetOptions o;
  o.lsn = v;
  return o;
}
RecoveryTargetOptions Xid(const std::string& v) {
  RecoveryTargetOptions o;
  o.xid = v;
  return o;
}
RecoveryTargetOptions Timeline(const std::string& v) {
  RecoveryTargetOptions o;
  o.timeline = v;
  return o;
}
RecoveryTargetOptions Name(const std::string& v) {
  RecoveryTargetOptions o;
  o.name = v;
  return o;
}

void ExpectRefused(const RecoveryTargetOptions& o, const std::string& option, const std::string& value,
                   const std::string& form) {
  std::string why = Refusal(o);
  SCOPED_TRACE(option + " '" + value + "'");
  ASSERT_FALSE(why.empty()) << "accepted";
  EXPECT_NE(why.find(option), std::string::npos) << why;
  EXPECT_NE(why.find(value), std::string::npos) << why;
  EXPECT_NE(why.find(form), std::string::npos) << why;
}

TEST(RecoveryTargetTime, ImpossibleDatesAndTimesAreRefused) {
  for (const std::string v : {
           "2026-11-34 16:15:00+00",   // no 34th
           "2026-11-24 16:14:75+00",   // seconds past 59
           "2026-11-24 40:15:00+00",   // hour past 23
           "2026-11-24 24:00:00+00",   //
           "2026-11-24 16:60:00+00",   // minutes past 59
           "2026-11-31 12:00:00+00",   // November has 30 days
           "2026-02-29 12:00:00+00",   // 2026 is no leap year
           "1900-02-29 12:00:00+00",   // divisible by 100, not by 400
           "2026-13-01 12:00:00+00",   //
           "2026-00-10 12:00:00+00",   //
           "2026-11-00 12:00:00+00",   //
           "0000-01-01 00:00:00+00",   // there is no year 0
           "0026-01-01 00:00:00+00",   // before 1678 the clock's nanoseconds overflow (UBSan, fuzz)
           "9999-12-31 23:59:59+00",   // after 2261 likewise
           "2026-11-24 16:15:00",      // no zone
           "2026-11-24 16:15:00+24",   // zone out of range
           "2026-11-24 16:15:00+05:60",
           "2026-11-24 16:15:00+5",    // zone hours are two digits
           "2026-11-24 16:15:00+05:3",
           "2026-11-24 16:15:00+05:30:00",
           "2026-11-24 16:15:00+00 and more",
           "2026-11-24 16:15:00.+00",  // a point without digits
           "2026-11-24 16:15:00.1234567+00",
           " 2026-11-24 16:15:00+00",  // leading space
           "26-11-24 16:15:00+00",     // two-digit year
           "2026-1-24 16:15:00+00",    // one-digit month
           "2026-11-24 6:15:00+00",    // one-digit hour
           "+2026-11-24 16:15:00+00",
           "2026-11-24  16:15:00+00",
           "2026-11-24 16:15:00CET",   // a zone name: PostgreSQL cannot read it at startup
       })
    ExpectRefused(Time(v), "--target-time", v, "YYYY-MM-DD HH:MM:SS");
}

TEST(RecoveryTargetTime, RealDatesWithZonesParse) {
  auto at = [](const std::string& v) {
    RecoveryTarget t = ParseRecoveryTarget(Time(v));
    EXPECT_EQ(t.kind, RecoveryTarget::Kind::kTime) << v;
    return FormatPostgresTimestamp(t.time);
  };
  EXPECT_EQ(at("2024-02-29 12:00:00+00"), "2024-02-29 12:00:00.000000+00");
  EXPECT_EQ(at("2000-02-29 12:00:00+00"), "2000-02-29 12:00:00.000000+00");
  EXPECT_EQ(at("2026-11-24T16:15:00Z"), "2026-11-24 16:15:00.000000+00");
  EXPECT_EQ(at("2026-11-24 16:15:00z"), "2026-11-24 16:15:00.000000+00");
  EXPECT_EQ(at("2026-11-24 23:59:59.999999+00"), "2026-11-24 23:59:59.999999+00");
  EXPECT_EQ(at("2026-11-24 16:15:00.5+05:30"), "2026-11-24 10:45:00.500000+00");
  EXPECT_EQ(at("2026-11-24 16:15:00 -0800"), "2026-11-25 00:15:00.000000+00");
  EXPECT_EQ(at("2026-11-24 16:15:00-08"), "2026-11-25 00:15:00.000000+00");
  EXPECT_EQ(at("2026-12-31 23:30:00-01"), "2027-01-01 00:30:00.000000+00");
  EXPECT_EQ(at("2026-11-24 00:00:00+14"), "2026-11-23 10:00:00.000000+00");
}

TEST(RecoveryTargetLsn, OnlyTwoHexNumbersOfOneToEightDigitsParse) {
  for (const std::string v : {" 1/F0000000", "+1/+F0000000", "0x1/0x10", "-1/0", "1/-0", "1/", "/1", "1",
                              "123456789/0", "0/123456789", "1/F0000000 ", "1//2", "G/0", "1 /2", "1/ 2", "1/2/3"}) {
    ExpectRefused(LsnOption(v), "--target-lsn", v, "0/16B3748");
    EXPECT_THROW(ParseLsn(v), Error) << v;
  }
  EXPECT_EQ(ParseLsn("0/0"), 0u);
  EXPECT_EQ(ParseLsn("1/F0000000"), 0x1F0000000ull);
  EXPECT_EQ(ParseLsn("ffffffff/ffffffff"), ~0ull);
  EXPECT_EQ(ParseLsn("16/b374d848"), 0x16B374D848ull);
  EXPECT_EQ(ParseLsn("00000016/0000000A"), 0x160000000Aull);
  RecoveryTarget t = ParseRecoveryTarget(LsnOption("16/b374d848"));
  EXPECT_EQ(t.lsn, 0x16B374D848ull);
}

TEST(RecoveryTargetXid, OnlyDecimalTransactionIdsThatCanCommitParse) {
  for (const std::string v : {"99999999999999999999999", "18446744073709551616", "-1", "+5", "0x10", " 5", "5 ", "12a",
                              "1e3",
                              // InvalidTransactionId, BootstrapTransactionId, FrozenTransactionId: never committed,
                              // also with an epoch in front (PostgreSQL compares the low 32 bits).
                              "0", "1", "2", "4294967296", "4294967298"})
    ExpectRefused(Xid(v), "--target-xid", v, "decimal");
  RecoveryTarget t = ParseRecoveryTarget(Xid("745"));
  EXPECT_EQ(t.xid, 745u);
  EXPECT_EQ(t.text, "745");
  t = ParseRecoveryTarget(Xid("18446744073709551615"));
  EXPECT_EQ(t.xid, 18446744073709551615ull);
  // PostgreSQL reads a leading 0 as octal: the value is written as the decimal number pgvault compared.
  t = ParseRecoveryTarget(Xid("0745"));
  EXPECT_EQ(t.xid, 745u);
  EXPECT_EQ(t.text, "745");
  t = ParseRecoveryTarget(Xid("4294967299"));
  EXPECT_EQ(t.xid, 4294967299ull);
}

TEST(RecoveryTargetTimeline, LatestCurrentOrAThirtyTwoBitNumber) {
  for (const std::string v : {"99999999999", "4294967296", "0", "-1", "+1", "0x2", "1.0", "Latest", " 1", "1 "})
    ExpectRefused(Timeline(v), "--target-timeline", v, "latest, current or");
  EXPECT_EQ(ParseRecoveryTarget(Timeline("latest")).timeline, "latest");
  EXPECT_EQ(ParseRecoveryTarget(Timeline("current")).timeline, "current");
  EXPECT_EQ(ParseRecoveryTarget(Timeline("4294967295")).timeline, "4294967295");
  // PostgreSQL reads "010" as octal 8: pgvault writes what it meant, 10.
  EXPECT_EQ(ParseRecoveryTarget(Timeline("010")).timeline, "10");
}

TEST(RecoveryTargetName, NoControlCharactersAndAtMost63Bytes) {
  for (const std::string& v : {std::string("a\nb"), std::string("a\rb"), std::string("a\tb"), std::string("a\x7f"),
                              std::string("a\x01")})
    ExpectRefused(Name(v), "--target-name", "control character", "63 bytes");
  ExpectRefused(Name(std::string(64, 'x')), "--target-name", std::string(64, 'x'), "63 bytes");
  EXPECT_EQ(ParseRecoveryTarget(Name(std::string(63, 'x'))).text, std::string(63, 'x'));
  EXPECT_EQ(ParseRecoveryTarget(Name("after 35 'quoted' \\n ünïcode")).text, "after 35 'quoted' \\n ünïcode");
}

TEST(RecoveryTargetAction, PromotePauseOrShutdown) {
  for (const std::string v : {"Promote", "stop", "promote "}) {
    RecoveryTargetOptions o = LsnOption("0/0");
    o.action = v;
    ExpectRefused(o, "--target-action", v, "promote, pause or shutdown");
  }
}

// postgresql.auto.conf as PostgreSQL reads it: a string literal's quotes are
// doubled and backslashes escaped, or `\n` in a name would become a newline.
TEST(RecoveryTargetConfiguration, NameIsQuotedSoPostgresReadsItBack) {
  auto dir = std::filesystem::temp_directory_path() / ("pgvault-rt-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  RecoveryTarget t = ParseRecoveryTarget(Name("it's a \\n name"));
  BackupManifest backup;
  backup.id = "20261124T184401F";
  WriteRecoveryConfiguration(dir.string(), "/backups/main", t, backup);
  std::ifstream in(dir / "postgresql.auto.conf");
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove_all(dir);
  EXPECT_NE(text.str().find("\nrecovery_target_name = 'it''s a \\\\n name'\n"), std::string::npos) << text.str();
}

}  // namespace
}  // namespace pgvault

namespace pgvault {
namespace {

// Timeline 2 branched off timeline 1 at 0/5000100 (in segment 5); timeline 1
// went on archiving (segments 6-9), timeline 2 lacks its segment 7. Recovery
// on timeline 2 never reads timeline 1's segment 7, so it must not fill the
// gap (issue 14, point 8: a gap on the path recovery follows).
TEST(RecoveryTargetArchive, AncestorSegmentsAfterTheBranchAreNotOnThePath) {
  const uint32_t seg = 16u << 20;
  std::vector<ArchivedWalFile> files;
  for (uint64_t n = 1; n <= 9; ++n) files.push_back({WalSegmentName(1, n, seg), 0});
  for (uint64_t n : {5, 6, 8}) files.push_back({WalSegmentName(2, n, seg), 0});
  files.push_back({"00000002.history", 0});
  std::vector<TimelineBranch> to_tl2 = {{1, ParseLsn("0/5000100")}, {2, ~Lsn{0}}};
  std::vector<std::string> on_path;
  for (const auto& s : SegmentsOnAncestry(files, to_tl2, seg)) on_path.push_back(WalSegmentName(s.timeline, s.segno, seg));
  std::sort(on_path.begin(), on_path.end());
  std::vector<std::string> expected;
  for (uint64_t n = 1; n <= 5; ++n) expected.push_back(WalSegmentName(1, n, seg));
  for (uint64_t n : {5, 6, 8}) expected.push_back(WalSegmentName(2, n, seg));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(on_path, expected);

  // Branched exactly at a segment boundary: the ancestor's segment that
  // starts there holds nothing before the branch point.
  std::vector<TimelineBranch> at_boundary = {{1, ParseLsn("0/5000000")}, {2, ~Lsn{0}}};
  bool has_tl1_seg5 = false;
  for (const auto& s : SegmentsOnAncestry(files, at_boundary, seg)) has_tl1_seg5 |= s.timeline == 1 && s.segno == 5;
  EXPECT_FALSE(has_tl1_seg5);

  // Recovery on timeline 1 itself reads all of timeline 1 and nothing else.
  EXPECT_EQ(SegmentsOnAncestry(files, {{1, ~Lsn{0}}}, seg).size(), 9u);
}

}  // namespace
}  // namespace pgvault
