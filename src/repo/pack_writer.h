// PackWriter: appends compressed chunks to a pack object and commits it when
// it reaches the target size. One writer per backup worker, so workers never
// contend on a pack; each committed pack is reported through records().
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "repo/chunk_index.h"
#include "storage/storage.h"

namespace pgvault {

class PackWriter {
 public:
  PackWriter(Storage& storage, uint64_t target_size);
  ~PackWriter();  // discards an uncommitted pack

  void Add(const Digest& id, Codec codec, std::string_view stored, uint32_t raw_size);
  // Commits the open pack, if any.
  void Flush();
  // Packs committed so far, with their entries.
  const std::vector<PackRecord>& records() const { return records_; }
  uint64_t stored_bytes() const { return stored_bytes_; }

 private:
  void Open();
  Storage& storage_;
  uint64_t target_size_;
  std::unique_ptr<ObjectWriter> writer_;
  std::string path_;
  std::vector<PackEntry> entries_;
  uint64_t offset_ = 0;
  uint64_t stored_bytes_ = 0;  // all committed packs, trailers included
  std::vector<PackRecord> records_;
};

}  // namespace pgvault
