// libFuzzer target: BackupHistory::FromText, the repository's backup history.
#include "repo/backup_history.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::BackupHistory::FromText(pgvault::fuzz::Text(data, size), "history"); });
  return 0;
}
