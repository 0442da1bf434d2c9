// A real deployment under umask 000: the postgres OS user runs repo init, a
// backup of a PostgreSQL 15 primary and wal-push (as archive_command), each
// with umask 000. The repository holds only 0700 directories and 0600 files
// (the root too), and with `repo init --group-read` only 0750 and 0640.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "support/pg_cluster.h"
#include "support/pgvault_cli.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace pgvault::test {
namespace {

namespace fs = std::filesystem;

// `pgvault ARGS` as postgres through a shell that sets umask 000 first.
RunResult PgvaultUmask000(const std::string& args) {
  return RunAsPostgres({"sh", "-c", fmt::format("umask 000 && exec {} {}", PGVAULT_BINARY, args)});
}

// Every entry under `root` (and root) whose mode is not the expected one.
std::vector<std::string> WrongModes(const std::string& root, mode_t directory_mode, mode_t file_mode,
                                    size_t& files, size_t& directories) {
  std::vector<std::string> wrong;
  auto check = [&](const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;  // removed meanwhile
    mode_t expected = S_ISDIR(st.st_mode) ? directory_mode : file_mode;
    (S_ISDIR(st.st_mode) ? directories : files)++;
    if ((st.st_mode & 07777) != expected || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
      wrong.push_back(fmt::format("{} {:04o}", path, st.st_mode & 07777));
  };
  check(root);
  for (const auto& entry : fs::recursive_directory_iterator(root)) check(entry.path().string());
  return wrong;
}

TEST(RepositoryPermissions, InitBackupAndWalPushUnderUmask000) {
  TempDir tmp;
  const std::string owner_repo = tmp / "owner-repo", group_repo = tmp / "group-repo";
  ASSERT_EQ(PgvaultUmask000("repo init --repo " + owner_repo).exit_code, 0);
  ASSERT_EQ(PgvaultUmask000("repo init --group-read --repo " + group_repo).exit_code, 0);
  // PostgreSQL runs archive_command through a shell, with its own umask (077):
  // the command sets 000 again, as a careless setup would.
  std::string push = fmt::format("{} wal-push --repo ", PGVAULT_BINARY);
  auto pg = PgCluster::Create(
      tmp / "primary", {"archive_mode = on", fmt::format("archive_command = 'umask 000 && {}{} %p && {}{} %p'", push,
                                                         owner_repo, push, group_repo)});
  pg->Start();
  pg->Exec("CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 10000) g");
  for (const std::string& repo : {owner_repo, group_repo}) {
    RunResult backup = PgvaultUmask000(
        fmt::format("backup --repo {} --pgdata {} --pg '{}' --json", repo, pg->datadir(), pg->Conninfo()));
    ASSERT_EQ(backup.exit_code, 0) << backup.err;
  }
  std::string segment = pg->Value("SELECT pg_walfile_name(pg_switch_wal())");
  bool archived = false;
  for (int i = 0; i < 600 && !archived; ++i) {
    archived = pg->Value("SELECT coalesce(last_archived_wal, '') >= '" + segment + "' FROM pg_stat_archiver") == "t";
    if (!archived) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(archived) << pg->Log();
  // The archive of the owner-only repository is there, and so are the backups.
  ASSERT_TRUE(fs::exists(owner_repo + "/wal/" + segment.substr(0, 16) + "/" + segment));
  ASSERT_TRUE(fs::exists(owner_repo + "/lock"));

  size_t files = 0, directories = 0;
  EXPECT_EQ(WrongModes(owner_repo, 0700, 0600, files, directories), std::vector<std::string>{});
  EXPECT_GE(files, 6u);  // config.json, lock, a pack, an index, a file list, a manifest, WAL
  EXPECT_GE(directories, 6u);
  files = directories = 0;
  EXPECT_EQ(WrongModes(group_repo, 0750, 0640, files, directories), std::vector<std::string>{});
  EXPECT_GE(files, 6u);
  EXPECT_GE(directories, 6u);
}

}  // namespace
}  // namespace pgvault::test
