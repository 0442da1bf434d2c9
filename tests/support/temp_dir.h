// A scratch directory for one test, removed when the test ends (pass or fail).
// Owned by postgres when running as root, so servers can live inside it.
#pragma once

#include <string>

namespace pgvault::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "pgvault-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Gives `path` (recursively) to the postgres user when running as root.
void ChownToPostgres(const std::string& path);

}  // namespace pgvault::test
