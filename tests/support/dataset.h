// The data set of the engine's acceptance tests and the checks on a restored
// cluster: pgbench tables, a table of incompressible random bytes, and a
// table in a tablespace.
#pragma once

#include <map>
#include <string>

#include "support/pg_cluster.h"

namespace pgvault::test {

// pgbench -i -s `scale`, random_bytes (`random_mb` MiB of random bytea) and,
// when `tablespace_dir` is not empty, tablespace ts1 there holding ts_table.
void BuildDataset(PgCluster& pg, int scale, int random_mb, const std::string& tablespace_dir);

// Content checksums of the tables that no load touches.
std::map<std::string, std::string> StaticChecksums(PgCluster& pg, bool with_tablespace);

// pgbench history rows as text, sorted (a multiset).
std::vector<std::string> HistoryRows(PgCluster& pg);

// Asserts (gtest) that the restored cluster is exactly the source as of some
// point between `history_before` and `history_after` committed transactions:
// every account, teller and branch balance equals the sum of the restored
// history's deltas; every restored history row exists in the source.
void ExpectPgbenchConsistentWith(PgCluster& restored, const std::vector<std::string>& source_history,
                                 long history_before, long history_after);

// pg_amcheck on a running cluster; then, after a clean stop,
// pg_checksums --check. Leaves the cluster stopped.
void ExpectAmcheckAndChecksumsClean(PgCluster& restored);

}  // namespace pgvault::test
