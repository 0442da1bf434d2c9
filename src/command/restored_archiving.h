// Whether a restored copy will archive its WAL, and where. A copy started with
// the source's archive_command pushes its own timeline into the source's
// repository, where a later point-in-time recovery (timeline "latest") follows
// that fork and fails. `restore --archive-mode off` turns archiving off in the
// copy; with the default (preserve) restore says when a copy in a new
// directory would archive into the repository it came from.
#pragma once

#include <string>

namespace pgvault {

enum class ArchiveMode { kPreserve, kOff };

// "off" or "preserve" (pgBackRest's --archive-mode); UsageError otherwise.
ArchiveMode ParseArchiveMode(const std::string& text);
const char* ArchiveModeName(ArchiveMode mode);

// Appends `archive_mode = off` to postgresql.auto.conf in `data_directory`
// (where restore writes recovery settings, read after postgresql.conf, so it
// wins), commenting out an archive_mode set there before. The file keeps the
// data directory's owner.
void WriteArchiveModeOff(const std::string& data_directory, const std::string& backup_id);

// What the restored configuration in `data_directory` (postgresql.conf with
// its includes, then postgresql.auto.conf) says about archiving into
// `repo_location`: a warning in words for the user, or "" when the copy will
// not archive there. Configuration kept outside the data directory (Debian's
// /etc/postgresql/...) cannot be seen; the warning then says so.
std::string WarnIfArchivingIntoRepository(const std::string& data_directory, const std::string& repo_location);

}  // namespace pgvault
