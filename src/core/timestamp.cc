#include "core/timestamp.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

std::string FormatTimestamp(SystemTime time) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string FormatPostgresTimestamp(SystemTime time) {
  auto us = std::chrono::floor<std::chrono::microseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
  int64_t fraction = us - static_cast<int64_t>(seconds) * 1000000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
}

std::string FormatBackupIdTime(SystemTime time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

namespace {
// The whole years a SystemTime (nanoseconds since 1970 in 64 bits: from
// September 1677 to April 2262) holds.
constexpr int kFirstYear = 1678;
constexpr int kLastYear = 2261;
}  // namespace

namespace {

// `count` decimal digits at text[pos], nothing else (no sign, no space).
std::optional<int> FixedDigits(const std::string& text, size_t pos, size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// The instant of a UTC date and time whose fields are already range-checked.
SystemTime FromUtcFields(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

constexpr const char* kMonthNames[] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};

}  // namespace

// Strict: "YYYY-MM-DDTHH:MM:SS[.F]Z" with 1 to 9 fraction digits (pgvault
// writes 3; Kubernetes' MicroTime 6), each a fraction of a second, so
// ".5Z" is 500 ms. sscanf read ".5Z" as 5 ms and refused 6 digits.
SystemTime ParseTimestamp(const std::string& text) {
  auto invalid = [&](const char* why) {
    return Error(fmt::format("invalid timestamp '{}': {} (expected YYYY-MM-DDTHH:MM:SS[.fraction]Z)", text, why));
  };
  auto year = FixedDigits(text, 0, 4), month = FixedDigits(text, 5, 2), day = FixedDigits(text, 8, 2);
  auto hour = FixedDigits(text, 11, 2), minute = FixedDigits(text, 14, 2), second = FixedDigits(text, 17, 2);
  if (text.size() < 20 || !year || !month || !day || !hour || !minute || !second || text[4] != '-' ||
      text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':')
    throw invalid("not of that form");
  size_t pos = 19;
  int64_t nanos = 0;
  if (text[pos] == '.') {
    size_t digits = 0;
    int64_t scale = 100000000;
    for (++pos; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos, ++digits) {
      if (digits == 9) throw invalid("more than 9 fraction digits");
      nanos += (text[pos] - '0') * scale;
      scale /= 10;
    }
    if (digits == 0) throw invalid("no digit after the decimal point");
  }
  if (pos + 1 != text.size() || text[pos] != 'Z') throw invalid("it must end with Z (UTC)");
  // Out-of-range fields would be normalised by timegm() or overflow the
  // clock's nanoseconds (years before 1678 or after 2261).
  if (*year < kFirstYear || *year > kLastYear || *month < 1 || *month > 12 || *day < 1 ||
      *day > DaysInMonth(*year, *month) || *hour > 23 || *minute > 59 || *second > 60)
    throw Error(fmt::format("invalid timestamp '{}': a field is out of range", text));
  return FromUtcFields(*year, *month, *day, *hour, *minute, *second) +
         std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(nanos));
}


// Strict on purpose: timegm() normalises day 34 or second 75 into another
// moment without a word, and PostgreSQL would read the value differently (or
// refuse it at startup), so every field is checked against its range here.
std::optional<SystemTime> ParseTimestampWithZone(const std::string& text, std::string* problem) {
  auto fail = [&](std::string why) -> std::optional<SystemTime> {
    if (problem) *problem = std::move(why);
    return std::nullopt;
  };
  // YYYY-MM-DD HH:MM:SS (or T), each field exactly its width.
  auto year = FixedDigits(text, 0, 4), month = FixedDigits(text, 5, 2), day = FixedDigits(text, 8, 2);
  auto hour = FixedDigits(text, 11, 2), minute = FixedDigits(text, 14, 2), second = FixedDigits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != ' ' && text[10] != 'T') || text[13] != ':' || text[16] != ':')
    return fail("not in the form YYYY-MM-DD HH:MM:SS");
  if (*year < kFirstYear || *year > kLastYear)
    return fail(fmt::format("year {} is not {} to {}", *year, kFirstYear, kLastYear));
  if (*month < 1 || *month > 12) return fail(fmt::format("there is no month {}", *month));
  if (*day < 1 || *day > DaysInMonth(*year, *month))
    return fail(fmt::format("there is no day {} in {} {}", *day, kMonthNames[*month - 1], *year));
  if (*hour > 23) return fail(fmt::format("hour {} is not 00 to 23", *hour));
  if (*minute > 59) return fail(fmt::format("minute {} is not 00 to 59", *minute));
  if (*second > 59) return fail(fmt::format("second {} is not 00 to 59", *second));
  size_t pos = 19;
  long micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (++digits > 6) return fail("more than 6 digits of fractional seconds");
      micros = micros * 10 + (text[pos++] - '0');
    }
    if (digits == 0) return fail("no digits after the decimal point");
    while (digits++ < 6) micros *= 10;
  }
  if (pos < text.size() && text[pos] == ' ') ++pos;
  if (pos >= text.size()) return fail("no time zone: add one such as +00, +05:30 or Z");
  long offset_seconds = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    // +HH, +HH:MM or +HHMM (as PostgreSQL prints and reads them; at most 15:59).
    int sign = text[pos] == '-' ? -1 : 1;
    auto oh = FixedDigits(text, pos + 1, 2);
    if (!oh) return fail("the time zone is not +HH, +HH:MM or +HHMM (or with -)");
    pos += 3;
    std::optional<int> om = 0;
    if (pos < text.size()) {
      om = FixedDigits(text, pos + (text[pos] == ':' ? 1 : 0), 2);
      if (!om || pos + (text[pos] == ':' ? 3 : 2) != text.size())
        return fail("the time zone is not +HH, +HH:MM or +HHMM (or with -)");
      pos = text.size();
    }
    if (*oh > 15 || *om > 59) return fail("the time zone offset is not -15:59 to +15:59");
    offset_seconds = sign * (*oh * 3600L + *om * 60L);
  } else {
    return fail("the time zone is not Z or a numeric offset such as +00 or +05:30 (zone names are not read)");
  }
  if (pos != text.size()) return fail("unexpected text after the time zone");
  return FromUtcFields(*year, *month, *day, *hour, *minute, *second) - std::chrono::seconds(offset_seconds) +
         std::chrono::microseconds(micros);
}

std::string FormatDuration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  long total = static_cast<long>(seconds);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m{:02}s", total / 3600, total / 60 % 60, total % 60);
}

}  // namespace pgvault
