// libFuzzer target: `apply -f`: ParseYamlDocuments, then per document the typed readers RunApply calls (Backup, ScheduledBackup), as it dispatches on kind.
#include <nlohmann/json.hpp>
#include "api/backup_objects.h"
#include "api/field_reader.h"
#include "api/yaml_json.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] {
    std::vector<nlohmann::json> documents = pgvault::ParseYamlDocuments(pgvault::fuzz::Text(data, size), "apply.yaml");
    for (const nlohmann::json& document : documents) {
      if (document.is_null()) continue;
      pgvault::FieldReader head(document, "apply.yaml (document 1)", "");
      std::string kind = head.RequiredString("kind");
      if (kind == "Backup") pgvault::ReadBackupManifest(document, "apply.yaml (document 1)");
      if (kind == "ScheduledBackup") pgvault::ReadScheduledBackupManifest(document, "apply.yaml (document 1)");
    }
  });
  return 0;
}
