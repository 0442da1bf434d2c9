#include "cli/command_groups.h"
#include "core/error.h"

namespace pgvault::cli {

void AddRepoOption(CLI::App* app, std::string& repo, bool required) {
  auto* option = app->add_option("--repo", repo, "Repository: a directory, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or azure://CONTAINER/PREFIX; default $PGVAULT_REPO")
                     ->envname("PGVAULT_REPO");
  if (required) option->required();
}

std::optional<bool> ParseBoolOption(const std::string& name, const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (value == "true" || value == "on" || value == "yes" || value == "1") return true;
  if (value == "false" || value == "off" || value == "no" || value == "0") return false;
  throw UsageError(fmt::format("{}={}: use true or false", name, value));
}

}  // namespace pgvault::cli
