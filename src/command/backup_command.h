// `pgvault backup`: a hot, full, self-contained base backup of a running
// PostgreSQL instance (primary or standby) into a repository.
#pragma once

#include <cstddef>
#include <functional>
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
  // With WAL archiving in use (the server's archive_command runs wal-push, or
  // the repository holds archived WAL), wait until the segment holding the
  // backup's end is archived, so that point-in-time recovery can start from
  // this backup at once. On timeout the backup is kept, marked with a
  // warning, and the command fails.
  bool wait_for_archive = true;
  int archive_timeout_seconds = 60;
  // How a chunk already in the repository is proven sound before this backup
  // reuses it (repo/chunk_reuse_check.h): "pack" (its pack exists and its
  // trailer lists it), "read" (and its stored bytes hash to its id), or
  // "auto": read for directories, pack for object stores.
  std::string reuse_check = "auto";
  // Told when the backup enters a phase of CloudNativePG's lifecycle:
  // "running" once pg_backup_start returned, "finalizing" once
  // pg_backup_stop did (WAL, archive wait, commit). The runner of Backup
  // objects records them.
  std::function<void(const std::string& phase)> on_phase;
};

// Runs the backup and returns the committed manifest. Throws pgvault::Error
// with a one-line reason on failure; nothing partial becomes visible.
BackupManifest RunBackup(const BackupOptions& options);

}  // namespace pgvault
