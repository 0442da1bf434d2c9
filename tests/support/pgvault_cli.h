// Running the pgvault binary under test.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/subprocess.h"

namespace pgvault::test {

RunResult Pgvault(const std::vector<std::string>& args);
// Runs with --json, expects exit 0 and returns the parsed output.
nlohmann::json PgvaultJson(const std::vector<std::string>& args);
// All files under `dir` with their sizes, for "nothing was written" checks.
std::vector<std::string> TreeListing(const std::string& dir);

}  // namespace pgvault::test
