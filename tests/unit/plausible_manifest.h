// A manifest with the values a reader accepts (backup_manifest.cc checks
// every one before use), for unit tests that commit backups without a server.
#pragma once

#include <string>

#include "repo/backup_manifest.h"

namespace pgvault::test {

inline BackupManifest PlausibleManifest(const std::string& id, const std::string& start_time,
                                        uint32_t chunk_size = 1 << 20) {
  BackupManifest m;
  m.id = id;
  m.start_time = m.stop_time = start_time;
  m.tool_version = "0.1.0";
  m.timeline = 1;
  m.pg_version = 150000;
  m.chunk_size = chunk_size;
  m.start_lsn = m.checkpoint_lsn = "0/2000028";
  m.stop_lsn = "0/2000100";
  m.start_wal = m.stop_wal = "000000010000000000000002";
  return m;
}

}  // namespace pgvault::test
