// UTC timestamps in the one text form the repository uses (RFC 3339, "Z").
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pgvault {

using SystemTime = std::chrono::system_clock::time_point;

std::string FormatTimestamp(SystemTime time);          // 2026-11-24T13:53:00.123Z
std::string FormatBackupIdTime(SystemTime time);       // 20261124T135300
// 2026-11-24 13:53:00.123456+00: how PostgreSQL's startup process can read a
// time in postgresql.conf (it cannot read zone abbreviations such as "Z"
// there: they are loaded later).
std::string FormatPostgresTimestamp(SystemTime time);
SystemTime ParseTimestamp(const std::string& text);    // inverse of FormatTimestamp
std::string FormatDuration(double seconds);            // 1h02m03s, 4.2s
// A timestamp as a user or PostgreSQL writes it, with an explicit zone:
// "2026-11-24 13:53:00.123456+00", "...T13:53:00Z", "...+05:30". nullopt if
// it does not parse, names a date or time that does not exist (day 31 of
// November, 24:00, second 60) or has no zone; then `problem`, if given, says
// which part is wrong.
std::optional<SystemTime> ParseTimestampWithZone(const std::string& text, std::string* problem = nullptr);

}  // namespace pgvault
