#include "support/temp_dir.h"

#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "support/subprocess.h"

namespace pgvault::test {

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
  ::chmod(path_.c_str(), 0755);
  ChownToPostgres(path_);
}

TempDir::~TempDir() {
  if (std::getenv("PGVAULT_TEST_KEEP")) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void ChownToPostgres(const std::string& path) {
  if (!RunningAsRoot()) return;
  passwd* pw = ::getpwnam("postgres");
  if (!pw) throw std::runtime_error("running as root but there is no 'postgres' user: install postgresql-15");
  std::error_code ec;
  ::lchown(path.c_str(), pw->pw_uid, pw->pw_gid);
  if (std::filesystem::is_directory(path, ec) && !std::filesystem::is_symlink(path, ec))
    for (auto& e : std::filesystem::recursive_directory_iterator(path, ec))
      ::lchown(e.path().c_str(), pw->pw_uid, pw->pw_gid);
}

}  // namespace pgvault::test
