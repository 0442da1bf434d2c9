// What of a data directory goes into a base backup, following PostgreSQL's own
// base backup (src/backend/backup/basebackup.c) and pgBackRest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgvault {

struct SourceEntry {
  std::string path;      // relative to PGDATA, '/'-separated
  std::string absolute;  // where to read it (follows pg_tblspc links)
  enum class Kind { kFile, kDirectory, kSymlink } kind = Kind::kFile;
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime = 0;
  uint32_t uid = 0, gid = 0;
  std::string link_target;
  bool checksummed = false;    // a relation file whose pages carry checksums
  uint32_t segment_number = 0;  // "16384.2" -> 2, for absolute block numbers
};

// Walks PGDATA (and every tablespace through pg_tblspc) and returns what a
// backup must contain. Directories whose contents PostgreSQL rebuilds are
// returned empty; pg_wal is returned empty (WAL is stored separately).
// Files that vanish during the walk are skipped.
std::vector<SourceEntry> ScanDataDirectory(const std::string& pgdata);

// True for names like "16384", "16384_fsm", "16384.1": relation files whose
// pages carry checksums. Sets `segment` to the segment number.
bool IsRelationFileName(const std::string& name, uint32_t* segment);

}  // namespace pgvault
