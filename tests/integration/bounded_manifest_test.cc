// `pgvault apply -f` of a YAML alias bomb, of a document nested too deep (YAML
// or JSON) and of an oversized file: each exits non-zero at once with an
// error naming the file and the limit, and writes nothing (no state
// directory, no catalog). No PostgreSQL is needed.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "support/pgvault_cli.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace pgvault::test {
namespace {

std::string WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

TEST(BoundedManifest, ApplyOfABombADeepAndAHugeFileFailsFastAndWritesNothing) {
  TempDir tmp;
  std::string state = tmp / "state";
  std::string bomb = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 8; ++i) {
    bomb += fmt::format("x{}: &a{} [", i, i);
    for (int j = 0; j < 10; ++j) bomb += fmt::format("{}*a{}", j ? ", " : "", i - 1);
    bomb += "]\n";
  }
  std::string deep_json;
  for (int i = 0; i < 50000; ++i) deep_json += "{\"kind\": ";
  deep_json += "1" + std::string(50000, '}');
  struct Case {
    std::string file, expected;
  };
  std::vector<Case> cases = {
      {WriteFile(tmp / "bomb.yaml", bomb), "more than 100000 values"},
      {WriteFile(tmp / "deep.json", deep_json), "nest more than 64 deep"},
      {WriteFile(tmp / "huge.yaml", "kind: Cluster\nx: \"" + std::string(6 << 20, 'x') + "\"\n"), "4 MiB"},
  };
  for (const auto& c : cases) {
    auto start = std::chrono::steady_clock::now();
    RunResult r = Pgvault({"--state-dir", state, "apply", "-f", c.file});
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.exit_code, 1) << c.file << ": " << r.err.substr(0, 500);
    EXPECT_NE(r.err.find(c.file), std::string::npos) << "the error does not name the file: " << r.err.substr(0, 500);
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err.substr(0, 500);
    EXPECT_EQ(r.err.find("bad_alloc"), std::string::npos) << r.err.substr(0, 500);
    EXPECT_EQ(r.out, "");
    EXPECT_LT(elapsed, std::chrono::seconds(10)) << c.file;
    EXPECT_FALSE(std::filesystem::exists(state)) << "apply wrote state for " << c.file;
  }
}

}  // namespace
}  // namespace pgvault::test
