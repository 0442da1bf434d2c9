#include "controller/backup_waiter.h"

#include <thread>

#include <fmt/format.h>

#include "catalog/backup_lifecycle.h"
#include "controller/backup_supervisor.h"
#include "core/error.h"
#include "core/interruption.h"

namespace pgvault {

using nlohmann::json;

json RunBackupAndWait(Catalog& catalog, const std::string& program, const std::vector<std::string>& args,
                      const std::string& name, const std::function<void(const json&)>& on_change) {
  auto backup = catalog.LoadBackup(name);
  if (!backup) throw Error(fmt::format("no backup named {}", name));
  std::unique_ptr<SupervisedBackup> child;
  if ((*backup)["status"].value("phase", "pending") == "pending")
    child = SupervisedBackup::Start(program, args, name, (*backup)["spec"]["cluster"].value("name", ""));
  std::string last_phase;
  while (true) {
    bool child_done = !child || child->Poll(catalog);
    if (int sig = InterruptSignal(); sig != 0 && child) child->Terminate(fmt::format("apply --wait was interrupted"));
    FailAbandonedBackups(catalog);
    backup = catalog.LoadBackup(name);
    if (!backup) throw Error(fmt::format("backup {} was deleted while it ran", name));
    std::string phase = (*backup)["status"].value("phase", "pending");
    if (phase != last_phase) {
      on_change(*backup);
      last_phase = phase;
    }
    if (BackupPhaseTerminal(phase) && child_done) return *backup;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace pgvault
