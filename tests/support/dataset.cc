#include "support/dataset.h"

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace pgvault::test {

void BuildDataset(PgCluster& pg, int scale, int random_mb, const std::string& tablespace_dir) {
  pg.PgbenchInit(scale);
  pg.Exec("CREATE EXTENSION IF NOT EXISTS pgcrypto");
  pg.Exec("CREATE TABLE random_bytes (id int PRIMARY KEY, payload bytea)");
  pg.Exec("ALTER TABLE random_bytes ALTER payload SET STORAGE EXTERNAL");
  // 8 KiB of fresh random bytes per row; the correlated subquery makes
  // PostgreSQL evaluate it for every row.
  pg.Exec("INSERT INTO random_bytes SELECT g, (SELECT string_agg(gen_random_bytes(1024), ''::bytea) "
          "FROM generate_series(1, 8) WHERE g > 0) FROM generate_series(1, " +
          std::to_string(random_mb * 128) + ") g");
  if (!tablespace_dir.empty()) {
    std::filesystem::create_directories(tablespace_dir);
    ChownToPostgres(tablespace_dir);
    pg.Exec("CREATE TABLESPACE ts1 LOCATION '" + tablespace_dir + "'");
    pg.Exec("CREATE TABLE ts_table (id int PRIMARY KEY USING INDEX TABLESPACE ts1, label text) TABLESPACE ts1");
    pg.Exec("INSERT INTO ts_table SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
  }
  pg.Exec("CHECKPOINT");
}

std::map<std::string, std::string> StaticChecksums(PgCluster& pg, bool with_tablespace) {
  std::map<std::string, std::string> out;
  out["random_bytes"] = TableChecksum(pg, "random_bytes");
  if (with_tablespace) out["ts_table"] = TableChecksum(pg, "ts_table");
  return out;
}

std::vector<std::string> HistoryRows(PgCluster& pg) {
  std::vector<std::string> rows;
  for (const auto& r : pg.Query("SELECT tid || ',' || bid || ',' || aid || ',' || delta || ',' || mtime::text "
                                "FROM pgbench_history"))
    rows.push_back(*r[0]);
  std::sort(rows.begin(), rows.end());
  return rows;
}

void ExpectPgbenchConsistentWith(PgCluster& restored, const std::vector<std::string>& source_history,
                                 long history_before, long history_after) {
  for (const auto& [table, key] : std::vector<std::pair<std::string, std::string>>{
           {"pgbench_accounts", "aid"}, {"pgbench_tellers", "tid"}, {"pgbench_branches", "bid"}}) {
    std::string prefix = table.substr(8, 1);  // a, t, b
    std::string bad = restored.Value("SELECT count(*)::text FROM " + table + " x LEFT JOIN (SELECT " + key +
                                     ", sum(delta) AS s FROM pgbench_history GROUP BY " + key + ") h USING (" + key +
                                     ") WHERE x." + prefix + "balance <> coalesce(h.s, 0)");
    EXPECT_EQ(bad, "0") << table << ": balances that differ from the restored history";
  }
  std::vector<std::string> restored_history = HistoryRows(restored);
  long n = static_cast<long>(restored_history.size());
  EXPECT_GE(n, history_before) << "transactions committed before the backup started are missing";
  EXPECT_LE(n, history_after) << "the restore holds transactions committed after the backup ended";
  EXPECT_TRUE(std::includes(source_history.begin(), source_history.end(), restored_history.begin(),
                            restored_history.end()))
      << "the restored history has rows the source never had";
  EXPECT_EQ(restored.Value("SELECT count(*)::text FROM pgbench_accounts"),
            restored.Value("SELECT (100000 * count(*))::text FROM pgbench_branches"));
}

void ExpectAmcheckAndChecksumsClean(PgCluster& restored) {
  RunResult amcheck = RunAsPostgres({PgBin("pg_amcheck"), "-h", "127.0.0.1", "-p", std::to_string(restored.port()),
                                     "-U", "postgres", "--all", "--install-missing", "--heapallindexed"});
  EXPECT_EQ(amcheck.exit_code, 0) << "pg_amcheck: " << amcheck.out << amcheck.err;
  restored.Stop("fast");
  RunResult checksums = RunAsPostgres({PgBin("pg_checksums"), "--check", "-D", restored.datadir()});
  EXPECT_EQ(checksums.exit_code, 0) << "pg_checksums: " << checksums.out << checksums.err;
  EXPECT_NE(checksums.out.find("Bad checksums:  0"), std::string::npos) << checksums.out;
}

}  // namespace pgvault::test
