// Editing a repository's metadata as a careful forger (or a test) would:
// a manifest replaced by another, sealed again (sealed_json.h) and recorded
// in the backup history, so that what the test exercises is the value it
// changed, not the seal or the history. Header-only: unit and integration
// tests use it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "repo/backup_history.h"
#include "repo/sealed_json.h"
#include "storage/storage.h"

namespace pgvault::test {

// Writes `manifest` (sealed) as backup `id`'s manifest and records its hash in
// history.json, as if pgvault had committed it.
inline void ReplaceManifest(Storage& storage, const std::string& id, const nlohmann::json& manifest) {
  std::string text = SealJson(manifest);
  storage.Write("backups/" + id + "/manifest.json", text);
  BackupHistory history = BackupHistory::FromText(storage.Read("history.json"), "history.json");
  if (const HistoryEntry* e = history.Find(id)) {
    HistoryEntry updated = *e;
    updated.manifest_sha256 = DigestHex(Sha256(text));
    history.Put(updated);
    storage.Write("history.json", history.ToText());
  }
}

// Forgets backup `id` in history.json, as delete-backup does before it
// removes the manifest.
inline void ForgetInHistory(Storage& storage, const std::string& id) {
  BackupHistory history = BackupHistory::FromText(storage.Read("history.json"), "history.json");
  history.Remove(id);
  storage.Write("history.json", history.ToText());
}

}  // namespace pgvault::test
