// The retention rule on plain data: recovery windows, counts, the keep
// annotation, and the newest backup that is never deleted.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/timestamp.h"
#include "retention/retention_rule.h"

namespace pgvault {
namespace {

SystemTime T(const std::string& s) { return ParseTimestamp(s); }

RetentionConfiguration Window(int count, char unit, int keep = 0) {
  RetentionConfiguration p;
  p.window_count = count;
  p.window_unit = unit;
  p.keep = keep;
  return p;
}

// One backup a day at 01:00, 2026-11-01 .. 2026-11-10, named d01 .. d10.
std::vector<RetainedBackup> Daily() {
  std::vector<RetainedBackup> b;
  for (int d = 1; d <= 10; ++d) {
    std::string day = (d < 10 ? "0" : "") + std::to_string(d);
    b.push_back({"d" + day, T("2026-11-" + day + "T01:00:00.000Z")});
  }
  return b;
}

using Ids = std::vector<std::string>;

}  // namespace

TEST(RetentionRule, ARecoveryWindowKeepsTheBackupsInsideItAndTheOneBeforeIt) {
  // Now: Nov 10 12:00; 3 days back: Nov 7 12:00. d08..d10 ended inside; d07
  // ended before the window started and is needed to recover to its start.
  RetentionVerdict v = DecideRetention(Daily(), Window(3, 'd'), T("2026-11-10T12:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"d07", "d08", "d09", "d10"}));
  EXPECT_EQ(v.remove, (Ids{"d01", "d02", "d03", "d04", "d05", "d06"}));
  EXPECT_NE(v.reasons["d07"].find("starts after it"), std::string::npos) << v.reasons["d07"];
  EXPECT_NE(v.reasons["d01"].find("recovery window of 3d"), std::string::npos);
}

TEST(RetentionRule, ABackupEndingExactlyAtTheWindowStartIsTheOneBeforeIt) {
  RetentionVerdict v = DecideRetention(Daily(), Window(3, 'd'), T("2026-11-10T01:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"d07", "d08", "d09", "d10"}));
}

TEST(RetentionRule, WeeksAndCalendarMonths) {
  EXPECT_EQ(FormatTimestamp(WindowStart(Window(2, 'w'), T("2026-11-25T10:00:00.000Z"))), "2026-11-11T10:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(WindowStart(Window(6, 'm'), T("2026-11-25T10:00:00.000Z"))), "2026-05-25T10:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(WindowStart(Window(1, 'm'), T("2026-03-31T10:00:00.000Z"))), "2026-02-28T10:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(WindowStart(Window(12, 'm'), T("2028-02-29T10:00:00.000Z"))), "2027-02-28T10:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(WindowStart(Window(11, 'm'), T("2026-11-25T10:00:00.500Z"))), "2025-12-25T10:00:00.500Z");
}

TEST(RetentionRule, ACountKeepsTheNewest) {
  RetentionConfiguration p;
  p.keep = 3;
  RetentionVerdict v = DecideRetention(Daily(), p, T("2026-11-10T12:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"d08", "d09", "d10"}));
  EXPECT_EQ(v.remove.size(), 7u);
  EXPECT_NE(v.reasons["d01"].find("not one of the 3 newest"), std::string::npos);
}

TEST(RetentionRule, WindowAndCountTogetherDeleteOnlyWhatNeitherKeeps) {
  // Window keeps d07..d10; keep: 6 keeps d05..d10.
  RetentionVerdict v = DecideRetention(Daily(), Window(3, 'd', 6), T("2026-11-10T12:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"d05", "d06", "d07", "d08", "d09", "d10"}));
  // Window keeps d07..d10; keep: 2 adds nothing.
  v = DecideRetention(Daily(), Window(3, 'd', 2), T("2026-11-10T12:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"d07", "d08", "d09", "d10"}));
}

TEST(RetentionRule, TheKeepAnnotationWins) {
  auto backups = Daily();
  backups[1].keep_annotation = true;  // d02
  RetentionVerdict v = DecideRetention(backups, Window(3, 'd'), T("2026-11-10T12:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"d02", "d07", "d08", "d09", "d10"}));
  EXPECT_NE(v.reasons["d02"].find("pgvault.io/keep"), std::string::npos);
}

TEST(RetentionRule, TheNewestBackupIsNeverDeleted) {
  // All backups far older than the window: the newest stays (and is also the
  // one recovery to the window's start needs).
  RetentionVerdict v = DecideRetention(Daily(), Window(1, 'd'), T("2027-06-01T00:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"d10"}));
  RetentionConfiguration p;
  p.keep = 1;
  v = DecideRetention({{"only", T("2020-01-01T00:00:00.000Z")}}, p, T("2027-06-01T00:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"only"}));
  EXPECT_TRUE(v.remove.empty());
}

TEST(RetentionRule, WithoutAPolicyNothingIsDeleted) {
  RetentionVerdict v = DecideRetention(Daily(), RetentionConfiguration{}, T("2027-06-01T00:00:00.000Z"));
  EXPECT_EQ(v.keep.size(), 10u);
  EXPECT_TRUE(v.remove.empty());
}

TEST(RetentionRule, UnsortedInputIsOrderedByEndTime) {
  auto backups = Daily();
  std::reverse(backups.begin(), backups.end());
  RetentionVerdict v = DecideRetention(backups, Window(3, 'd'), T("2026-11-10T12:00:00.000Z"));
  EXPECT_EQ(v.keep, (Ids{"d07", "d08", "d09", "d10"}));
}

}  // namespace pgvault
