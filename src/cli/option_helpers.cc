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

void RefuseEmptyValues(CLI::App* app) {
  // CLI11 hands "" over as the value, and an empty string is how the commands
  // say "not given": `--target-time ""` (an unset variable in a script) would
  // silently become a restore without a target.
  CLI::Validator non_empty(
      [](std::string& value) {
        return value.empty() ? std::string("an empty value is not allowed: give a value or leave the option out")
                             : std::string();
      },
      "", "NON_EMPTY");
  for (CLI::Option* option : app->get_options())
    if (option->get_type_size() != 0) option->check(non_empty);
}

}  // namespace pgvault::cli
