// libFuzzer target: UnsealJson, every sealed JSON document read from a repository.
#include "repo/sealed_json.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::UnsealJson(pgvault::fuzz::Text(data, size), "fuzz.json"); });
  return 0;
}
