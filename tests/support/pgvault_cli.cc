#include "support/pgvault_cli.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include <gtest/gtest.h>

namespace pgvault::test {

RunResult Pgvault(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {PGVAULT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

nlohmann::json PgvaultJson(const std::vector<std::string>& args) {
  std::vector<std::string> with_json = args;
  with_json.push_back("--json");
  RunResult r = Pgvault(with_json);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "pgvault failed (" << r.exit_code << "): " << r.err << r.out;
    throw std::runtime_error("pgvault failed: " + r.err);
  }
  return nlohmann::json::parse(r.out);
}

std::vector<std::string> TreeListing(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    std::string line = e.path().string();
    if (e.is_regular_file()) line += " " + std::to_string(e.file_size());
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pgvault::test
