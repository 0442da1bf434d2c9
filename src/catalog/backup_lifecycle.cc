#include "catalog/backup_lifecycle.h"

#include <chrono>

#include <fmt/format.h>

#include "core/process_identity.h"
#include "core/timestamp.h"

namespace pgvault {

using nlohmann::json;

bool BackupPhaseTerminal(const std::string& phase) { return phase == "completed" || phase == "failed"; }

bool BackupAbandoned(const json& b) {
  const json& st = b.value("status", json::object());
  if (BackupPhaseTerminal(st.value("phase", ""))) return false;
  if (!st.contains("owner")) return false;  // not started yet by a process that records itself
  const json& o = st["owner"];
  return !ProcessAlive(ProcessIdentity{o.value("host", ""), o.value("pid", int64_t{0}),
                                       o.value("startTicks", uint64_t{0})});
}

void FailAbandonedBackups(Catalog& catalog) {
  for (json b : catalog.ListBackups()) {
    if (!BackupAbandoned(b)) continue;
    const json& o = b["status"]["owner"];
    std::string reason = fmt::format("the pgvault process {} on {} ended before the backup did (phase {}): killed or "
                                     "crashed; 'pgvault delete backup {}' removes what it left",
                                     o.value("pid", int64_t{0}), o.value("host", ""), b["status"].value("phase", ""),
                                     b["metadata"].value("name", ""));
    b["status"]["phase"] = "failed";
    b["status"]["error"] = reason;
    b["status"]["stoppedAt"] = FormatTimestamp(std::chrono::system_clock::now());
    catalog.SaveBackup(b);
    catalog.AddEvent("Backup", b["metadata"].value("name", ""), "Warning", "BackupFailed", reason);
  }
}

}  // namespace pgvault
