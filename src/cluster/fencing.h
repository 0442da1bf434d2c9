// Fencing: an instance taken out of service on purpose (cleanly stopped) and
// recorded as such in the catalog, so that nothing restarts it meanwhile and
// an operator can see who fenced it and why. A cold backup fences its target
// for the duration of the snapshots; `pgvault fence on|off` does it by hand.
//
// A fence held by a backup names the pgvault process that holds it. If that
// process dies (SIGKILL, a crash) the fence stays, and `pgvault status` shows
// it as orphaned until `pgvault fence off` clears it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "cluster/cluster_spec.h"

namespace pgvault {

// Whether the process that holds a fence is still running (same pid, same
// start time, same host). Fences from `fence on` have no owner: held.
bool FenceOwnerAlive(const FenceRecord& fence);
// "held by pgvault pid 123 (backup X) since ..." or "left by pgvault pid 123, which is no longer running ...".
std::string DescribeFence(const FenceRecord& fence);

// Records the fence (refusing an instance fenced already), adds the event
// "Fencing instance X" to `event_kind`/`event_object` and to the instance,
// then stops the instance. If the stop fails, the instance is started again
// and the fence removed before the error is thrown. `owned`: the fence
// belongs to this process (a backup); otherwise it lasts until `fence off`.
void FenceInstance(Catalog& catalog, const ClusterSpec& cluster, const InstanceSpec& instance,
                   const std::string& reason, bool owned, const std::string& event_kind,
                   const std::string& event_object);

// Starts the instance, waits until it serves (a standby: streams), then
// removes the fence and records "Unfencing instance X". Throws when the
// instance does not come back; the fence then stays recorded.
void UnfenceInstance(Catalog& catalog, const InstanceSpec& instance, bool interruptible,
                     const std::string& event_kind, const std::string& event_object);

// Fences left by backup processes that are gone (a controller and its backup
// killed with SIGKILL, a crash): starts each such instance again and clears
// its fence, with events on the instance and on the backup named in the
// fence. Fences set by `fence on` stay. Returns one line per fence it
// released or failed to release (failures are also logged; it tries again
// on the next call).
std::vector<std::string> ReleaseOrphanedFences(Catalog& catalog, const ClusterConfig& config);

// Unfences on destruction unless Release()d: every way out of a cold backup,
// including errors and interrupts, brings the instance back.
class FenceGuard {
 public:
  FenceGuard(Catalog& catalog, const ClusterSpec& cluster, const InstanceSpec& instance, const std::string& reason,
             const std::string& event_kind, const std::string& event_object);
  ~FenceGuard();
  FenceGuard(const FenceGuard&) = delete;
  FenceGuard& operator=(const FenceGuard&) = delete;
  // Unfences now (throws if the instance does not come back).
  void Unfence();
  // Seconds between the stop and the instance serving again.
  double fence_seconds() const { return fence_seconds_; }

 private:
  Catalog& catalog_;
  const InstanceSpec& instance_;
  std::string event_kind_, event_object_;
  bool active_ = true;
  double started_ = 0;
  double fence_seconds_ = 0;
};

}  // namespace pgvault
