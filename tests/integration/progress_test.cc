// Progress is drawn on a terminal and absent otherwise.
#include <gtest/gtest.h>

#include "support/dataset.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;

TEST(Progress, ShownOnATerminalOnlyAndLogLevelWorks) {
  TempDir tmp;
  auto pg = PgCluster::Create(tmp / "primary");
  pg->Start();
  BuildDataset(*pg, 2, 8, "");
  std::string repo = tmp / "repo";
  ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo}).exit_code, 0);
  // script(1) gives pgvault a pseudo-terminal.
  std::string command = ShellQuote(PGVAULT_BINARY) + " backup --repo " + ShellQuote(repo) + " --pgdata " +
                        ShellQuote(pg->datadir()) + " --pg " + ShellQuote(pg->Conninfo());
  RunResult tty = pgvault::test::Run({"script", "-qec", command, "/dev/null"});
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("backup: "), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("/s"), std::string::npos) << "no rate shown: " << tty.out;

  RunResult piped = Pgvault({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  ASSERT_EQ(piped.exit_code, 0);
  EXPECT_TRUE(piped.err.empty()) << "output that is not a terminal must stay quiet: " << piped.err;

  RunResult verbose =
      Pgvault({"--log-level", "info", "backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()});
  ASSERT_EQ(verbose.exit_code, 0);
  EXPECT_NE(verbose.err.find("starting backup on 127.0.0.1"), std::string::npos) << verbose.err;
  EXPECT_EQ(Pgvault({"--log-level", "loud", "list", "--repo", repo}).exit_code, 2);
}
