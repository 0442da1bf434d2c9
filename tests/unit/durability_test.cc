// Which directories the POSIX storage fsyncs. fsync is interposed for the
// whole unit test binary: it records the path of each descriptor it is given
// (while a test asks it to) and then calls the C library's fsync.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/posix_storage.h"

using namespace pgvault;
namespace fs = std::filesystem;

namespace {

std::mutex g_fsync_mutex;
bool g_recording = false;
std::vector<std::string> g_fsynced;

void StartRecording() {
  std::lock_guard lock(g_fsync_mutex);
  g_recording = true;
  g_fsynced.clear();
}

std::vector<std::string> StopRecording() {
  std::lock_guard lock(g_fsync_mutex);
  g_recording = false;
  return std::move(g_fsynced);
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::canonical(fs::temp_directory_path()) / ("pgvault-unit-" + std::to_string(std::random_device{}()));
    fs::create_directories(tmp_);
  }
  void TearDown() override {
    StopRecording();
    fs::remove_all(tmp_);
  }
  std::string tmp_;
};

}  // namespace

extern "C" int fsync(int fd) {
  using Fsync = int (*)(int);
  static Fsync real = reinterpret_cast<Fsync>(dlsym(RTLD_NEXT, "fsync"));
  {
    std::lock_guard lock(g_fsync_mutex);
    if (g_recording) {
      char target[4096];
      ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target);
      g_fsynced.emplace_back(target, n > 0 ? static_cast<size_t>(n) : 0);
    }
  }
  return real(fd);
}

TEST_F(DurabilityTest, NewDirectoriesAreFsyncedInTheirParents) {
  std::string root = tmp_ + "/new/repo";  // neither level exists yet
  PosixStorage storage(root);
  StartRecording();
  storage.Write("packs/ab/ab01.pack", "x");
  auto fsynced = StopRecording();
  for (const std::string& dir : {tmp_, tmp_ + "/new", root, root + "/packs", root + "/packs/ab"})
    EXPECT_TRUE(Contains(fsynced, dir)) << dir << " was not fsynced";

  StartRecording();
  storage.Write("packs/ab/ab02.pack", "y");
  fsynced = StopRecording();
  EXPECT_FALSE(Contains(fsynced, root + "/packs")) << "a directory's entry is made durable once per process";
  EXPECT_TRUE(Contains(fsynced, root + "/packs/ab")) << "the rename must still be made durable";
}

TEST_F(DurabilityTest, DirectoriesLeftByAKilledWriterAreFsyncedOnFirstUse) {
  // As if a writer was killed between mkdir and the fsync of the parent.
  fs::create_directories(tmp_ + "/index");
  PosixStorage storage(tmp_);
  StartRecording();
  storage.Write("index/0123.json.zst", "x");
  auto fsynced = StopRecording();
  EXPECT_TRUE(Contains(fsynced, tmp_)) << "index/ was not made durable in the repository root";
  EXPECT_FALSE(Contains(fsynced, fs::path(tmp_).parent_path().string())) << "the root's own parent is not ours";
}

TEST_F(DurabilityTest, RemovalsAreDurableOncePerDirectory) {
  PosixStorage storage(tmp_);
  storage.Write("packs/ab/ab01.pack", "x");
  storage.Write("packs/ab/ab02.pack", "y");
  storage.Write("packs/cd/cd01.pack", "z");
  storage.Write("backups/1F/manifest.json", "m");
  // gc orders its removals (index files before their packs, a manifest before
  // its file list): each must be on disk before the next one starts.
  StartRecording();
  storage.Remove("backups/1F/manifest.json");
  auto fsynced = StopRecording();
  EXPECT_TRUE(Contains(fsynced, tmp_ + "/backups/1F")) << "Remove() returned before the unlink was durable";

  StartRecording();
  storage.RemoveObjects({"packs/ab/ab01.pack", "packs/ab/ab02.pack", "packs/cd/cd01.pack", "packs/ef/gone.pack"});
  fsynced = StopRecording();
  EXPECT_EQ(std::count(fsynced.begin(), fsynced.end(), tmp_ + "/packs/ab"), 1) << "one fsync per directory";
  EXPECT_TRUE(Contains(fsynced, tmp_ + "/packs/cd"));
  EXPECT_FALSE(fs::exists(tmp_ + "/packs/ab/ab01.pack"));

  StartRecording();
  storage.RemoveEmptyDirectories("packs");
  fsynced = StopRecording();
  EXPECT_FALSE(fs::exists(tmp_ + "/packs/ab"));
  EXPECT_FALSE(fs::exists(tmp_ + "/packs/cd"));
  EXPECT_TRUE(fs::exists(tmp_ + "/packs")) << "the prefix itself stays";
  EXPECT_TRUE(Contains(fsynced, tmp_ + "/packs")) << "an rmdir must be durable too";
  // A writer that saw the directory before it went makes it again.
  storage.Write("packs/ab/ab03.pack", "w");
  EXPECT_TRUE(fs::exists(tmp_ + "/packs/ab/ab03.pack"));
}
