// Fields of a backup_label file (as returned by pg_backup_stop).
#pragma once

#include <cstdint>
#include <string>

#include "pg/lsn.h"

namespace pgvault {

struct BackupLabel {
  Lsn start_lsn = 0;
  std::string start_wal;  // segment file name
  Lsn checkpoint_lsn = 0;
  uint32_t start_timeline = 0;
  std::string backup_from;  // primary | standby
};

// Throws pgvault::Error if a required line is missing.
BackupLabel ParseBackupLabel(const std::string& text);

}  // namespace pgvault
