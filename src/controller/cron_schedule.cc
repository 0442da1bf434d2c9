#include "controller/cron_schedule.h"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {
namespace {

constexpr const char* kZoneInfoDir = "/usr/share/zoneinfo";
// A schedule that Parse accepts fires at least once in 8 years (Feb 29 skips
// 2100); past this, Next gives up instead of looping.
constexpr int kSearchYears = 10;

constexpr const char* kAcceptedForms =
    "write 6 fields, seconds first as in CloudNativePG (second minute hour day-of-month month day-of-week), "
    "5 fields as in Unix cron (minute hour day-of-month month day-of-week), "
    "or a descriptor: @yearly, @monthly, @weekly, @daily, @hourly, @every 1h30m";

const char* const kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* const kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

enum class Names { kNone, kMonths, kDays };

struct FieldKind {
  const char* name;
  int min;
  int max;       // largest value written (7 for day-of-week: Sunday again)
  int star_max;  // where * and a/n end (6 for day-of-week)
  Names names;
  bool allows_question;
};

const FieldKind kSecond{"second", 0, 59, 59, Names::kNone, false};
const FieldKind kMinute{"minute", 0, 59, 59, Names::kNone, false};
const FieldKind kHour{"hour", 0, 23, 23, Names::kNone, false};
const FieldKind kDayOfMonth{"day-of-month", 1, 31, 31, Names::kNone, true};
const FieldKind kMonth{"month", 1, 12, 12, Names::kMonths, false};
const FieldKind kDayOfWeek{"day-of-week", 0, 7, 6, Names::kDays, true};

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    if (end > pos) words.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::string RangeText(int first, int last) {
  return first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
}

// Reads one field into a bit mask; every error names the field, quotes the
// expression and says how the expression was read, so a 5/6-field mix-up is
// visible in the message itself.
class FieldParser {
 public:
  FieldParser(const std::string& expression, const std::string& layout, int number, const FieldKind& kind)
      : expression_(expression), layout_(layout), number_(number), kind_(kind) {}

  // Sets `restricted` false when the field is * or ? (a star without a step
  // covers every value, whatever else the list holds).
  uint64_t Read(const std::string& text, bool* restricted) {
    uint64_t mask = 0;
    *restricted = true;
    for (const std::string& item : Split(text, ',')) {
      if (item.empty()) Fail(fmt::format("empty list item in \"{}\"", text));
      mask |= ReadItem(item, restricted);
    }
    if (kind_.names == Names::kDays && (mask & (1ULL << 7))) mask = (mask & ~(1ULL << 7)) | 1ULL;
    return mask;
  }

  [[noreturn]] void Fail(const std::string& message) const {
    throw Error(fmt::format("schedule \"{}\": field {} ({}): {}; read as {}", expression_, number_, kind_.name,
                            message, layout_));
  }

 private:
  uint64_t ReadItem(const std::string& item, bool* restricted) {
    std::vector<std::string> range_and_step = Split(item, '/');
    if (range_and_step.size() > 2) Fail(fmt::format("\"{}\" has more than one /", item));
    const std::string& range = range_and_step[0];
    int first, last;
    bool star = range == "*" || range == "?";
    if (star) {
      if (range == "?" && !kind_.allows_question)
        Fail("? is only allowed in day-of-month and day-of-week; write *");
      first = kind_.min;
      last = kind_.star_max;
    } else {
      std::vector<std::string> bounds = Split(range, '-');
      if (bounds.size() > 2) Fail(fmt::format("\"{}\" is not a value or a range a-b", range));
      first = ReadValue(bounds[0], item);
      last = bounds.size() == 2 ? ReadValue(bounds[1], item) : first;
      if (first > last) {
        int wrap_end = std::max(first, kind_.star_max);
        Fail(fmt::format("range {}-{} goes backwards and ranges do not wrap around; write {},{}", first, last,
                         RangeText(first, wrap_end), RangeText(kind_.min, last)));
      }
    }
    int step = 1;
    if (range_and_step.size() == 2) {
      const std::string& step_text = range_and_step[1];
      if (step_text.empty() || step_text.size() > 6 ||
          step_text.find_first_not_of("0123456789") != std::string::npos)
        Fail(fmt::format("step \"{}\" in \"{}\" is not a number", step_text, item));
      step = std::stoi(step_text);
      if (step == 0) Fail(fmt::format("step 0 in \"{}\" must be at least 1", item));
      // "a/n" means from a to the end of the field, as in robfig and Vixie
      // ("7/n" in day-of-week is Sunday alone).
      if (!star && range.find('-') == std::string::npos) last = std::max(first, kind_.star_max);
    }
    if (star && step == 1) *restricted = false;
    uint64_t mask = 0;
    for (int value = first; value <= last; value += step) mask |= 1ULL << value;
    return mask;
  }

  int ReadValue(const std::string& text, const std::string& item) const {
    if (text.empty()) Fail(fmt::format("missing value in \"{}\"", item));
    if (text.find_first_not_of("0123456789") == std::string::npos) {
      int value = text.size() > 6 ? 1000000 : std::stoi(text);
      if (value < kind_.min || value > kind_.max)
        Fail(fmt::format("{} is out of range {}-{}", text, kind_.min, kind_.max));
      return value;
    }
    std::string upper = Upper(text);
    if (kind_.names == Names::kMonths) {
      for (int i = 0; i < 12; ++i)
        if (upper == kMonthNames[i]) return i + 1;
      Fail(fmt::format("\"{}\" is neither a month 1-12 nor a name JAN-DEC", text));
    }
    if (kind_.names == Names::kDays) {
      for (int i = 0; i < 7; ++i)
        if (upper == kDayNames[i]) return i;
      Fail(fmt::format("\"{}\" is neither a day 0-7 (0 and 7 are Sunday) nor a name SUN-SAT", text));
    }
    Fail(fmt::format("\"{}\" is not a number {}-{}", text, kind_.min, kind_.max));
  }

  const std::string& expression_;
  const std::string& layout_;
  int number_;
  const FieldKind& kind_;
};

// Go's time.ParseDuration, as robfig reads @every: a sequence of decimal
// numbers with units (ns us µs ms s m h), e.g. "1h30m", "1.5h". Nanoseconds.
std::optional<int64_t> ParseGoDuration(const std::string& text) {
  struct Unit {
    const char* suffix;
    int64_t nanoseconds;
  };
  // Longer suffixes first: "ms" before "m", "ns" before "s".
  static const Unit kUnits[] = {{"ns", 1},           {"us", 1000},          {"\xC2\xB5s", 1000},
                                {"\xCE\xBCs", 1000}, {"ms", 1000000},       {"h", 3600000000000},
                                {"m", 60000000000},  {"s", 1000000000}};
  if (text == "0") return 0;
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    int64_t whole = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (__builtin_mul_overflow(whole, 10, &whole) || __builtin_add_overflow(whole, text[pos] - '0', &whole))
        return std::nullopt;
      ++pos;
    }
    std::string fraction;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) fraction += text[pos++];
    }
    if (pos == start || (pos == start + 1 && text[start] == '.')) return std::nullopt;  // no digits
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.compare(pos, std::char_traits<char>::length(u.suffix), u.suffix) == 0) {
        unit = &u;
        break;
      }
    }
    if (!unit) return std::nullopt;
    pos += std::char_traits<char>::length(unit->suffix);
    int64_t part;
    if (__builtin_mul_overflow(whole, unit->nanoseconds, &part)) return std::nullopt;
    int64_t scale = unit->nanoseconds;
    for (char digit : fraction) {
      scale /= 10;
      if (__builtin_add_overflow(part, (digit - '0') * scale, &part)) return std::nullopt;
    }
    if (__builtin_add_overflow(total, part, &total)) return std::nullopt;
  }
  return total;
}

// "1h30m", "45s": the compact form of a whole number of seconds.
std::string FormatSeconds(int64_t seconds) {
  std::string text;
  if (seconds >= 3600) text += fmt::format("{}h", seconds / 3600);
  if (seconds % 3600 >= 60) text += fmt::format("{}m", seconds % 3600 / 60);
  if (seconds % 60 != 0 || text.empty()) text += fmt::format("{}s", seconds % 60);
  return text;
}

// The most days a month can have (February 29 in leap years).
int MaxDaysIn(int month) {
  static const int kMaxDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kMaxDays[month - 1];
}

bool Has(uint64_t mask, int value) { return (mask >> value) & 1; }

// The smallest value >= `from` in `mask`, or -1.
int NextIn(uint64_t mask, int from) {
  uint64_t rest = mask & (~0ULL << from);
  return rest ? std::countr_zero(rest) : -1;
}

void CheckTimeZone(const std::string& expression, const std::string& zone) {
  if (zone.empty()) return;  // UTC
  auto fail = [&](const std::string& why) {
    throw Error(fmt::format("schedule \"{}\": time zone \"{}\": {}; use an IANA name such as Europe/Paris, "
                            "America/New_York or UTC (or none for UTC)",
                            expression, zone, why));
  };
  if (zone.find("..") != std::string::npos) fail("\"..\" is not allowed in a zone name");
  // IANA names are capitalized words joined by /: this refuses absolute paths
  // and the non-zone files of the zoneinfo directory ("localtime",
  // "posixrules", the "right/" zones that count leap seconds).
  for (const std::string& part : Split(zone, '/')) {
    if (part.empty() || !std::isupper(static_cast<unsigned char>(part[0])) ||
        part.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-") !=
            std::string::npos)
      fail("not an IANA zone name");
  }
  std::string path = fmt::format("{}/{}", kZoneInfoDir, zone);
  struct stat info;
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) fail(fmt::format("no such zone in {}", kZoneInfoDir));
  char magic[4] = {};
  std::ifstream file(path, std::ios::binary);
  if (!file.read(magic, sizeof magic) || std::string(magic, sizeof magic) != "TZif")
    fail(fmt::format("{} is not a TZif zone file", path));
}

// A wall-clock time as seconds since 1970-01-01 00:00:00 of the same wall
// clock: what the time would be in UTC. Calendar arithmetic on it needs no
// time zone.
using WallSeconds = int64_t;

struct WallClock {
  int year, month, day, hour, minute, second;
};

WallClock ToWallClock(WallSeconds wall) {
  using namespace std::chrono;
  int64_t day_count = wall >= 0 ? wall / 86400 : (wall - 86399) / 86400;
  int64_t second_of_day = wall - day_count * 86400;
  year_month_day date{sys_days{days{day_count}}};
  return {static_cast<int>(date.year()), static_cast<int>(static_cast<unsigned>(date.month())),
          static_cast<int>(static_cast<unsigned>(date.day())), static_cast<int>(second_of_day / 3600),
          static_cast<int>(second_of_day / 60 % 60), static_cast<int>(second_of_day % 60)};
}

std::chrono::year_month_day DateOf(const WallClock& c) {
  using namespace std::chrono;
  return year{c.year} / month{static_cast<unsigned>(c.month)} / day{static_cast<unsigned>(c.day)};
}

WallSeconds FromWallClock(const WallClock& c) {
  int64_t day_count = std::chrono::sys_days{DateOf(c)}.time_since_epoch().count();
  return day_count * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
}

int DaysIn(int year, int month) {
  using namespace std::chrono;
  return static_cast<int>(static_cast<unsigned>(
      year_month_day_last{std::chrono::year{year} / std::chrono::month{static_cast<unsigned>(month)} / last}.day()));
}

void StartOfNextMonth(WallClock* c) {
  c->day = 1;
  c->hour = c->minute = c->second = 0;
  if (++c->month > 12) c->month = 1, ++c->year;
}

void StartOfNextDay(WallClock* c) {
  c->hour = c->minute = c->second = 0;
  if (++c->day > DaysIn(c->year, c->month)) {
    c->day = 1;
    if (++c->month > 12) c->month = 1, ++c->year;
  }
}

void StartOfNextHour(WallClock* c) {
  c->minute = c->second = 0;
  if (++c->hour == 24) StartOfNextDay(c);
}

void StartOfNextMinute(WallClock* c) {
  c->second = 0;
  if (++c->minute == 60) c->minute = 0, StartOfNextHour(c);
}

bool DayMatches(const CronFields& f, const WallClock& c) {
  bool dom = Has(f.days_of_month, c.day);
  bool dow = Has(f.days_of_week, static_cast<int>(std::chrono::weekday{std::chrono::sys_days{DateOf(c)}}.c_encoding()));
  // Vixie cron's rule, also robfig's: two restricted day fields are
  // alternatives ("the 1st and 15th, and Mondays").
  if (f.day_of_month_restricted && f.day_of_week_restricted) return dom || dow;
  return dom && dow;
}

// The first wall-clock time >= `wall` that the fields match, moving by whole
// months, days, hours and minutes where a field rules them out (as robfig's
// Next does), so a search over years takes a few thousand steps. nullopt
// past `last_year`.
std::optional<WallSeconds> NextMatch(const CronFields& f, WallSeconds wall, int last_year) {
  WallClock c = ToWallClock(wall);
  for (;;) {
    if (c.year > last_year) return std::nullopt;
    if (!Has(f.months, c.month)) {
      StartOfNextMonth(&c);
      continue;
    }
    if (!DayMatches(f, c)) {
      StartOfNextDay(&c);
      continue;
    }
    if (!Has(f.hours, c.hour)) {
      int hour = NextIn(f.hours, c.hour);
      if (hour < 0) {
        StartOfNextDay(&c);
      } else {
        c.hour = hour;
        c.minute = c.second = 0;
      }
      continue;
    }
    if (!Has(f.minutes, c.minute)) {
      int minute = NextIn(f.minutes, c.minute);
      if (minute < 0) {
        StartOfNextHour(&c);
      } else {
        c.minute = minute;
        c.second = 0;
      }
      continue;
    }
    if (!Has(f.seconds, c.second)) {
      int second = NextIn(f.seconds, c.second);
      if (second < 0) {
        StartOfNextMinute(&c);
      } else {
        c.second = second;
      }
      continue;
    }
    return FromWallClock(c);
  }
}

// UTC offsets of a zone, from the C library.
//
// g++ 12's libstdc++ has no std::chrono time zone database (it came with
// GCC 14), so the zone is read by glibc: TZ names the zone file, tzset()
// loads it, localtime_r() gives the offset (tm_gmtoff) in effect at an
// instant. TZ and glibc's loaded zone belong to the whole process, so the
// switch is made under one mutex and the previous TZ (or its absence) is put
// back, and loaded again, before the mutex is released: one switch per
// Next(), a few microseconds. Code elsewhere that asks glibc for local time
// in that window (a log line's local timestamp) would get this zone's time.
// UTC needs no switch at all.
class ZoneOffsets {
 public:
  explicit ZoneOffsets(const std::string& zone) {
    if (zone.empty()) return;
    lock_ = std::unique_lock<std::mutex>(Mutex());
    if (const char* previous = std::getenv("TZ")) previous_ = previous;
    // ":" + an absolute path: the file CheckTimeZone looked at, whatever
    // TZDIR says.
    ::setenv("TZ", fmt::format(":{}/{}", kZoneInfoDir, zone).c_str(), 1);
    ::tzset();
  }
  ~ZoneOffsets() {
    if (!lock_.owns_lock()) return;
    if (previous_)
      ::setenv("TZ", previous_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }
  ZoneOffsets(const ZoneOffsets&) = delete;
  ZoneOffsets& operator=(const ZoneOffsets&) = delete;

  // Seconds east of UTC at the instant `utc`.
  int64_t OffsetAt(int64_t utc) const {
    if (!lock_.owns_lock()) return 0;
    std::time_t t = static_cast<std::time_t>(utc);
    std::tm tm{};
    if (!::localtime_r(&t, &tm)) throw Error(fmt::format("cannot convert {} to local time", utc));
    return tm.tm_gmtoff;
  }

  // The first instant at which the wall clock shows `wall`, or nullopt when
  // it never does (skipped by a spring-forward gap).
  //
  // mktime() is not used for this: in a gap it silently moves the time, and
  // in a repeated hour which of the two instants it returns depends on
  // tm_isdst guesses. Instead each offset in effect around the time is tried
  // and kept if the instant it gives shows that offset: none in a gap, two
  // in a repeated hour (the earlier wins).
  std::optional<int64_t> FirstInstantOf(WallSeconds wall) const {
    std::optional<int64_t> first;
    for (int64_t probe : {wall - 86400, wall, wall + 86400}) {
      int64_t offset = OffsetAt(probe);
      int64_t utc = wall - offset;
      if (OffsetAt(utc) == offset && (!first || utc < *first)) first = utc;
    }
    return first;
  }

 private:
  static std::mutex& Mutex() {
    static std::mutex mutex;
    return mutex;
  }

  std::unique_lock<std::mutex> lock_;
  std::optional<std::string> previous_;
};

std::string DescribeFields(const std::vector<std::string>& fields, bool six, const CronFields& f) {
  // fields: second minute hour dom month dow, as written (upper-cased).
  std::string text = six ? fmt::format("at second {}, minute {}, hour {}", fields[0], fields[1], fields[2])
                         : fmt::format("at minute {}, hour {}", fields[1], fields[2]);
  if (f.day_of_month_restricted && f.day_of_week_restricted)
    text += fmt::format(", on day-of-month {} or day-of-week {}", fields[3], fields[5]);
  else if (f.day_of_month_restricted)
    text += fmt::format(", on day-of-month {}", fields[3]);
  else if (f.day_of_week_restricted)
    text += fmt::format(", on day-of-week {}", fields[5]);
  if (fields[4] != "*") text += fmt::format(", in month {}", fields[4]);
  return text;
}

// system_clock counts nanoseconds in 64 bits, up to April 2262.
SystemTime ToSystemTime(int64_t seconds, const std::string& expression, SystemTime after) {
  constexpr int64_t kLast = std::chrono::floor<std::chrono::seconds>(SystemTime::max().time_since_epoch()).count();
  if (seconds > kLast)
    throw Error(fmt::format("schedule \"{}\": the next activation after {} is past 2262, where the clock ends",
                            expression, FormatTimestamp(after)));
  return SystemTime(std::chrono::seconds(seconds));
}

}  // namespace

CronSchedule CronSchedule::Parse(const std::string& expression, const std::string& time_zone) {
  CronSchedule schedule;
  schedule.expression_ = expression;
  schedule.time_zone_ = time_zone;
  std::vector<std::string> words = SplitWords(expression);
  if (!words.empty() && (words[0].rfind("TZ=", 0) == 0 || words[0].rfind("CRON_TZ=", 0) == 0))
    throw Error(fmt::format("schedule \"{}\": a time zone is not part of the expression; give it as the "
                            "schedule's time zone setting",
                            expression));
  CheckTimeZone(expression, time_zone);
  std::string zone_text = time_zone.empty() ? "UTC" : time_zone;

  std::vector<std::string> six;  // the fields, always in the 6-field order
  std::string prefix;
  bool six_fields = true;
  if (!words.empty() && words[0][0] == '@') {
    std::string descriptor = Lower(words[0]);
    if (descriptor == "@every") {
      if (words.size() != 2)
        throw Error(fmt::format("schedule \"{}\": @every takes one duration, e.g. @every 1h30m", expression));
      std::optional<int64_t> nanoseconds = ParseGoDuration(words[1]);
      if (!nanoseconds)
        throw Error(fmt::format("schedule \"{}\": \"{}\" is not a duration; write e.g. 45s, 90m or 1h30m "
                                "(units h, m, s)",
                                expression, words[1]));
      if (*nanoseconds < 1000000000)
        throw Error(fmt::format("schedule \"{}\": @every {} is below the minimum of 1s", expression, words[1]));
      if (*nanoseconds % 1000000000 != 0)
        throw Error(fmt::format("schedule \"{}\": @every {} has a fraction of a second; use whole seconds",
                                expression, words[1]));
      schedule.every_ = std::chrono::seconds(*nanoseconds / 1000000000);
      std::string interval = FormatSeconds(schedule.every_.count());
      schedule.description_ =
          fmt::format("@every {}: every {} after the previous activation, not tied to the clock", interval, interval);
      return schedule;
    }
    static const std::pair<const char*, const char*> kDescriptors[] = {
        {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
        {"@weekly", "0 0 0 * * 0"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
        {"@hourly", "0 0 * * * *"}};
    for (const auto& [name, fields] : kDescriptors) {
      if (descriptor == name) {
        six = SplitWords(fields);
        prefix = name;
      }
    }
    if (six.empty() || words.size() != 1)
      throw Error(fmt::format("schedule \"{}\": unknown descriptor; {}", expression, kAcceptedForms));
  } else if (words.size() == 6) {
    six = words;
    prefix = "6-field (seconds first)";
  } else if (words.size() == 5) {
    six = {"0"};
    six.insert(six.end(), words.begin(), words.end());
    six_fields = false;
    prefix = "5-field (Unix cron, at second 0)";
  } else {
    throw Error(fmt::format("schedule \"{}\": {} fields; {}", expression, words.size(), kAcceptedForms));
  }

  std::string layout = six_fields ? "6 fields: second minute hour day-of-month month day-of-week"
                                  : "5 fields: minute hour day-of-month month day-of-week";
  int offset = six_fields ? 1 : 0;  // field numbers as the user counts them
  CronFields& f = schedule.fields_;
  bool unused;  // only the day fields choose between the AND and the OR rule
  f.seconds = six_fields ? FieldParser(expression, layout, 1, kSecond).Read(six[0], &unused) : 1;
  f.minutes = FieldParser(expression, layout, 1 + offset, kMinute).Read(six[1], &unused);
  f.hours = FieldParser(expression, layout, 2 + offset, kHour).Read(six[2], &unused);
  FieldParser day_of_month(expression, layout, 3 + offset, kDayOfMonth);
  f.days_of_month = day_of_month.Read(six[3], &f.day_of_month_restricted);
  f.months = FieldParser(expression, layout, 4 + offset, kMonth).Read(six[4], &unused);
  f.days_of_week = FieldParser(expression, layout, 5 + offset, kDayOfWeek).Read(six[5], &f.day_of_week_restricted);

  // With the AND rule a day-of-month that no allowed month has would make
  // the schedule never fire ("0 0 30 2 *"); with the OR rule the weekdays
  // still happen.
  if (!f.day_of_week_restricted) {
    bool possible = false;
    for (int month = 1; month <= 12 && !possible; ++month)
      possible = Has(f.months, month) && NextIn(f.days_of_month, 1) <= MaxDaysIn(month);
    if (!possible)
      day_of_month.Fail(fmt::format("{} never happens in month {}, so the schedule would never fire (February has "
                                    "at most 29 days; April, June, September and November 30)",
                                    six[3], six[4]));
  }

  for (std::string& field : six) field = Upper(field);
  schedule.description_ = fmt::format("{}: {} ({})", prefix, DescribeFields(six, six_fields, f), zone_text);
  return schedule;
}

SystemTime CronSchedule::Next(SystemTime after) const {
  int64_t after_seconds = std::chrono::floor<std::chrono::seconds>(after).time_since_epoch().count();
  // robfig: the delay from the time asked about, sub-second part dropped.
  if (every_.count() > 0) return ToSystemTime(after_seconds + every_.count(), expression_, after);

  ZoneOffsets zone(time_zone_);
  WallSeconds wall = after_seconds + zone.OffsetAt(after_seconds) + 1;
  int last_year = ToWallClock(wall).year + kSearchYears;
  for (;;) {
    std::optional<WallSeconds> match = NextMatch(fields_, wall, last_year);
    if (!match)
      throw Error(fmt::format("schedule \"{}\" ({}): no activation within {} years after {}", expression_,
                              time_zone_.empty() ? "UTC" : time_zone_, kSearchYears, FormatTimestamp(after)));
    // A time in a gap has no instant; a repeated one fired at its first
    // instant, which may be before `after` when `after` is in the repeat.
    std::optional<int64_t> utc = zone.FirstInstantOf(*match);
    if (utc && *utc > after_seconds) return ToSystemTime(*utc, expression_, after);
    wall = *match + 1;
  }
}

}  // namespace pgvault
