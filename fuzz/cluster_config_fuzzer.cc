// libFuzzer target: ParseClusterConfig, the cluster file (YAML, several documents).
#include "cluster/cluster_spec.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::ParseClusterConfig(pgvault::fuzz::Text(data, size), "cluster.yaml"); });
  return 0;
}
