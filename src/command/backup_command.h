// `pgvault backup`: a hot, full, self-contained base backup of a running
// PostgreSQL instance (primary or standby) into a repository.
#pragma once

#include <cstddef>
#include <string>

#include "repo/backup_manifest.h"

namespace pgvault {

struct BackupOptions {
  std::string repo;
  std::string pgdata;
  std::string conninfo;
  std::string compress = "zstd";
  int compress_level = 1;
  size_t jobs = 0;  // 0 = number of cores
  bool fast_checkpoint = true;
  std::string label;
  bool progress = true;
};

// Runs the backup and returns the committed manifest. Throws pgvault::Error
// with a one-line reason on failure; nothing partial becomes visible.
BackupManifest RunBackup(const BackupOptions& options);

}  // namespace pgvault
