// Cron schedules: the number of fields decides how an expression is read
// (5 = Unix cron, 6 = CNPG's seconds first), activations are exact to the
// second in UTC and in IANA zones across DST changes (dates checked against
// `zdump -v Europe/Paris`: 2026-03-29 01:00Z CET->CEST, 2026-10-25 01:00Z
// CEST->CET), and every error names its field.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "controller/cron_schedule.h"
#include "core/error.h"
#include "core/timestamp.h"

namespace pgvault {
namespace {

SystemTime At(const std::string& rfc3339) { return ParseTimestamp(rfc3339); }

// "2026-11-26T07:00:00Z" (milliseconds only when there are some).
std::string Text(SystemTime time) {
  std::string text = FormatTimestamp(time);
  if (text.size() > 5 && text.compare(text.size() - 5, 5, ".000Z") == 0) text.replace(text.size() - 5, 5, "Z");
  return text;
}

std::string NextAfter(const std::string& expression, const std::string& after, const std::string& zone = "") {
  return Text(CronSchedule::Parse(expression, zone).Next(At(after)));
}

// The next `count` activations after `after`, each found from the one before.
std::vector<std::string> Chain(const std::string& expression, const std::string& after, int count,
                               const std::string& zone = "") {
  CronSchedule schedule = CronSchedule::Parse(expression, zone);
  std::vector<std::string> times;
  SystemTime t = At(after);
  for (int i = 0; i < count; ++i) {
    t = schedule.Next(t);
    times.push_back(Text(t));
  }
  return times;
}

std::string ErrorOf(const std::string& expression, const std::string& zone = "") {
  try {
    CronSchedule::Parse(expression, zone);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CronSchedule, FiveFieldsAreUnixCron) {
  // The acceptance check: "0 7 * * *" runs at 07:00, not within the hour.
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-11-25T07:30:00Z"), "2026-11-26T07:00:00Z");
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-11-25T06:59:59Z"), "2026-11-25T07:00:00Z");
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-11-25T07:00:00Z"), "2026-11-26T07:00:00Z");
}

TEST(CronSchedule, SixFieldsAreSecondsFirst) {
  // The same text with a leading seconds field is CNPG's "minute 7 of every hour".
  EXPECT_EQ(NextAfter("0 7 * * * *", "2026-11-25T07:30:00Z"), "2026-11-25T08:07:00Z");
  EXPECT_EQ(NextAfter("0 0 7 * * *", "2026-11-25T07:30:00Z"), "2026-11-26T07:00:00Z");
}

TEST(CronSchedule, SecondSteps) {
  EXPECT_EQ(NextAfter("*/10 * * * * *", "2026-11-25T12:00:03Z"), "2026-11-25T12:00:10Z");
  EXPECT_EQ(NextAfter("*/10 * * * * *", "2026-11-25T12:00:10Z"), "2026-11-25T12:00:20Z");
  EXPECT_EQ(NextAfter("*/10 * * * * *", "2026-11-25T12:00:09.500Z"), "2026-11-25T12:00:10Z");
  EXPECT_EQ(NextAfter("*/10 * * * * *", "2026-11-25T12:00:10.001Z"), "2026-11-25T12:00:20Z");
  EXPECT_EQ(NextAfter("*/10 * * * * *", "2026-11-25T23:59:55Z"), "2026-11-26T00:00:00Z");
  EXPECT_EQ(NextAfter("5/20 * * * * *", "2026-11-25T12:00:45Z"), "2026-11-25T12:01:05Z");
}

TEST(CronSchedule, SundaysAtThree) {
  // 2026-11-25 is a Wednesday; 0, 7 and SUN are all Sunday.
  for (const char* sunday : {"0", "7", "SUN", "sun", "7/2"}) {
    std::string expression = std::string("0 0 3 * * ") + sunday;
    EXPECT_EQ(Chain(expression, "2026-11-25T00:00:00Z", 2),
              (std::vector<std::string>{"2026-11-29T03:00:00Z", "2026-12-06T03:00:00Z"}))
        << expression;
  }
  EXPECT_EQ(NextAfter("0 0 3 * * 5-7", "2026-11-25T00:00:00Z"), "2026-11-27T03:00:00Z");
}

TEST(CronSchedule, DailyHourlyAndQuarterHourly) {
  EXPECT_EQ(NextAfter("0 30 2 * * *", "2026-11-25T02:29:59Z"), "2026-11-25T02:30:00Z");
  EXPECT_EQ(NextAfter("0 30 2 * * *", "2026-11-25T02:30:00Z"), "2026-11-26T02:30:00Z");
  EXPECT_EQ(Chain("0 0 */6 * * *", "2026-11-25T13:00:00Z", 3),
            (std::vector<std::string>{"2026-11-25T18:00:00Z", "2026-11-26T00:00:00Z", "2026-11-26T06:00:00Z"}));
  EXPECT_EQ(Chain("0 */15 * * * *", "2026-11-25T12:50:00Z", 2),
            (std::vector<std::string>{"2026-11-25T13:00:00Z", "2026-11-25T13:15:00Z"}));
  EXPECT_EQ(Chain("0 0 9-17/4 * * *", "2026-11-25T13:00:00Z", 2),
            (std::vector<std::string>{"2026-11-25T17:00:00Z", "2026-11-26T09:00:00Z"}));
  EXPECT_EQ(Chain("0 0 22-23,0-1 * * *", "2026-11-25T01:00:00Z", 3),
            (std::vector<std::string>{"2026-11-25T22:00:00Z", "2026-11-25T23:00:00Z", "2026-11-26T00:00:00Z"}));
}

TEST(CronSchedule, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // The 1st and 15th, and every Monday (2026-11-30, 12-07, 12-14, 12-21 are Mondays).
  EXPECT_EQ(Chain("0 0 1,15 * 1", "2026-11-25T00:00:00Z", 6),
            (std::vector<std::string>{"2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z", "2026-12-07T00:00:00Z",
                                      "2026-12-14T00:00:00Z", "2026-12-15T00:00:00Z", "2026-12-21T00:00:00Z"}));
  // Not "Friday the 13th": Fridays, and the 13th.
  EXPECT_EQ(Chain("0 0 0 13 * FRI", "2026-12-05T00:00:00Z", 3),
            (std::vector<std::string>{"2026-12-11T00:00:00Z", "2026-12-13T00:00:00Z", "2026-12-18T00:00:00Z"}));
}

TEST(CronSchedule, DayFieldsBothMatchWhenOneIsAStar) {
  EXPECT_EQ(Chain("0 0 * * 1", "2026-11-25T00:00:00Z", 2),
            (std::vector<std::string>{"2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"}));
  EXPECT_EQ(Chain("0 0 1,15 * *", "2026-11-25T00:00:00Z", 2),
            (std::vector<std::string>{"2026-12-01T00:00:00Z", "2026-12-15T00:00:00Z"}));
  EXPECT_EQ(NextAfter("0 0 0 13 * ?", "2026-11-25T00:00:00Z"), "2026-12-13T00:00:00Z");
  EXPECT_EQ(NextAfter("0 0 0 ? * FRI", "2026-11-25T00:00:00Z"), "2026-11-27T00:00:00Z");
  EXPECT_EQ(NextAfter("0 0 0 */1 * FRI", "2026-11-25T00:00:00Z"), "2026-11-27T00:00:00Z");
}

TEST(CronSchedule, MonthAndDayNames) {
  EXPECT_EQ(Chain("0 0 12 1 jan,Jul *", "2026-11-25T00:00:00Z", 2),
            (std::vector<std::string>{"2027-01-01T12:00:00Z", "2027-07-01T12:00:00Z"}));
  EXPECT_EQ(NextAfter("0 9 * * mon-FRI", "2026-11-27T09:00:00Z"), "2026-11-30T09:00:00Z");
  EXPECT_EQ(NextAfter("0 9 * * Sat,sun", "2026-11-25T00:00:00Z"), "2026-11-28T09:00:00Z");
  EXPECT_EQ(NextAfter("0 0 1 DEC,jan-feb *", "2026-03-01T00:00:00Z"), "2026-12-01T00:00:00Z");
}

TEST(CronSchedule, Descriptors) {
  const std::string after = "2026-11-25T07:30:00Z";
  EXPECT_EQ(NextAfter("@daily", after), "2026-11-26T00:00:00Z");
  EXPECT_EQ(NextAfter("@midnight", after), "2026-11-26T00:00:00Z");
  EXPECT_EQ(NextAfter("@hourly", after), "2026-11-25T08:00:00Z");
  EXPECT_EQ(NextAfter("@weekly", after), "2026-11-29T00:00:00Z");
  EXPECT_EQ(NextAfter("@monthly", after), "2026-12-01T00:00:00Z");
  EXPECT_EQ(NextAfter("@yearly", after), "2027-01-01T00:00:00Z");
  EXPECT_EQ(NextAfter("@annually", after), "2027-01-01T00:00:00Z");
  EXPECT_EQ(NextAfter("  @Daily ", after), "2026-11-26T00:00:00Z");
  // In the schedule's zone: midnight in Paris is 23:00Z in winter.
  EXPECT_EQ(NextAfter("@daily", after, "Europe/Paris"), "2026-11-25T23:00:00Z");
}

TEST(CronSchedule, EveryIsAFixedIntervalFromTheTimeAskedAbout) {
  EXPECT_EQ(NextAfter("@every 1h30m", "2026-11-25T12:00:00Z"), "2026-11-25T13:30:00Z");
  // robfig drops the fraction of a second of the time asked about.
  EXPECT_EQ(NextAfter("@every 1h30m", "2026-11-25T12:00:00.250Z"), "2026-11-25T13:30:00Z");
  EXPECT_EQ(NextAfter("@every 90m", "2026-11-25T12:00:07Z"), "2026-11-25T13:30:07Z");
  EXPECT_EQ(NextAfter("@every 45s", "2026-11-25T12:00:00Z"), "2026-11-25T12:00:45Z");
  EXPECT_EQ(NextAfter("@every 1.5h", "2026-11-25T12:00:00Z"), "2026-11-25T13:30:00Z");
  EXPECT_EQ(NextAfter("@every 1s", "2026-11-25T12:00:00.999Z"), "2026-11-25T12:00:01Z");
  EXPECT_EQ(NextAfter("@every 1500ms500ms", "2026-11-25T12:00:00Z"), "2026-11-25T12:00:02Z");
  // Not tied to the zone's clock.
  EXPECT_EQ(NextAfter("@every 24h", "2026-03-28T12:00:00Z", "Europe/Paris"), "2026-03-29T12:00:00Z");
}

TEST(CronSchedule, TimeZoneWinterAndSummer) {
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-11-25T00:00:00Z", "Europe/Paris"), "2026-11-25T06:00:00Z");
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-07-15T00:00:00Z", "Europe/Paris"), "2026-07-15T05:00:00Z");
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-11-25T00:00:00Z", "America/New_York"), "2026-11-25T12:00:00Z");
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-11-25T00:00:00Z", "Asia/Kolkata"), "2026-11-25T01:30:00Z");
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-11-25T00:00:00Z", "UTC"), "2026-11-25T07:00:00Z");
  // 07:00 in Paris on 2026-11-25 is 06:00Z: asked at 06:30Z, the next is tomorrow.
  EXPECT_EQ(NextAfter("0 7 * * *", "2026-11-25T06:30:00Z", "Europe/Paris"), "2026-11-26T06:00:00Z");
}

TEST(CronSchedule, SpringForwardGapIsSkipped) {
  // Europe/Paris 2026-03-29: 02:00 CET is 03:00 CEST; 02:30 does not exist
  // that day, so the daily 02:30 run is skipped (not moved to 03:00).
  EXPECT_EQ(Chain("0 30 2 * * *", "2026-03-27T12:00:00Z", 3, "Europe/Paris"),
            (std::vector<std::string>{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}));
  // Hourly: 01:00 CET, then 03:00 CEST one hour later.
  EXPECT_EQ(Chain("0 0 * * * *", "2026-03-28T23:30:00Z", 3, "Europe/Paris"),
            (std::vector<std::string>{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}));
  // Every second: 01:59:59 CET is followed by 03:00:00 CEST.
  EXPECT_EQ(NextAfter("* * * * * *", "2026-03-29T00:59:59Z", "Europe/Paris"), "2026-03-29T01:00:00Z");
  // America/New_York 2026-03-08: 02:00 EST is 03:00 EDT.
  EXPECT_EQ(Chain("0 30 2 * * *", "2026-03-07T12:00:00Z", 2, "America/New_York"),
            (std::vector<std::string>{"2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}));
}

TEST(CronSchedule, FallBackRepeatFiresOnce) {
  // Europe/Paris 2026-10-25: 02:00-02:59 happens at 00:xxZ (CEST) and again
  // at 01:xxZ (CET). 02:30 fires at its first occurrence only.
  EXPECT_EQ(Chain("0 30 2 * * *", "2026-10-24T12:00:00Z", 2, "Europe/Paris"),
            (std::vector<std::string>{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
  // Asked during the repeat (02:10 CET, after 02:30 CEST fired): tomorrow.
  EXPECT_EQ(NextAfter("0 30 2 * * *", "2026-10-25T01:10:00Z", "Europe/Paris"), "2026-10-26T01:30:00Z");
  // Asked during the first pass, before 02:30 CEST: today's first 02:30.
  EXPECT_EQ(NextAfter("0 30 2 * * *", "2026-10-25T00:10:00Z", "Europe/Paris"), "2026-10-25T00:30:00Z");
  // Hourly: 02:00 CEST, then 03:00 CET two hours later; 02:00 CET does not fire again.
  EXPECT_EQ(Chain("0 0 * * * *", "2026-10-24T23:30:00Z", 3, "Europe/Paris"),
            (std::vector<std::string>{"2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}));
  // America/New_York 2026-11-01: 01:30 EDT (05:30Z) fires, 01:30 EST (06:30Z) does not.
  EXPECT_EQ(Chain("0 30 1 * * *", "2026-10-31T12:00:00Z", 2, "America/New_York"),
            (std::vector<std::string>{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}));
}

TEST(CronSchedule, QuarterHoursOnTheDaysOfDstChanges) {
  auto count = [](const std::string& zone, const std::string& from, const std::string& to) {
    CronSchedule schedule = CronSchedule::Parse("0 */15 * * * *", zone);
    int n = 0;
    for (SystemTime t = schedule.Next(At(from) - std::chrono::seconds(1)); t < At(to); t = schedule.Next(t)) ++n;
    return n;
  };
  // Local days in Paris: 23 hours on 2026-03-29 (02:00-02:45 do not exist),
  // 25 hours on 2026-10-25 (02:00-02:45 fire once): 92 and 96 activations.
  EXPECT_EQ(count("Europe/Paris", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"), 92);
  EXPECT_EQ(count("Europe/Paris", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"), 96);
  EXPECT_EQ(count("", "2026-10-25T00:00:00Z", "2026-10-26T00:00:00Z"), 96);
}

TEST(CronSchedule, NextIsLaterAndSkipsNothing) {
  const char* expressions[] = {"0 */15 * * * *", "0 30 2 * * *", "0 0 * * * *", "0 0 1,15 * 1", "*/20 * 1-3 * * *",
                               "0 0 29 2 *",     "@weekly"};
  for (const char* zone : {"", "Europe/Paris", "America/New_York"}) {
    for (const char* expression : expressions) {
      CronSchedule schedule = CronSchedule::Parse(expression, zone);
      SystemTime previous = At("2026-03-01T00:00:00Z");
      for (int i = 0; i < 200 && previous < At("2100-01-01T00:00:00Z"); ++i) {
        SystemTime next = schedule.Next(previous);
        ASSERT_GT(next, previous) << expression << " " << zone << " after " << Text(previous);
        // `next` is itself an activation, and nothing between was skipped.
        ASSERT_EQ(schedule.Next(next - std::chrono::seconds(1)), next) << expression << " " << zone;
        ASSERT_EQ(schedule.Next(previous + (next - previous) / 2), next) << expression << " " << zone;
        previous = next;
      }
    }
  }
}

TEST(CronSchedule, ImpossibleDatesAreRefusedPossibleOnesFound) {
  std::string error = ErrorOf("0 0 30 2 *");
  EXPECT_NE(error.find("schedule \"0 0 30 2 *\": field 3 (day-of-month): 30 never happens in month 2"),
            std::string::npos)
      << error;
  EXPECT_NE(ErrorOf("0 0 0 31 4,6,9,11 *").find("field 4 (day-of-month): 31 never happens"), std::string::npos);
  EXPECT_NE(ErrorOf("0 0 0 30-31 FEB *").find("field 4 (day-of-month)"), std::string::npos);
  // One possible month is enough.
  EXPECT_EQ(NextAfter("0 0 31 2,3 *", "2026-02-01T00:00:00Z"), "2026-03-31T00:00:00Z");
  // February 29: the next leap year, and across 2100, which is not one.
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2096-03-01T00:00:00Z"), "2104-02-29T00:00:00Z");
  // With a day-of-week too, the OR rule makes it possible: Mondays in February.
  EXPECT_EQ(NextAfter("0 0 30 2 1", "2026-01-01T00:00:00Z"), "2026-02-02T00:00:00Z");
}

TEST(CronSchedule, TimesBeyondTheClockRangeAreAnError) {
  // system_clock counts nanoseconds in 64 bits: it ends in April 2262.
  EXPECT_THROW(CronSchedule::Parse("0 0 29 2 *").Next(At("2260-03-01T00:00:00Z")), Error);
  EXPECT_THROW(CronSchedule::Parse("@every 100000h").Next(At("2260-03-01T00:00:00Z")), Error);
  EXPECT_EQ(NextAfter("0 0 1 1 *", "2261-06-01T00:00:00Z"), "2262-01-01T00:00:00Z");
}

TEST(CronSchedule, EveryErrorNamesItsField) {
  struct Case {
    const char* expression;
    const char* message;
  };
  const Case cases[] = {
      {"0 0 24 * * *", "field 3 (hour): 24 is out of range 0-23"},
      {"60 * * * * *", "field 1 (second): 60 is out of range 0-59"},
      {"60 0 * * *", "field 1 (minute): 60 is out of range 0-59"},
      {"0 24 * * *", "field 2 (hour): 24 is out of range 0-23"},
      {"0 0 0 32 * *", "field 4 (day-of-month): 32 is out of range 1-31"},
      {"0 0 0 0 * *", "field 4 (day-of-month): 0 is out of range 1-31"},
      {"0 0 0 * 13 *", "field 5 (month): 13 is out of range 1-12"},
      {"0 0 0 * 0 *", "field 5 (month): 0 is out of range 1-12"},
      {"0 0 0 * * 8", "field 6 (day-of-week): 8 is out of range 0-7"},
      {"0 0 * * 8", "field 5 (day-of-week): 8 is out of range 0-7"},
      {"99999999999 * * * *", "field 1 (minute): 99999999999 is out of range 0-59"},
      {"0 0 22-2 * * *", "field 3 (hour): range 22-2 goes backwards and ranges do not wrap around; write 22-23,0-2"},
      {"0 0 0 * * FRI-MON", "field 6 (day-of-week): range 5-1 goes backwards"},
      {"0 0 1 DEC-FEB *", "field 4 (month): range 12-2 goes backwards and ranges do not wrap around; write 12,1-2"},
      {"*/0 * * * * *", "field 1 (second): step 0 in \"*/0\" must be at least 1"},
      {"0 0 1-5/0 * * *", "field 3 (hour): step 0 in \"1-5/0\" must be at least 1"},
      {"*/x * * * *", "field 1 (minute): step \"x\" in \"*/x\" is not a number"},
      {"1/ * * * *", "field 1 (minute): step \"\" in \"1/\" is not a number"},
      {"*/2/3 * * * *", "field 1 (minute): \"*/2/3\" has more than one /"},
      {"0 0 x * * *", "field 3 (hour): \"x\" is not a number 0-23"},
      {"0 0 +1 * * *", "field 3 (hour): \"+1\" is not a number 0-23"},
      {"0 ? * * * *", "field 2 (minute): ? is only allowed in day-of-month and day-of-week"},
      {"0 0 0 * FOO *", "field 5 (month): \"FOO\" is neither a month 1-12 nor a name JAN-DEC"},
      {"0 0 0 * JANUARY *", "field 5 (month): \"JANUARY\" is neither a month"},
      {"0 0 0 * * JAN", "field 6 (day-of-week): \"JAN\" is neither a day 0-7"},
      {"1,,2 * * * *", "field 1 (minute): empty list item in \"1,,2\""},
      {"1- * * * *", "field 1 (minute): missing value in \"1-\""},
      {"-1 * * * *", "field 1 (minute): missing value in \"-1\""},
      {"1-2-3 * * * *", "field 1 (minute): \"1-2-3\" is not a value or a range a-b"},
      {"0 0 0 * * MON-", "field 6 (day-of-week): missing value in \"MON-\""},
  };
  for (const Case& c : cases) {
    std::string error = ErrorOf(c.expression);
    EXPECT_EQ(error.rfind(std::string("schedule \"") + c.expression + "\": ", 0), 0u) << error;
    EXPECT_NE(error.find(c.message), std::string::npos) << c.expression << " -> " << error;
    // Says how it was read, so a 5/6-field mix-up shows.
    EXPECT_NE(error.find("; read as "), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  EXPECT_NE(ErrorOf("60 0 * * *").find("read as 5 fields: minute hour day-of-month month day-of-week"),
            std::string::npos);
  EXPECT_NE(ErrorOf("0 0 24 * * *").find("read as 6 fields: second minute hour day-of-month month day-of-week"),
            std::string::npos);
}

TEST(CronSchedule, FieldCountsOtherThanFiveAndSixAreRefused) {
  for (const char* expression : {"0 7 * *", "0 0 7 * * * *", "", "   ", "7"}) {
    std::string error = ErrorOf(expression);
    EXPECT_NE(error.find("fields; write 6 fields, seconds first as in CloudNativePG (second minute hour "
                         "day-of-month month day-of-week), 5 fields as in Unix cron (minute hour day-of-month "
                         "month day-of-week)"),
              std::string::npos)
        << expression << " -> " << error;
  }
  EXPECT_NE(ErrorOf("0 7 * *").find("schedule \"0 7 * *\": 4 fields; "), std::string::npos);
  EXPECT_NE(ErrorOf("0 0 7 * * * *").find(": 7 fields; "), std::string::npos);
  EXPECT_NE(ErrorOf("CRON_TZ=Europe/Paris 0 7 * * *").find("a time zone is not part of the expression"),
            std::string::npos);
}

TEST(CronSchedule, BadDescriptorsAndDurationsAreRefused) {
  const std::pair<const char*, const char*> cases[] = {
      {"@fortnightly", "unknown descriptor; write 6 fields"},
      {"@daily 3", "unknown descriptor"},
      {"@every", "@every takes one duration, e.g. @every 1h30m"},
      {"@every 1h 30m", "@every takes one duration"},
      {"@every 500ms", "@every 500ms is below the minimum of 1s"},
      {"@every 0", "@every 0 is below the minimum of 1s"},
      {"@every 1500ms", "@every 1500ms has a fraction of a second; use whole seconds"},
      {"@every 1x", "\"1x\" is not a duration; write e.g. 45s, 90m or 1h30m"},
      {"@every 90", "\"90\" is not a duration"},
      {"@every -1h", "\"-1h\" is not a duration"},
      {"@every 99999999999h", "\"99999999999h\" is not a duration"},
  };
  for (const auto& [expression, message] : cases) {
    std::string error = ErrorOf(expression);
    EXPECT_EQ(error.rfind(std::string("schedule \"") + expression + "\": ", 0), 0u) << error;
    EXPECT_NE(error.find(message), std::string::npos) << expression << " -> " << error;
  }
}

TEST(CronSchedule, UnknownTimeZonesAreRefused) {
  const std::pair<const char*, const char*> cases[] = {
      {"Europe/Pari", "no such zone in /usr/share/zoneinfo"},
      {"Europe", "no such zone"},  // a directory
      {"../../etc/passwd", "\"..\" is not allowed"},
      {"Europe/../UTC", "\"..\" is not allowed"},
      {"/etc/localtime", "not an IANA zone name"},
      {"localtime", "not an IANA zone name"},
      {"posixrules", "not an IANA zone name"},
      {"right/UTC", "not an IANA zone name"},
      {"Europe/Paris ", "not an IANA zone name"},
      {"CET-1CEST", "no such zone"},  // a POSIX TZ rule, not a name
  };
  for (const auto& [zone, message] : cases) {
    std::string error = ErrorOf("0 7 * * *", zone);
    EXPECT_NE(error.find(std::string("schedule \"0 7 * * *\": time zone \"") + zone + "\": " + message),
              std::string::npos)
        << zone << " -> " << error;
    EXPECT_NE(error.find("use an IANA name such as Europe/Paris"), std::string::npos) << error;
  }
  for (const char* zone : {"UTC", "Etc/UTC", "Europe/Paris", "America/New_York", "America/Argentina/Buenos_Aires",
                           "Etc/GMT+5"})
    EXPECT_EQ(ErrorOf("0 7 * * *", zone), "") << zone;
}

TEST(CronSchedule, DescribeSaysHowItWasRead) {
  EXPECT_EQ(CronSchedule::Parse("0 30 2 * * *").Describe(),
            "6-field (seconds first): at second 0, minute 30, hour 2 (UTC)");
  EXPECT_EQ(CronSchedule::Parse("0 7 * * * *").Describe(),
            "6-field (seconds first): at second 0, minute 7, hour * (UTC)");
  EXPECT_EQ(CronSchedule::Parse("0 7 * * *", "Europe/Paris").Describe(),
            "5-field (Unix cron, at second 0): at minute 0, hour 7 (Europe/Paris)");
  EXPECT_EQ(CronSchedule::Parse("0 0 1,15 * mon").Describe(),
            "5-field (Unix cron, at second 0): at minute 0, hour 0, on day-of-month 1,15 or day-of-week MON (UTC)");
  EXPECT_EQ(CronSchedule::Parse("0 9 ? jan-mar mon-fri").Describe(),
            "5-field (Unix cron, at second 0): at minute 0, hour 9, on day-of-week MON-FRI, in month JAN-MAR (UTC)");
  EXPECT_EQ(CronSchedule::Parse("@daily").Describe(), "@daily: at second 0, minute 0, hour 0 (UTC)");
  EXPECT_EQ(CronSchedule::Parse("@every 90m").Describe(),
            "@every 1h30m: every 1h30m after the previous activation, not tied to the clock");
}

TEST(CronSchedule, KeepsExpressionAndZone) {
  CronSchedule schedule = CronSchedule::Parse(" 0 7 * * * ", "Europe/Paris");
  EXPECT_EQ(schedule.expression(), " 0 7 * * * ");
  EXPECT_EQ(schedule.time_zone(), "Europe/Paris");
  EXPECT_EQ(CronSchedule::Parse("0 7 * * *").time_zone(), "");
}

TEST(CronSchedule, ThePreviousTzIsPutBack) {
  std::optional<std::string> saved;
  if (const char* tz = std::getenv("TZ")) saved = tz;
  CronSchedule paris = CronSchedule::Parse("0 7 * * *", "Europe/Paris");

  ::setenv("TZ", "Asia/Tokyo", 1);
  ::tzset();
  paris.Next(At("2026-11-25T00:00:00Z"));
  ASSERT_NE(std::getenv("TZ"), nullptr);
  EXPECT_STREQ(std::getenv("TZ"), "Asia/Tokyo");
  std::time_t noon = 1795608000;  // 2026-11-25T12:00:00Z
  std::tm tm{};
  localtime_r(&noon, &tm);
  EXPECT_EQ(tm.tm_gmtoff, 9 * 3600);

  ::unsetenv("TZ");
  paris.Next(At("2026-11-25T00:00:00Z"));
  EXPECT_EQ(std::getenv("TZ"), nullptr);

  if (saved)
    ::setenv("TZ", saved->c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

}  // namespace
}  // namespace pgvault
