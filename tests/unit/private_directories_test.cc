// Spools of WAL (wal-push --async, wal-fetch --prefetch) are private to the
// cluster's owner whatever the umask, as the repository is.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

#include "core/posix_io.h"

namespace pgvault {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(PrivateDirectories, MadeLevelsAre0700UnderUmask000AndExistingOnesKeepTheirMode) {
  std::string root = (std::filesystem::temp_directory_path() / ("pgvault-unit-" + std::to_string(std::random_device{}())))
                         .string();
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(root.c_str(), 0755), 0);
  mode_t old = ::umask(0);
  CreatePrivateDirectories(root + "/spool/done");
  CreatePrivateDirectories(root + "/spool/done");  // again: nothing to do
  ::umask(old);
  EXPECT_EQ(ModeOf(root), 0755u);
  EXPECT_EQ(ModeOf(root + "/spool"), 0700u);
  EXPECT_EQ(ModeOf(root + "/spool/done"), 0700u);
  // A file where a directory should be: an error naming it.
  ASSERT_EQ(::mkdir((root + "/x").c_str(), 0700), 0);
  { std::FILE* f = std::fopen((root + "/x/file").c_str(), "w"); ASSERT_NE(f, nullptr); std::fclose(f); }
  try {
    CreatePrivateDirectories(root + "/x/file/sub");
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(root + "/x/file"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace pgvault
