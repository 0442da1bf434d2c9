#include "pg/backup_label.h"

#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

BackupLabel ParseBackupLabel(const std::string& text) {
  BackupLabel label;
  std::istringstream in(text);
  std::string line;
  bool have_start = false, have_checkpoint = false;
  while (std::getline(in, line)) {
    char lsn[64], file[64], from[32];
    unsigned tli;
    if (std::sscanf(line.c_str(), "START WAL LOCATION: %63s (file %63[0-9A-F])", lsn, file) == 2) {
      label.start_lsn = ParseLsn(lsn);
      label.start_wal = file;
      have_start = true;
    } else if (std::sscanf(line.c_str(), "CHECKPOINT LOCATION: %63s", lsn) == 1) {
      label.checkpoint_lsn = ParseLsn(lsn);
      have_checkpoint = true;
    } else if (std::sscanf(line.c_str(), "START TIMELINE: %u", &tli) == 1) {
      label.start_timeline = tli;
    } else if (std::sscanf(line.c_str(), "BACKUP FROM: %31s", from) == 1) {
      label.backup_from = from;
    }
  }
  if (!have_start || !have_checkpoint) throw Error("backup_label returned by the server is incomplete:\n" + text);
  if (label.start_timeline == 0 && label.start_wal.size() == 24)
    label.start_timeline = static_cast<uint32_t>(std::stoul(label.start_wal.substr(0, 8), nullptr, 16));
  return label;
}

}  // namespace pgvault
