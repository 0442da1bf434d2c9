// `pgvault verify`: re-reads every chunk of one or all backups and checks
// every hash, naming the files that are damaged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgvault {

struct VerifyOptions {
  std::string repo;
  std::string backup;  // empty: all backups
  size_t jobs = 0;
  bool progress = true;
};

struct VerifyProblem {
  std::string backup_id;
  std::string path;     // file in the backup, or the repository object (manifest, file list)
  std::string message;  // same wording restore uses
};

struct VerifyResult {
  uint64_t backups = 0;  // backups whose manifest could be read, and so were checked
  uint64_t chunks_checked = 0;
  uint64_t bytes_checked = 0;
  uint64_t wal_files_checked = 0;  // archived WAL files read and checked (all-backups runs only)
  std::vector<VerifyProblem> problems;
};

VerifyResult RunVerify(const VerifyOptions& options);

}  // namespace pgvault
