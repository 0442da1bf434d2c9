// `pgvault delete KIND NAME`: removes an applied object.
//   backup            the backup itself (delete_backup_command.h)
//   scheduledbackup   the schedule; the Backups it made stay
//   cluster           refused while a ScheduledBackup or a running backup
//                     needs it; its Backups stay (they restore without it)
//   volumesnapshotclass  refused while a cluster names it
#pragma once

#include <string>

namespace pgvault {

struct DeleteOptions {
  std::string state_dir;
  std::string kind;
  std::string name;
};

std::string RunDelete(const DeleteOptions& options);

}  // namespace pgvault
