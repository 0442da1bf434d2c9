#include "cluster/fencing.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cluster/instance_control.h"
#include "core/error.h"
#include "core/process_identity.h"
#include "core/timestamp.h"

namespace pgvault {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

bool FenceOwnerAlive(const FenceRecord& f) {
  if (f.owner_pid == 0) return true;  // `fence on`: held until `fence off`
  return ProcessAlive(ProcessIdentity{f.owner_host, f.owner_pid, f.owner_start});
}

std::string DescribeFence(const FenceRecord& f) {
  if (f.owner_pid == 0) return fmt::format("fenced by 'pgvault fence on' since {}", f.since);
  if (FenceOwnerAlive(f))
    return fmt::format("fenced by pgvault pid {} on {} ({}) since {}", f.owner_pid, f.owner_host, f.reason, f.since);
  return fmt::format("fenced since {} by pgvault pid {} ({}), which is no longer running: the instance stays stopped "
                     "until 'pgvault fence off {}'",
                     f.since, f.owner_pid, f.reason, f.instance);
}

void FenceInstance(Catalog& catalog, const ClusterSpec& cluster, const InstanceSpec& instance,
                   const std::string& reason, bool owned, const std::string& event_kind,
                   const std::string& event_object) {
  FenceRecord f;
  f.cluster = cluster.name;
  f.instance = instance.name;
  f.reason = reason;
  f.since = FormatTimestamp(std::chrono::system_clock::now());
  f.owner_host = HostName();
  if (owned) {
    ProcessIdentity me = CurrentProcess();
    f.owner_pid = me.pid;
    f.owner_start = me.start_ticks;
  }
  if (auto existing = catalog.AddFence(f))
    throw Error(fmt::format("instance {} is already {}", instance.name, DescribeFence(*existing)));
  std::string message = fmt::format("Fencing instance {}", instance.name);
  catalog.AddEvent(event_kind, event_object, "Normal", "FencePod", message);
  if (event_kind != "Instance") catalog.AddEvent("Instance", instance.name, "Normal", "FencePod", message);
  spdlog::info("{} ({})", message, reason);
  try {
    StopInstance(instance);
  } catch (const std::exception& e) {
    spdlog::error("stopping instance {} failed: {}; starting it again", instance.name, e.what());
    try {
      // pg_ctl gives up waiting while the shutdown goes on: let it finish
      // (or not) before starting, or the start would find it still running.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(instance.stop_timeout_seconds);
      while (InstanceRunning(instance) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      StartInstance(instance, false);
      catalog.RemoveFence(instance.name);
      catalog.AddEvent(event_kind, event_object, "Warning", "UnfencePod",
                       fmt::format("Unfencing instance {} after a failed stop", instance.name));
    } catch (const std::exception& again) {
      spdlog::error("instance {} could not be started again ({}); it stays fenced: check it, then run "
                    "'pgvault fence off {}'",
                    instance.name, again.what(), instance.name);
    }
    throw;
  }
}

void UnfenceInstance(Catalog& catalog, const InstanceSpec& instance, bool interruptible,
                     const std::string& event_kind, const std::string& event_object) {
  StartInstance(instance, interruptible);
  catalog.RemoveFence(instance.name);
  std::string message = fmt::format("Unfencing instance {}", instance.name);
  catalog.AddEvent(event_kind, event_object, "Normal", "UnfencePod", message);
  if (event_kind != "Instance") catalog.AddEvent("Instance", instance.name, "Normal", "UnfencePod", message);
  spdlog::info("{}", message);
}

std::vector<std::string> ReleaseOrphanedFences(Catalog& catalog, const ClusterConfig& config) {
  std::vector<std::string> out;
  for (const auto& f : catalog.ListFences()) {
    if (f.owner_pid == 0 || FenceOwnerAlive(f)) continue;
    const InstanceSpec* instance = nullptr;
    for (const auto& c : config.clusters)
      for (const auto& i : c.instances)
        if (i.name == f.instance) instance = &i;
    if (!instance) {
      out.push_back(fmt::format("instance {} is fenced by a dead process but is in no cluster any more: start it by "
                                "hand, then 'pgvault fence off {}'",
                                f.instance, f.instance));
      continue;
    }
    // The reason of a backup's fence is "backup NAME".
    std::string backup = f.reason.rfind("backup ", 0) == 0 ? f.reason.substr(7) : "";
    std::string message = fmt::format("Releasing the fence of instance {} left by pgvault pid {} ({}), which ended",
                                      f.instance, f.owner_pid, f.reason);
    spdlog::warn("{}", message);
    catalog.AddEvent("Instance", f.instance, "Warning", "OrphanedFence", message);
    try {
      UnfenceInstance(catalog, *instance, false, backup.empty() ? "Instance" : "Backup",
                      backup.empty() ? f.instance : backup);
      out.push_back(fmt::format("instance {}: fence left by pid {} released; the instance serves again", f.instance,
                                f.owner_pid));
    } catch (const std::exception& e) {
      std::string failure = fmt::format("instance {}: fence left by pid {} could not be released: {}", f.instance,
                                        f.owner_pid, e.what());
      spdlog::error("{}", failure);
      catalog.AddEvent("Instance", f.instance, "Warning", "UnfenceFailed", failure);
      out.push_back(failure);
    }
  }
  return out;
}

FenceGuard::FenceGuard(Catalog& catalog, const ClusterSpec& cluster, const InstanceSpec& instance,
                       const std::string& reason, const std::string& event_kind, const std::string& event_object)
    : catalog_(catalog), instance_(instance), event_kind_(event_kind), event_object_(event_object) {
  started_ = Now();
  FenceInstance(catalog, cluster, instance, reason, true, event_kind, event_object);
}

FenceGuard::~FenceGuard() {
  if (!active_) return;
  try {
    Unfence();
  } catch (const std::exception& e) {
    spdlog::error("could not bring instance {} back: {}; it stays fenced: fix it, then run 'pgvault fence off {}'",
                  instance_.name, e.what(), instance_.name);
  }
}

void FenceGuard::Unfence() {
  if (!active_) return;
  active_ = false;
  // Never interruptible: a second Ctrl-C must not leave the instance down.
  UnfenceInstance(catalog_, instance_, false, event_kind_, event_object_);
  fence_seconds_ = Now() - started_;
}

}  // namespace pgvault
