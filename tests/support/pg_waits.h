// Waiting for a PostgreSQL server under test to reach a state: a query's
// value, the end of recovery, streaming from the primary, a WAL segment
// archived. Each fails the calling test (with the server's log) when the
// state does not come in time.
#pragma once

#include <string>
#include <vector>

#include "support/pg_cluster.h"

namespace pgvault::test {

// Polls `sql` every 100 ms, `tenths` times (connection errors count as "not
// yet"), until it returns `want`; `what` says what was awaited.
void WaitForValue(PgCluster& pg, const std::string& sql, const std::string& want, int tenths, const std::string& what);
void WaitUntilPromoted(PgCluster& pg);      // recovery has ended (a restored cluster is open)
void WaitUntilStreaming(PgCluster& standby);  // the standby streams from its primary
// Switches WAL and waits until the segment it closed is archived.
void WaitForArchived(PgCluster& pg);

// postgresql.conf lines: archive_command = pgvault wal-push into `repo`,
// with commit timestamps (for time targets).
std::vector<std::string> ArchivingConf(const std::string& repo);

}  // namespace pgvault::test
