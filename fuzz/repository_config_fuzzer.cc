// libFuzzer target: RepositoryConfig::FromJson, the repository's config document.
#include "repo/repository_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::RepositoryConfig::FromJson(pgvault::fuzz::Text(data, size), "config"); });
  return 0;
}
