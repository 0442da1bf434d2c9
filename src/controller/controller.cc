#include "controller/controller.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/backup_lifecycle.h"
#include "catalog/catalog.h"
#include "cluster/cluster_config_source.h"
#include "cluster/fencing.h"
#include "command/delete_backup_command.h"
#include "command/expire_command.h"
#include "controller/backup_supervisor.h"
#include "controller/controller_metrics.h"
#include "controller/metrics_server.h"
#include "controller/schedule_reconciler.h"
#include "core/detached_process.h"
#include "core/error.h"
#include "core/interruption.h"
#include "core/timestamp.h"

namespace pgvault {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

class Controller {
 public:
  explicit Controller(const ControllerOptions& o) : o_(o) {}
  int Run();

 private:
  void Tick();
  void Recover();
  void RunPendingBackups(const ClusterConfig& config);
  void ApplyRetention(const ClusterConfig& config);
  Clock::time_point EvaluateSchedules();

  const ControllerOptions& o_;
  std::unique_ptr<Catalog> catalog_;
  std::map<std::string, std::unique_ptr<SupervisedBackup>> running_;  // by cluster
  Clock::time_point next_recovery_{};
  Clock::time_point next_wake_{};
  std::string last_config_error_;
  ControllerCounters counters_;
  std::set<std::string> retention_due_;  // clusters with a backup completed since their last expiry
  std::map<std::string, Clock::time_point> next_retention_;
};

void Controller::ApplyRetention(const ClusterConfig& config) {
  auto now = Clock::now();
  for (const auto& c : config.clusters) {
    if (!c.backup.retention.configured() || running_.count(c.name)) continue;
    auto next = next_retention_.find(c.name);
    if (!retention_due_.count(c.name) && next != next_retention_.end() && now < next->second) continue;
    retention_due_.erase(c.name);
    next_retention_[c.name] = now + o_.retention_interval;
    try {
      ExpireOptions e;
      e.config_path = o_.config_path;
      e.state_dir = o_.state_dir;
      e.cluster = c.name;
      std::string text = RenderExpire(RunExpire(e));
      spdlog::info("retention: {}", text);
    } catch (const std::exception& ex) {
      // A backup holding the repository lock, say: tried again next time.
      spdlog::warn("retention of cluster {}: {}", c.name, ex.what());
      catalog_->AddEvent("Cluster", c.name, "Warning", "RetentionFailed", ex.what());
    }
  }
}

void Controller::Recover() {
  FailAbandonedBackups(*catalog_);
  ClusterConfig config;
  try {
    config = ResolveClusterConfig(o_.config_path, *catalog_);
  } catch (const std::exception&) {
    return;  // nothing applied yet
  }
  ReleaseOrphanedFences(*catalog_, config);
  for (const auto& b : catalog_->ListBackups())
    if (b["status"].value("phase", "") == "failed" && b["status"].contains("plannedSnapshots")) {
      std::string name = b["metadata"]["name"];
      bool ours = false;
      for (const auto& [cluster, child] : running_) ours = ours || child->name() == name;
      if (ours) continue;
      try {
        DiscardPlannedSnapshots(*catalog_, name);
      } catch (const std::exception& e) {
        spdlog::error("backup {}: cannot remove the snapshots it left: {}", name, e.what());
      }
    }
}

Clock::time_point Controller::EvaluateSchedules() {
  auto now = Clock::now();
  Clock::time_point wake = now + std::chrono::seconds(60);
  for (const auto& schedule : catalog_->ListResources("ScheduledBackup")) {
    try {
      ScheduleOutcome outcome = ReconcileSchedule(*catalog_, schedule, now);
      if (!outcome.created.empty()) spdlog::info("scheduledbackup {}: created backup {}", schedule.name, outcome.created);
      if (outcome.next_time) wake = std::min(wake, *outcome.next_time);
    } catch (const std::exception& e) {
      spdlog::error("scheduledbackup {}: {}", schedule.name, e.what());
    }
  }
  return wake;
}

void Controller::RunPendingBackups(const ClusterConfig& config) {
  std::vector<json> backups = catalog_->ListBackups();  // oldest first
  for (const auto& b : backups) {
    if (b["status"].value("phase", "pending") != "pending") continue;
    std::string name = b["metadata"]["name"];
    std::string cluster = b["spec"]["cluster"].value("name", "");
    if (running_.count(cluster)) continue;
    // A backup of the cluster started elsewhere (pgvault backup, apply
    // --wait) also keeps this one waiting: one at a time.
    bool busy = false;
    for (const auto& other : backups)
      if (other["spec"]["cluster"].value("name", "") == cluster &&
          !BackupPhaseTerminal(other["status"].value("phase", "pending")) &&
          other["status"].value("phase", "pending") != "pending")
        busy = true;
    if (busy) continue;
    try {
      config.Cluster(cluster);
    } catch (const std::exception& e) {
      FailBackup(*catalog_, name, e.what());
      continue;
    }
    try {
      running_[cluster] = SupervisedBackup::Start(o_.program, o_.child_args, name, cluster);
      counters_.backups_started++;
    } catch (const std::exception& e) {
      FailBackup(*catalog_, name, e.what());
    }
  }
}

void Controller::Tick() {
  auto now = Clock::now();
  if (now >= next_recovery_) {
    Recover();
    next_recovery_ = now + std::chrono::seconds(30);
  } else {
    FailAbandonedBackups(*catalog_);
  }
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second->Poll(*catalog_)) {
      auto b = catalog_->LoadBackup(it->second->name());
      std::string phase = b ? (*b)["status"].value("phase", "?") : "gone";
      spdlog::info("backup {}: {}", it->second->name(), phase);
      if (phase != "completed") counters_.backups_failed++;
      else retention_due_.insert(it->second->cluster());
      it = running_.erase(it);
      next_recovery_ = Clock::now();  // a failed backup may have left a fence or snapshots
    } else {
      ++it;
    }
  }
  next_wake_ = EvaluateSchedules();
  ClusterConfig config;
  try {
    config = ResolveClusterConfig(o_.config_path, *catalog_);
    last_config_error_.clear();
  } catch (const std::exception& e) {
    if (e.what() != last_config_error_) spdlog::warn("{}", e.what());
    last_config_error_ = e.what();
    return;
  }
  ApplyRetention(config);
  RunPendingBackups(config);
}

int Controller::Run() {
  catalog_ = Catalog::Open(o_.state_dir);
  std::error_code ec;
  std::filesystem::create_directories(o_.state_dir + "/locks", ec);
  std::string lock_path = o_.state_dir + "/locks/controller.lock";
  UniqueFd lock = TryLockFile(lock_path);
  if (!lock.valid())
    throw Error(fmt::format("another pgvault controller runs on the state directory {} (it holds {})", o_.state_dir,
                            lock_path));
  std::unique_ptr<MetricsServer> metrics;
  if (!o_.metrics_addr.empty()) {
    metrics = std::make_unique<MetricsServer>(
        o_.metrics_addr, [this] { return RenderControllerMetrics(o_.state_dir, o_.config_path, counters_); });
    metrics->Start();
  }
  InstallInterruptHandlers();
  spdlog::info("controller started on {} (pid {})", catalog_->path(), ::getpid());
  while (InterruptSignal() == 0) {
    try {
      Tick();
    } catch (const std::exception& e) {
      spdlog::error("controller: {}", e.what());
    }
    // Sleep until the next schedule is due, but look at the world every tick.
    auto until = std::min(next_wake_, Clock::now() + o_.tick);
    while (InterruptSignal() == 0 && Clock::now() < until)
      std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(100)));
  }
  int sig = InterruptSignal();
  spdlog::info("controller: SIG{} received; stopping {} running backup(s)", sigabbrev_np(sig), running_.size());
  for (auto& [cluster, child] : running_) child->Terminate(fmt::format("the controller is stopping (SIG{})", sigabbrev_np(sig)));
  auto give_up = std::chrono::steady_clock::now() + SupervisedBackup::kGracePeriod + std::chrono::seconds(5);
  while (!running_.empty() && std::chrono::steady_clock::now() < give_up) {
    for (auto it = running_.begin(); it != running_.end();)
      it = it->second->Poll(*catalog_) ? running_.erase(it) : std::next(it);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return 0;
}

}  // namespace

int RunController(const ControllerOptions& options) { return Controller(options).Run(); }

}  // namespace pgvault
