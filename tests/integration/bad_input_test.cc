// Bad input: one clear line on stderr, a non-zero exit, nothing written.
#include <filesystem>

#include <gtest/gtest.h>

#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

namespace {

void ExpectOneLineError(const RunResult& r, const std::string& must_contain) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "expected exactly one line:\n" << r.err;
  EXPECT_TRUE(r.err.starts_with("pgvault: error: ")) << r.err;
  EXPECT_NE(r.err.find(must_contain), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = PgCluster::Create(tmp_ / "primary");
    pg_->Start();
    ASSERT_EQ(Pgvault({"repo", "init", "--repo", repo_}).exit_code, 0);
    repo_before_ = TreeListing(repo_);
  }
  void ExpectRepoUnchanged() { EXPECT_EQ(TreeListing(repo_), repo_before_); }
  TempDir tmp_;
  std::string repo_ = tmp_ / "repo";
  std::unique_ptr<PgCluster> pg_;
  std::vector<std::string> repo_before_;
};

}  // namespace

TEST_F(BadInput, MissingRepository) {
  std::string missing = tmp_ / "no-such-repo";
  ExpectOneLineError(Pgvault({"backup", "--repo", missing, "--pgdata", pg_->datadir(), "--pg", pg_->Conninfo()}),
                     "no pgvault repository at " + missing);
  EXPECT_FALSE(fs::exists(missing));
  ExpectOneLineError(Pgvault({"list", "--repo", missing}), "repo init");
  ExpectOneLineError(Pgvault({"restore", "--repo", missing, "--target", tmp_ / "t"}), "no pgvault repository");
  EXPECT_FALSE(fs::exists(tmp_ / "t"));
}

TEST_F(BadInput, UnparsableConnectionString) {
  ExpectOneLineError(Pgvault({"backup", "--repo", repo_, "--pgdata", pg_->datadir(), "--pg", "hots=127.0.0.1"}),
                     "invalid connection string");
  ExpectRepoUnchanged();
}

TEST_F(BadInput, UnreachableServer) {
  int port = FreePort();
  ExpectOneLineError(Pgvault({"backup", "--repo", repo_, "--pgdata", pg_->datadir(), "--pg",
                              "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres connect_timeout=5"}),
                     "cannot connect to PostgreSQL at 127.0.0.1:" + std::to_string(port));
  ExpectRepoUnchanged();
}

TEST_F(BadInput, PgdataOfAnotherCluster) {
  auto other = PgCluster::Create(tmp_ / "other");  // initdb only: a different system identifier
  ExpectOneLineError(Pgvault({"backup", "--repo", repo_, "--pgdata", other->datadir(), "--pg", pg_->Conninfo()}),
                     "system identifier");
  ExpectRepoUnchanged();
}

TEST_F(BadInput, DirectoryThatIsNotPostgres) {
  fs::create_directories(tmp_ / "not-pg");
  ExpectOneLineError(Pgvault({"backup", "--repo", repo_, "--pgdata", tmp_ / "not-pg", "--pg", pg_->Conninfo()}),
                     "is not a PostgreSQL data directory");
  ExpectRepoUnchanged();
}

TEST_F(BadInput, UnknownBackupId) {
  ExpectOneLineError(Pgvault({"restore", "--repo", repo_, "--backup", "20990101T000000F", "--target", tmp_ / "t"}),
                     "does not exist");
  EXPECT_FALSE(fs::exists(tmp_ / "t"));
}

TEST_F(BadInput, RepoInitRefusesAnExistingRepository) {
  ExpectOneLineError(Pgvault({"repo", "init", "--repo", repo_}), "already exists");
  ExpectRepoUnchanged();
}

TEST_F(BadInput, UsageErrorsExitTwo) {
  EXPECT_EQ(Pgvault({"backup", "--repo", repo_}).exit_code, 2);
  EXPECT_EQ(Pgvault({"frobnicate"}).exit_code, 2);
  // Bad option values the parser cannot see are usage errors too.
  EXPECT_EQ(Pgvault({"repo", "init", "--repo", tmp_ / "other", "--chunk-size", "5"}).exit_code, 2);
  EXPECT_FALSE(fs::exists(tmp_ / "other"));
  EXPECT_EQ(Pgvault({"restore", "--repo", repo_, "--target", tmp_ / "t", "--delta", "--force"}).exit_code, 2);
  EXPECT_EQ(Pgvault({"restore", "--repo", repo_, "--target", tmp_ / "t", "--tablespace-map", "nonsense"}).exit_code, 2);
  EXPECT_FALSE(fs::exists(tmp_ / "t"));
  // Global options may follow the command.
  RunResult list = Pgvault({"list", "--repo", repo_, "--no-progress", "--log-level", "error"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
}

TEST_F(BadInput, PgdataOfTheStandbyWithTheConnectionOfThePrimary) {
  // Same system identifier, different server: must still be refused.
  auto standby = PgCluster::CreateStandby(*pg_, tmp_ / "standby");
  ExpectOneLineError(Pgvault({"backup", "--repo", repo_, "--pgdata", standby->datadir(), "--pg", pg_->Conninfo()}),
                     "is not the data directory of the server at 127.0.0.1:" + std::to_string(pg_->port()));
  ExpectRepoUnchanged();
}
