// libFuzzer target: FileListFromJson, a backup's file list (paths included) from any JSON document.
#include <nlohmann/json.hpp>
#include "repo/backup_manifest.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Bytes that are not JSON at all are the JSON reader's business, not the file list's.
  nlohmann::json doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::FileListFromJson(doc, "files"); });
  return 0;
}
