// What restore can tell from a restored configuration about a copy archiving
// into the repository it came from, and the archive_mode it writes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "command/restored_archiving.h"
#include "core/error.h"

using namespace pgvault;
namespace fs = std::filesystem;

namespace {

class RestoredArchiving : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("restored-archiving-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string Warning() { return WarnIfArchivingIntoRepository(dir_.string(), "/srv/repo"); }
  fs::path dir_;
};

}  // namespace

TEST_F(RestoredArchiving, WarnsWhenTheCopyPushesIntoThisRepository) {
  Write("postgresql.conf", "archive_mode = on\narchive_command = '/usr/bin/pgvault wal-push --repo /srv/repo %p'\n");
  Write("postgresql.auto.conf", "");
  EXPECT_NE(Warning().find("into the repository it was restored from (/srv/repo)"), std::string::npos);
  // The same repository spelled with a trailing slash, or as --repo=...
  Write("postgresql.conf", "archive_mode on\narchive_command = 'pgvault wal-push --repo=/srv/repo/ %p' # x\n");
  EXPECT_NE(Warning().find("--archive-mode off"), std::string::npos);
  // wal-push without --repo: the repository comes from PGVAULT_REPO.
  Write("postgresql.conf", "archive_mode = always\narchive_command = 'pgvault wal-push %p'\n");
  EXPECT_FALSE(Warning().empty());
  // Through an include.
  Write("postgresql.conf", "include 'archiving.conf'\n");
  Write("archiving.conf", "archive_mode = 'on'\narchive_command = 'pgvault wal-push --repo /srv/repo %p'\n");
  EXPECT_FALSE(Warning().empty());
}

TEST_F(RestoredArchiving, SilentWhenTheCopyArchivesNowhereOrElsewhere) {
  Write("postgresql.conf", "archive_mode = on\narchive_command = 'pgvault wal-push --repo /srv/repo %p'\n");
  Write("postgresql.auto.conf", "archive_mode = 'off'\n");  // read last: wins
  EXPECT_EQ(Warning(), "");
  Write("postgresql.auto.conf", "");
  Write("postgresql.conf", "archive_mode = on\narchive_command = 'pgvault wal-push --repo /srv/repo2 %p'\n");
  EXPECT_EQ(Warning(), "");
  Write("postgresql.conf", "archive_mode = on\narchive_command = 'cp %p /mnt/archive/%f'\n");
  EXPECT_EQ(Warning(), "");
  Write("postgresql.conf", "#archive_mode = on\nshared_buffers = 128MB\n");  // default: off
  EXPECT_EQ(Warning(), "");
}

TEST_F(RestoredArchiving, SaysWhatItCannotSeeWhenTheConfigurationLivesElsewhere) {
  Write("postgresql.auto.conf", "");  // Debian: postgresql.conf is in /etc/postgresql/15/main
  std::string w = Warning();
  EXPECT_NE(w.find("cannot tell"), std::string::npos) << w;
  EXPECT_NE(w.find("/etc/postgresql"), std::string::npos) << w;
  EXPECT_NE(w.find("--archive-mode off"), std::string::npos) << w;
}

TEST_F(RestoredArchiving, WriteArchiveModeOffWinsOverEarlierSettings) {
  Write("postgresql.auto.conf", "work_mem = '8MB'\narchive_mode = 'on'\n");
  WriteArchiveModeOff(dir_.string(), "B1");
  std::string text = Read("postgresql.auto.conf");
  EXPECT_NE(text.find("work_mem = '8MB'\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# disabled by pgvault restore --archive-mode off: archive_mode = 'on'\n"), std::string::npos)
      << text;
  EXPECT_TRUE(text.ends_with("archive_mode = 'off'\n")) << text;
  Write("postgresql.conf", "archive_mode = on\narchive_command = 'pgvault wal-push --repo /srv/repo %p'\n");
  EXPECT_EQ(Warning(), "");
  EXPECT_THROW(ParseArchiveMode("on"), UsageError);
  EXPECT_EQ(ParseArchiveMode("off"), ArchiveMode::kOff);
}
