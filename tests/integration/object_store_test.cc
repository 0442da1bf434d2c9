// The engine's and the WAL archive's end-to-end checks on object-store
// repositories, against real servers started by the tests: Swift's s3api
// (verifies SigV4, Content-MD5, multipart rules), s3rver, and Azurite
// (verifies SharedKey). Then faults injected by a proxy, and the errors a user
// meets first: wrong credentials, a missing bucket, an unreachable endpoint.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "storage/storage.h"
#include "support/dataset.h"
#include "support/file_bytes.h"
#include "support/object_store_backend.h"
#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/temp_dir.h"

using namespace pgvault::test;
namespace fs = std::filesystem;

namespace {

long HistoryCount(PgCluster& pg) { return std::stol(pg.Value("SELECT count(*) FROM pgbench_history")); }

// Waits until the server has archived everything up to a fresh segment switch.
void SwitchAndWaitForArchive(PgCluster& pg) {
  std::string last = pg.Value("SELECT pg_walfile_name(pg_switch_wal())");
  for (int i = 0; i < 1200; ++i) {
    if (pg.Value("SELECT coalesce(last_archived_wal, '') >= '" + last + "' FROM pg_stat_archiver") == "t") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "segment " << last << " was not archived in 120 s; server log:\n" << pg.Log();
}

// Starts a restored copy (no archiving of its own), waits until recovery
// ended, and returns it.
std::unique_ptr<PgCluster> StartRestored(const std::string& dir) {
  std::ofstream(dir + "/postgresql.auto.conf", std::ios::app) << "archive_mode = off\n";
  auto pg = PgCluster::Adopt(dir);
  pg->Start();
  for (int i = 0; i < 1200 && pg->Value("SELECT pg_is_in_recovery()") == "t"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return pg;
}

std::string Markers(PgCluster& pg) {
  return pg.Value("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker");
}

// An environment variable set for one scope of a test, restored (unset) on
// the way out even when an assertion throws, so later tests never see it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

std::string Ids(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += (out.empty() ? "" : ",") + std::to_string(i);
  return out;
}

class ObjectStoreRepository : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = ObjectStoreServersUnavailable()) GTEST_SKIP() << "SKIPPED (object-store tests): " << *why;
    backend_ = ObjectStoreBackend::Start(GetParam());
  }
  std::unique_ptr<ObjectStoreBackend> backend_;
};

// Backup under load with parallel uploads, async WAL push, verify, a plain
// restore with data checks, a point-in-time restore through wal-fetch with
// prefetch, duplicate and foreign WAL refused, a flipped byte found by verify.
TEST_P(ObjectStoreRepository, BackupRestorePitrAndWalRulesEndToEnd) {
  TempDir tmp;
  std::string creds = backend_->WriteCredentialsFile("creds");
  std::string repo = backend_->Url("cluster1");
  auto pv = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--repo-credentials", creds});
    return args;
  };
  {
    RunResult init = Pgvault(pv({"repo", "init", "--repo", repo, "--log-level", "debug"}));
    ASSERT_EQ(init.exit_code, 0) << init.err << "\n" << backend_->Logs();
  }

  auto pg = PgCluster::Create(tmp / "primary",
                              {"archive_mode = on",
                               std::string("archive_command = '") + PGVAULT_BINARY +
                                   " wal-push --async --repo-credentials " + creds + " --repo " + repo + " %p'",
                               "track_commit_timestamp = on"});
  pg->Start();
  BuildDataset(*pg, 5, 24, "");  // 24 MiB of random bytes: packs above the 16 MiB part size
  auto static_sums = StaticChecksums(*pg, false);
  pg->Exec("CREATE TABLE marker (id int PRIMARY KEY)");

  auto load = pg->StartPgbenchLoad(300);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long before = HistoryCount(*pg);
  auto backup = PgvaultJson(pv({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo(),
                                "--jobs", "4"}));
  long after = HistoryCount(*pg);
  EXPECT_GT(after, before) << "the load was not running during the backup";
  EXPECT_EQ(backup["status"], "complete");
  // Markers after the backup; the PITR target is marker 5's commit.
  std::string target_time;
  for (int i = 1; i <= 10; ++i) {
    std::string xid = pg->Value("INSERT INTO marker VALUES (" + std::to_string(i) + ") RETURNING xmin::text");
    if (i == 5)
      target_time = pg->Value("SELECT to_char(pg_xact_commit_timestamp('" + xid +
                              "'::xid) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  load.reset();
  auto history = HistoryRows(*pg);
  SwitchAndWaitForArchive(*pg);

  auto list = PgvaultJson(pv({"list", "--repo", repo}));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], backup["id"]);
  RunResult verify = Pgvault(pv({"verify", "--repo", repo}));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  {
    SCOPED_TRACE("plain restore: consistent at the backup's end");
    PgvaultJson(pv({"restore", "--repo", repo, "--target", tmp / "plain", "--jobs", "4"}));
    auto restored = StartRestored(tmp / "plain");
    for (const auto& [table, sum] : static_sums) EXPECT_EQ(TableChecksum(*restored, table), sum) << table;
    EXPECT_EQ(Markers(*restored), "");
    ExpectPgbenchConsistentWith(*restored, history, before, after);
    ExpectAmcheckAndChecksumsClean(*restored);
  }
  {
    SCOPED_TRACE("point-in-time restore through wal-fetch --prefetch");
    PgvaultJson(pv({"restore", "--repo", repo, "--target", tmp / "pitr", "--target-time", target_time,
                    "--wal-prefetch", "4"}));
    std::string conf = ReadFile(tmp / "pitr/postgresql.auto.conf");
    EXPECT_NE(conf.find("--repo-credentials " + creds), std::string::npos) << conf;
    EXPECT_EQ(conf.find("AWS_SECRET"), std::string::npos);
    auto restored = StartRestored(tmp / "pitr");
    EXPECT_EQ(Markers(*restored), Ids(1, 5)) << restored->Log();
    for (const auto& [table, sum] : static_sums) EXPECT_EQ(TableChecksum(*restored, table), sum) << table;
    EXPECT_EQ(restored->Value("SELECT (SELECT sum(abalance) FROM pgbench_accounts) = "
                              "(SELECT coalesce(sum(delta), 0) FROM pgbench_history)"),
              "t");
    ExpectAmcheckAndChecksumsClean(*restored);
  }
  {
    SCOPED_TRACE("duplicate and foreign WAL");
    auto wal = PgvaultJson(pv({"wal", "list", "--repo", repo}));
    // A segment still in pg_wal that is archived: pushing it again is a no-op.
    std::string segment;
    for (const auto& entry : fs::directory_iterator(pg->datadir() + "/pg_wal")) {
      std::string name = entry.path().filename();
      if (name.size() == 24 && fs::exists(pg->datadir() + "/pg_wal/archive_status/" + name + ".done")) {
        segment = name;
        break;
      }
    }
    ASSERT_FALSE(segment.empty());
    std::string content = ReadFile(pg->datadir() + "/pg_wal/" + segment);
    RunResult again = Pgvault(pv({"wal-push", "--repo", repo, pg->datadir() + "/pg_wal/" + segment}));
    EXPECT_EQ(again.exit_code, 0) << again.err;
    // The same name with other content: refused, the archived copy kept.
    fs::create_directories(tmp / "altered");
    std::string altered = content;
    altered[content.size() / 2] ^= 0x5a;
    std::ofstream(tmp / "altered/" + segment, std::ios::binary) << altered;
    RunResult different = Pgvault(pv({"wal-push", "--repo", repo, tmp / "altered/" + segment}));
    EXPECT_NE(different.exit_code, 0);
    EXPECT_NE(different.err.find("different content"), std::string::npos) << different.err;
    // Another cluster's segment (system identifier in the long page header).
    std::string foreign = content;
    for (int i = 24; i < 32; ++i) foreign[i] ^= 0x33;
    fs::create_directories(tmp / "foreign");
    std::ofstream(tmp / "foreign/" + segment, std::ios::binary) << foreign;
    RunResult other = Pgvault(pv({"wal-push", "--repo", repo, tmp / "foreign/" + segment}));
    EXPECT_NE(other.exit_code, 0);
    EXPECT_NE(other.err.find("system identifier"), std::string::npos) << other.err;
    // The archived segment is still the original.
    RunResult fetch = Pgvault(pv({"wal-fetch", "--repo", repo, segment, tmp / "fetched"}));
    ASSERT_EQ(fetch.exit_code, 0) << fetch.err;
    EXPECT_TRUE(ReadFile(tmp / "fetched") == content);
  }
  {
    SCOPED_TRACE("a flipped byte in a pack is found by verify");
    backend_->UseInThisProcess();
    auto storage = pgvault::OpenStorage(repo);
    std::string pack;
    for (const auto& o : storage->List("packs"))
      if (o.size > (1u << 20)) pack = o.path;
    ASSERT_FALSE(pack.empty());
    std::string original = storage->Read(pack);
    std::string damaged = original;
    damaged[original.size() / 3] ^= 0x01;
    storage->Write(pack, damaged);
    RunResult bad = Pgvault(pv({"verify", "--repo", repo}));
    EXPECT_NE(bad.exit_code, 0);
    EXPECT_NE((bad.out + bad.err).find(pack.substr(pack.rfind('/') + 1)), std::string::npos) << bad.out << bad.err;
    storage->Write(pack, original);
    RunResult good = Pgvault(pv({"verify", "--repo", repo}));
    EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ObjectStoreRepository, ::testing::Values("swift", "s3rver", "azurite"),
                         [](const auto& info) { return info.param; });

}  // namespace

namespace {

// A fraction of requests answered 500/503, reset, or delayed past the stall
// timeout: every command still succeeds through retries. Then every request
// fails: commands fail cleanly, naming the endpoint, and the repository stays
// valid.
TEST(ObjectStoreFaults, RetriesCarryBackupWalAndRestoreThroughAndTotalFailureIsClean) {
  if (auto why = ObjectStoreServersUnavailable()) GTEST_SKIP() << "SKIPPED (object-store tests): " << *why;
  TempDir tmp;
  auto backend = ObjectStoreBackend::Start("swift");
  // A fixed seed: the same sequence of faults in every run.
  FaultProxy proxy(backend->endpoint(), 0.10, 3, 20261125);
  // A transfer without progress for 2 s is abandoned and retried: the proxy's
  // 3 s delays are hung transfers to pgvault.
  std::string creds = backend->WriteCredentialsFile("creds", proxy.endpoint());
  { std::ofstream(creds, std::ios::app) << "PGVAULT_REPO_TIMEOUT=2\n"; }
  std::string repo = backend->Url("faults");
  auto pv = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--repo-credentials", creds});
    return args;
  };
  {
    RunResult init = Pgvault(pv({"repo", "init", "--repo", repo, "--log-level", "debug"}));
    ASSERT_EQ(init.exit_code, 0) << init.err << "\n" << proxy.Log();
  }
  auto pg = PgCluster::Create(tmp / "primary",
                              {"archive_mode = on", std::string("archive_command = '") + PGVAULT_BINARY +
                                                        " wal-push --repo-credentials " + creds + " --repo " + repo +
                                                        " %p'"});
  pg->Start();
  BuildDataset(*pg, 5, 24, "");
  auto static_sums = StaticChecksums(*pg, false);
  auto backup = PgvaultJson(pv({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo(),
                                "--jobs", "4"}));
  EXPECT_EQ(backup["status"], "complete");
  pg->Exec("CREATE TABLE after_backup AS SELECT g FROM generate_series(1, 1000) g");
  std::string after_lsn = pg->Value("SELECT pg_current_wal_lsn()::text");
  SwitchAndWaitForArchive(*pg);
  RunResult verify = Pgvault(pv({"verify", "--repo", repo}));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  PgvaultJson(pv({"restore", "--repo", repo, "--target", tmp / "restored", "--jobs", "4", "--target-immediate"}));
  {
    auto restored = StartRestored(tmp / "restored");
    for (const auto& [table, sum] : static_sums) EXPECT_EQ(TableChecksum(*restored, table), sum) << table;
    ExpectAmcheckAndChecksumsClean(*restored);
  }
  // The archived WAL replays in full through the faults too.
  PgvaultJson(pv({"restore", "--repo", repo, "--target", tmp / "latest", "--jobs", "4", "--target-timeline",
                  "latest", "--wal-prefetch", "2", "--target-lsn", after_lsn}));
  {
    auto restored = StartRestored(tmp / "latest");
    EXPECT_EQ(restored->Value("SELECT count(*) FROM after_backup"), "1000") << restored->Log();
  }
  auto counts = proxy.fault_counts();
  int faults = proxy.faults_injected();
  // About 250 requests at 10 %: ~25 faults expected; fewer than 10 would
  // prove little (and is far outside chance).
  EXPECT_GE(faults, 10) << "too few faults to prove anything: " << proxy.requests() << " requests";
  EXPECT_GT(counts["delay"], 0);
  EXPECT_GT(counts["500"] + counts["503"], 0);

  // Every request fails now: few retries, so that giving up is quick.
  proxy.SetFailureRate(1.0);
  std::optional<ScopedEnv> few_retries;
  few_retries.emplace("PGVAULT_REPO_RETRIES", "2");
  RunResult failed = Pgvault(pv({"backup", "--repo", repo, "--pgdata", pg->datadir(), "--pg", pg->Conninfo()}));
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find(proxy.endpoint()), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("gave up after 3 attempts"), std::string::npos) << failed.err;
  std::string segment = pg->Value("SELECT pg_walfile_name(pg_current_wal_lsn())");
  fs::create_directories(tmp / "push");
  fs::copy_file(pg->datadir() + "/pg_wal/" + segment, tmp / "push/" + segment);
  RunResult push = Pgvault(pv({"wal-push", "--repo", repo, tmp / "push/" + segment}));
  EXPECT_NE(push.exit_code, 0);
  EXPECT_NE(push.err.find(proxy.endpoint()), std::string::npos) << push.err;
  RunResult restore = Pgvault(pv({"restore", "--repo", repo, "--target", tmp / "never"}));
  EXPECT_NE(restore.exit_code, 0);
  EXPECT_NE(restore.err.find(proxy.endpoint()), std::string::npos) << restore.err;
  few_retries.reset();

  // The repository is as it was: one backup, and it verifies.
  proxy.SetFailureRate(0);
  auto list = PgvaultJson(pv({"list", "--repo", repo}));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], backup["id"]);
  RunResult after = Pgvault(pv({"verify", "--repo", repo}));
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
}

// The first errors users meet: one line, naming the endpoint, saying what to
// fix, never echoing a secret.
TEST(ObjectStoreErrors, WrongCredentialsMissingBucketAndUnreachableEndpoint) {
  if (auto why = ObjectStoreServersUnavailable()) GTEST_SKIP() << "SKIPPED (object-store tests): " << *why;
  auto expect_one_line = [](const RunResult& r, const std::vector<std::string>& needles) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    std::string err = r.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    EXPECT_EQ(err.find('\n'), std::string::npos) << r.err;
    for (const auto& n : needles) EXPECT_NE(err.find(n), std::string::npos) << "'" << n << "' not in: " << err;
    EXPECT_EQ(err.find("testing"), std::string::npos) << "a secret in: " << err;
    EXPECT_EQ(err.find("Eby8vdM02"), std::string::npos) << "a secret in: " << err;
  };
  for (const char* kind : {"swift", "azurite"}) {
    SCOPED_TRACE(kind);
    auto backend = ObjectStoreBackend::Start(kind);
    std::string good = backend->WriteCredentialsFile("good");
    std::string bad = backend->WriteCredentialsFile("bad", "", true);
    RunResult init = Pgvault({"repo", "init", "--repo-credentials", good, "--repo", backend->Url("r"), "--log-level",
                              "debug"});
    ASSERT_EQ(init.exit_code, 0) << init.err << "\n" << backend->Logs();
    expect_one_line(Pgvault({"list", "--repo-credentials", bad, "--repo", backend->Url("r")}),
                    {backend->endpoint(), "HTTP 403", "check the credentials"});
    std::string missing = std::string(kind) == "swift" ? "s3://no-such-bucket/r" : "azure://no-such-container/r";
    expect_one_line(Pgvault({"list", "--repo-credentials", good, "--repo", missing}),
                    {backend->endpoint(), "does not exist", "create it first"});
    // Nothing listens on a port that was just free.
    std::string closed = "http://127.0.0.1:" + std::to_string(FreePort());
    if (std::string(kind) == "azurite") closed += "/devstoreaccount1";
    std::string unreachable = backend->WriteCredentialsFile("unreachable", closed);
    ScopedEnv one_retry("PGVAULT_REPO_RETRIES", "1");
    expect_one_line(Pgvault({"list", "--repo-credentials", unreachable, "--repo", backend->Url("r")}),
                    {closed, "gave up after 2 attempts"});
  }
  // No credentials at all.
  RunResult none = pgvault::test::Run({"env", "-u", "AWS_ACCESS_KEY_ID", "-u", "AWS_SECRET_ACCESS_KEY", "-u",
                                       "PGVAULT_REPO_CREDENTIALS", PGVAULT_BINARY, "list", "--repo", "s3://bucket/x"});
  EXPECT_NE(none.err.find("AWS_ACCESS_KEY_ID"), std::string::npos) << none.err;
}

}  // namespace
