#include "support/pg_waits.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace pgvault::test {

void WaitForValue(PgCluster& pg, const std::string& sql, const std::string& want, int tenths,
                  const std::string& what) {
  for (int i = 0; i < tenths; ++i) {
    try {
      if (pg.Value(sql) == want) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << what << "\n" << pg.Log();
}

void WaitUntilPromoted(PgCluster& pg) {
  WaitForValue(pg, "SELECT pg_is_in_recovery()", "f", 1200, "restored cluster did not finish recovery");
}

void WaitUntilStreaming(PgCluster& standby) {
  WaitForValue(standby, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), '')", "streaming", 600,
               "standby is not streaming");
}

void WaitForArchived(PgCluster& pg) {
  std::string last = pg.Value("SELECT pg_walfile_name(pg_switch_wal())");
  for (int i = 0; i < 600; ++i) {
    if (pg.Value("SELECT coalesce(last_archived_wal, '') >= '" + last + "' FROM pg_stat_archiver") == "t") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "segment " << last << " was not archived\n" << pg.Log();
}

std::vector<std::string> ArchivingConf(const std::string& repo) {
  return {"archive_mode = on", std::string("archive_command = '") + PGVAULT_BINARY + " wal-push --repo " + repo + " %p'",
          "track_commit_timestamp = on"};
}

}  // namespace pgvault::test
