#include "repo/pack_writer.h"

#include <random>

#include <fmt/format.h>

namespace pgvault {

PackWriter::PackWriter(Storage& storage, uint64_t target_size) : storage_(storage), target_size_(target_size) {}

PackWriter::~PackWriter() = default;

void PackWriter::Open() {
  // Pack names are random, not content hashes: the name must be known before
  // the bytes are (object stores cannot rename), and the trailer carries the
  // integrity data anyway.
  std::random_device rd;
  std::string name = fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
  path_ = fmt::format("packs/{}/{}.pack", name.substr(0, 2), name);
  writer_ = storage_.Create(path_);
  writer_->Append(kPackHeader);
  offset_ = kPackHeader.size();
  entries_.clear();
}

void PackWriter::Add(const Digest& id, Codec codec, std::string_view stored, uint32_t raw_size) {
  if (!writer_) Open();
  writer_->Append(stored);
  entries_.push_back(PackEntry{id, offset_, static_cast<uint32_t>(stored.size()), raw_size, codec, 0});
  offset_ += stored.size();
  if (offset_ >= target_size_) Flush();
}

void PackWriter::Flush() {
  if (!writer_) return;
  writer_->Append(EncodePackTrailer(entries_));
  uint64_t size = writer_->BytesWritten();
  writer_->Commit();
  writer_.reset();
  stored_bytes_ += size;
  records_.push_back(PackRecord{path_, size, std::move(entries_)});
  entries_.clear();
}

}  // namespace pgvault
