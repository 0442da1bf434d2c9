// When a scheduled backup runs: a cron expression read in an IANA time zone.
//
// CloudNativePG's ScheduledBackup uses robfig/cron v1, whose expressions
// have 6 fields with SECONDS FIRST ("sec min hour dom month dow"); there a
// Unix 5-field string is misread without a word ("0 7 * * *" becomes minute
// 7 of every hour). Here the number of fields decides, and every other form
// is an error that says which forms are accepted:
//   6 fields  second minute hour day-of-month month day-of-week  (CNPG form)
//   5 fields  minute hour day-of-month month day-of-week         (Unix cron,
//             second 0)
//   @yearly @annually @monthly @weekly @daily @midnight @hourly
//   @every DURATION  (Go durations: 45s, 90m, 1h30m; at least 1 s, whole
//                     seconds; fires DURATION after the time it is asked
//                     about, as robfig does, with no anchor in the zone)
//
// Fields take *, numbers, a-b, */n, a-b/n, a/n (a to the maximum) and lists
// of those; ? is * in day-of-month and day-of-week; months JAN-DEC and days
// SUN-SAT in any case; day-of-week 7 is Sunday. When both day fields are
// restricted (neither * nor ?), a day matches when EITHER does (Vixie cron
// and robfig); otherwise both must.
//
// Daylight saving time, in the schedule's zone:
//  - a wall-clock time that does not exist (the spring-forward gap, e.g.
//    02:30 on 2026-03-29 in Europe/Paris) is skipped: the schedule fires at
//    its next matching time that exists, so "0 30 2 * * *" does not fire on
//    that day at all;
//  - a wall-clock time that happens twice (fall back) fires once, at its
//    first occurrence; an hourly schedule therefore does not fire again in
//    the repeated hour.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/timestamp.h"

namespace pgvault {

// The values each field of a schedule matches, as Parse reads them: bit i set
// = value i matches; day-of-week 0 is Sunday (7 is folded into 0).
struct CronFields {
  uint64_t seconds = 0, minutes = 0, hours = 0, days_of_month = 0, months = 0, days_of_week = 0;
  // False for * and ?: decides between the AND and the OR day rule.
  bool day_of_month_restricted = false, day_of_week_restricted = false;
};

class CronSchedule {
 public:
  // Throws Error with a one-line message that quotes the expression, names
  // the field ("field 3 (hour): 24 is out of range 0-23") and says how the
  // expression was read. `time_zone` is an IANA name ("Europe/Paris"); ""
  // means UTC. A day-of-month/month combination that can never happen
  // ("0 0 30 2 *") is refused here, so Next always finds a time.
  static CronSchedule Parse(const std::string& expression, const std::string& time_zone = "");

  // The first activation strictly after `after`, on a whole second. Throws
  // Error only when that is past April 2262, where system_clock ends (or,
  // as a backstop that Parse's checks leave unreachable, when nothing
  // matches within 10 years).
  SystemTime Next(SystemTime after) const;

  const std::string& expression() const { return expression_; }
  const std::string& time_zone() const { return time_zone_; }  // "" = UTC
  // One short line for `describe scheduledbackup`, e.g. "6-field (seconds
  // first): at second 0, minute 30, hour 2 (UTC)".
  const std::string& Describe() const { return description_; }

 private:
  CronSchedule() = default;

  std::string expression_;
  std::string time_zone_;
  std::string description_;
  CronFields fields_;
  std::chrono::seconds every_{0};  // nonzero for @every
};

}  // namespace pgvault
