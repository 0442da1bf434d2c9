// ScheduledBackup objects: when one is due, make one Backup (pending) for
// the controller to run. CloudNativePG's mechanics, without its traps:
//  - the first evaluation only records lastCheckTime (and, with
//    `immediate: true`, makes a Backup at once);
//  - afterwards a Backup is due at Next(lastCheckTime); while an earlier
//    Backup of the same schedule has not ended, none is made (no pile-up),
//    and the due one is made as soon as it has;
//  - after downtime, missed runs become ONE catch-up Backup, named after the
//    latest missed time; none is back-filled;
//  - `suspend: true` makes none and moves lastCheckTime along, so resuming
//    does not catch up on the suspended period.
// Backups are named <schedule>-<YYYYMMDDhhmmss> (the nominal time, UTC) and
// labelled cnpg.io/cluster, cnpg.io/scheduled-backup, cnpg.io/immediateBackup.
#pragma once

#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "core/timestamp.h"

namespace pgvault {

struct ScheduleOutcome {
  std::string created;                  // the Backup made, "" if none
  std::optional<SystemTime> next_time;  // when this schedule wants to be looked at again
};

ScheduleOutcome ReconcileSchedule(Catalog& catalog, const ResourceRecord& schedule, SystemTime now);

// nextScheduleTime as `get scheduledbackup` shows it when no controller has
// evaluated the schedule yet: the next activation after `now`.
std::string NextScheduleTimeText(const ResourceRecord& schedule, SystemTime now);

}  // namespace pgvault
