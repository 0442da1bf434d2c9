// libFuzzer target: ParseBackupLabel, the backup_label PostgreSQL returns (and a restored data directory holds).
#include "pg/backup_label.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::ParseBackupLabel(pgvault::fuzz::Text(data, size)); });
  return 0;
}
