// libFuzzer target: BackupManifest::FromJson, a backup's manifest as stored.
#include "repo/backup_manifest.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::BackupManifest::FromJson(pgvault::fuzz::Text(data, size), "manifest"); });
  return 0;
}
