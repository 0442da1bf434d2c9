#include "retention/retention_rule.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

namespace pgvault {

SystemTime WindowStart(const RetentionConfiguration& policy, SystemTime now) {
  using std::chrono::hours;
  switch (policy.window_unit) {
    case 'd': return now - hours(24) * policy.window_count;
    case 'w': return now - hours(24 * 7) * policy.window_count;
    default: {
      // Calendar months, as people mean "6m": the same day and time N months
      // earlier (clamped to the month's last day).
      std::time_t t = std::chrono::system_clock::to_time_t(now);
      std::tm tm{};
      gmtime_r(&t, &tm);
      int months = tm.tm_year * 12 + tm.tm_mon - policy.window_count;
      tm.tm_year = months / 12;
      tm.tm_mon = months % 12;
      static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      int year = tm.tm_year + 1900;
      int last = kDays[tm.tm_mon] + (tm.tm_mon == 1 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0));
      tm.tm_mday = std::min(tm.tm_mday, last);
      auto sub_second = now - std::chrono::system_clock::from_time_t(t);
      return std::chrono::system_clock::from_time_t(timegm(&tm)) + sub_second;
    }
  }
}

RetentionVerdict DecideRetention(std::vector<RetainedBackup> backups, const RetentionConfiguration& policy,
                                 SystemTime now) {
  RetentionVerdict v;
  std::stable_sort(backups.begin(), backups.end(),
                   [](const RetainedBackup& a, const RetainedBackup& b) { return a.end_time < b.end_time; });
  std::map<std::string, std::string> keep_reason;
  size_t n = backups.size();
  if (n == 0) return v;
  keep_reason[backups[n - 1].id] = "the newest completed backup";
  if (!policy.configured())
    for (const auto& b : backups) keep_reason.emplace(b.id, "no retention policy");
  if (policy.window_count > 0) {
    SystemTime start = WindowStart(policy, now);
    std::string window = policy.WindowText();
    bool covered = false;
    for (size_t i = n; i-- > 0;) {
      if (backups[i].end_time > start) {
        keep_reason.emplace(backups[i].id, fmt::format("inside the recovery window of {}", window));
      } else if (!covered) {
        keep_reason.emplace(backups[i].id,
                            fmt::format("the recovery window of {} starts after it (recovery to its start "
                                        "begins here)",
                                        window));
        covered = true;
      }
    }
  }
  if (policy.keep > 0)
    for (size_t i = n, kept = 0; i-- > 0 && kept < static_cast<size_t>(policy.keep); ++kept)
      keep_reason.emplace(backups[i].id, fmt::format("one of the {} newest (keep: {})", policy.keep, policy.keep));
  for (const auto& b : backups)
    if (b.keep_annotation) keep_reason.emplace(b.id, "annotated pgvault.io/keep: \"true\"");
  for (const auto& b : backups) {
    if (auto it = keep_reason.find(b.id); it != keep_reason.end()) {
      v.keep.push_back(b.id);
      v.reasons[b.id] = it->second;
    } else {
      v.remove.push_back(b.id);
      v.reasons[b.id] = policy.window_count > 0
                            ? fmt::format("older than needed for the recovery window of {}{}", policy.WindowText(),
                                          policy.keep ? fmt::format(" and not one of the {} newest", policy.keep) : "")
                            : fmt::format("not one of the {} newest", policy.keep);
    }
  }
  return v;
}

}  // namespace pgvault
