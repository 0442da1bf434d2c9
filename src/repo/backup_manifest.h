// A backup's manifest: its metadata (manifest.json, the commit object) and
// its file list (files.json.zst, referenced from the manifest by hash).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"

namespace pgvault {

enum class FileType { kFile, kDirectory, kSymlink };

struct FileEntry {
  std::string path;  // relative to PGDATA, '/'-separated
  FileType type = FileType::kFile;
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime = 0;  // seconds since the epoch
  uint32_t uid = 0, gid = 0;
  std::string user, group;
  std::string link_target;     // symlinks only
  std::vector<Digest> chunks;  // files only, in order; chunk i covers [i*chunk_size, ...)
  Digest checksum{};           // files only: SHA-256 over the concatenated chunk ids
};

// Checksum of a file as defined by the format: SHA-256 over the raw 32-byte
// chunk ids in order (a one-level Merkle tree, so it is computed from chunk
// ids without hashing the data twice).
Digest FileChecksum(const std::vector<Digest>& chunks);

struct TablespaceInfo {
  uint32_t oid = 0;
  std::string name;
  std::string location;  // at backup time
};

struct PageChecksumFailure {
  std::string path;
  std::string relation;  // "public.t" when it could be resolved
  uint64_t block = 0;
};

struct BackupManifest {
  std::string id;
  std::string type = "full";
  std::string method = "hot";  // hot = pg_backup_start/stop
  std::string status = "complete";  // complete | warning
  std::vector<std::string> warnings;
  std::vector<PageChecksumFailure> checksum_failures;
  std::string tool_version;

  uint64_t system_identifier = 0;
  int pg_version = 0;  // server_version_num
  uint32_t timeline = 0;
  std::string start_lsn, stop_lsn, checkpoint_lsn;
  std::string start_wal, stop_wal;
  std::string start_time, stop_time;
  // The next transaction id to be assigned when the backup stopped (the xmax
  // of a snapshot then): any xid >= this commits after the backup's end, so a
  // restore to it can start from this backup. 0 when unknown.
  uint64_t stop_next_xid = 0;
  std::string backup_label, tablespace_map;
  std::vector<TablespaceInfo> tablespaces;
  std::string backup_from;  // primary | standby
  std::string source_host, source_pgdata, source_conninfo;  // conninfo without password
  uint32_t wal_segment_size = 16 << 20;

  std::string compression;
  uint32_t chunk_size = 0;
  uint64_t size = 0;         // bytes of files in the backup
  uint64_t stored_size = 0;  // bytes this backup added to the repository
  uint64_t file_count = 0;
  uint64_t chunk_count = 0;
  std::string files_object, files_sha256;
  uint64_t files_size = 0;
  double duration_seconds = 0;

  std::string ToJson() const;
  static BackupManifest FromJson(const std::string& text, const std::string& where);
};

nlohmann::json FileListToJson(const std::vector<FileEntry>& files);
std::vector<FileEntry> FileListFromJson(const nlohmann::json& doc, const std::string& where);

}  // namespace pgvault
