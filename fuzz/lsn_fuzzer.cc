// libFuzzer target: ParseLsn, an LSN as text ("16/B374D848") from a user or a file.
#include "pg/lsn.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::ParseLsn(pgvault::fuzz::Text(data, size)); });
  return 0;
}
