// Which PostgreSQL majors pgvault backs up, and what differs between them.
// Every version test lives here: commands ask a ServerVersion what a server
// has, they never compare version numbers themselves.
#pragma once

#include <string>

namespace pgvault {

inline constexpr int kOldestSupportedMajor = 14;
// The newest major the version matrix tests (tests/integration/version_matrix_test.cc).
inline constexpr int kNewestSupportedMajor = 18;

struct ServerVersion {
  int num = 0;  // server_version_num, e.g. 170004

  int major() const { return num / 10000; }
  // "17.4" (from 10 on, the minor is the last two digits).
  std::string Name() const;
  // 15 renamed the non-exclusive backup functions: pg_start_backup(label,
  // fast, exclusive => false) and pg_stop_backup(exclusive => false, wait)
  // before it, pg_backup_start and pg_backup_stop from it.
  bool has_pg_backup_start() const { return major() >= 15; }
  // 17: WAL summaries (summarize_wal), the base of incremental backups.
  bool has_wal_summaries() const { return major() >= 17; }
};

// Throws Error naming `server`, its version and the supported range when
// pgvault does not support it; called before anything is written.
void CheckSupportedServer(const ServerVersion& version, const std::string& server);

}  // namespace pgvault
