// A whole file mapped read-only into memory.
//
// wal-push hashes and compresses a 16 MiB segment and nothing else: reading it
// into a growing buffer costs more than the work itself (page faults on fresh
// memory, copies). A mapping shares the page cache's pages instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgvault {

class MappedFile {
 public:
  // Maps `path`; throws Error naming it when it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Valid while this object lives. The file must not change meanwhile
  // (PostgreSQL does not touch a segment it handed to archive_command).
  std::string_view data() const { return {static_cast<const char*>(address_), size_}; }

 private:
  void* address_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pgvault
