#include "catalog/backup_lifecycle.h"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "api/backup_objects.h"
#include "core/detached_process.h"
#include "core/duration_text.h"
#include "core/error.h"
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

bool FailBackup(Catalog& catalog, const std::string& name, const std::string& reason) {
  Catalog::Transaction t(catalog);
  auto b = catalog.LoadBackup(name);
  if (!b || BackupPhaseTerminal((*b)["status"].value("phase", ""))) return false;
  (*b)["status"]["phase"] = "failed";
  (*b)["status"]["error"] = reason;
  (*b)["status"]["stoppedAt"] = FormatTimestamp(std::chrono::system_clock::now());
  catalog.SaveBackup(*b);
  catalog.AddEvent("Backup", name, "Warning", "BackupFailed", reason);
  t.Commit();
  return true;
}

UniqueFd LockClusterBackups(const std::string& state_dir, const std::string& cluster) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir + "/locks", ec);
  std::string lock_path = state_dir + "/locks/backup-" + cluster + ".lock";
  UniqueFd lock = TryLockFile(lock_path);
  if (!lock.valid())
    throw Error(fmt::format("another backup of cluster {} is running (it holds {}): wait for it to end "
                            "(pgvault get backup)",
                            cluster, lock_path));
  return lock;
}

void FailAbandonedBackups(Catalog& catalog) {
  auto now = std::chrono::system_clock::now();
  for (json b : catalog.ListBackups()) {
    std::string name = b["metadata"].value("name", "");
    if (b["status"].value("phase", "pending") == "pending") {
      auto deadline = PhaseDeadline(b, "pending");
      std::string since = catalog.BackupPhaseSince(name);
      if (since.empty()) since = b["metadata"].value("creationTimestamp", "");
      SystemTime t0;
      try {
        t0 = ParseTimestamp(since);
      } catch (const std::exception&) {
        continue;
      }
      if (now - t0 > deadline)
        FailBackup(catalog, name,
                   fmt::format("pending for more than {} (pgvault.io/deadline.pending): no controller started it; "
                               "run 'pgvault controller', or apply it with --wait",
                               FormatDuration(static_cast<double>(deadline.count()))));
      continue;
    }
    if (!BackupAbandoned(b)) continue;
    const json& o = b["status"]["owner"];
    std::string reason = fmt::format("the pgvault process {} on {} ended before the backup did (phase {}): killed or "
                                     "crashed; 'pgvault delete backup {}' removes what it left",
                                     o.value("pid", int64_t{0}), o.value("host", ""), b["status"].value("phase", ""),
                                     name);
    FailBackup(catalog, name, reason);
  }
}

}  // namespace pgvault
