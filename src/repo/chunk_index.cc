#include "repo/chunk_index.h"

#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/hex.h"
#include "repo/compressed_json.h"
#include "repo/format_version.h"
#include "storage/storage.h"

namespace pgvault {

using nlohmann::json;

void ChunkIndex::AddPack(const PackRecord& pack) {
  uint32_t number;
  auto found = pack_numbers_.find(pack.path);
  if (found != pack_numbers_.end()) {
    number = found->second;
  } else {
    number = static_cast<uint32_t>(packs_.size());
    packs_.push_back(pack.path);
    pack_numbers_.emplace(pack.path, number);
  }
  for (const auto& e : pack.entries) {
    ChunkLocation location{number, e.offset, e.stored_size, e.raw_size, e.codec};
    auto [first, inserted] = chunks_.try_emplace(e.id, location);
    // The same pack listed again (by two index files, while gc replaces one)
    // is not another copy.
    if (!inserted && first->second.pack != number) other_copies_.emplace(e.id, location);
  }
}

std::vector<ChunkLocation> ChunkIndex::Locations(const Digest& id) const {
  std::vector<ChunkLocation> out;
  if (const ChunkLocation* first = Find(id)) out.push_back(*first);
  auto [begin, end] = other_copies_.equal_range(id);
  for (auto it = begin; it != end; ++it) {
    bool seen = false;
    for (const auto& l : out) seen = seen || l.pack == it->second.pack;
    if (!seen) out.push_back(it->second);
  }
  return out;
}

PackRecord ReadPackTrailer(Storage& storage, const std::string& path, uint64_t size) {
  if (size < kPackHeader.size() + kPackFooterSize)
    throw IntegrityError(fmt::format("pack {} is truncated ({} bytes)", path, size));
  CheckPackHeader(storage.ReadRange(path, 0, kPackHeader.size()), path);
  std::string footer = storage.ReadRange(path, size - kPackFooterSize, kPackFooterSize);
  uint32_t count = DecodePackFooterCount(footer, path);
  uint64_t trailer_size = static_cast<uint64_t>(count) * kPackEntrySize + kPackFooterSize;
  if (trailer_size + kPackHeader.size() > size)
    throw IntegrityError(fmt::format("pack {}: footer claims {} entries, more than the pack holds", path, count));
  std::string trailer = storage.ReadRange(path, size - trailer_size, trailer_size);
  PackRecord record{path, size, DecodePackTrailer(trailer, path)};
  return record;
}

std::vector<PackRecord> ReadIndexFile(Storage& storage, const std::string& path) {
  json j = ReadCompressedJson(storage, path);
  std::string where = fmt::format("index file {}/{}", storage.Describe(), path);
  std::vector<PackRecord> packs;
  try {
    if (j.value("format", "") != "pgvault-index") throw Error(fmt::format("{} is not a pgvault index file", where));
    CheckFormatVersion(j, where);
    for (const auto& p : j.at("packs")) {
      PackRecord record;
      record.path = p.at("path").get<std::string>();
      record.size = p.at("size").get<uint64_t>();
      for (const auto& c : p.at("chunks")) {
        PackEntry e;
        e.id = DigestFromHex(c.at(0).get<std::string>());
        e.offset = c.at(1).get<uint64_t>();
        e.stored_size = c.at(2).get<uint32_t>();
        e.raw_size = c.at(3).get<uint32_t>();
        e.codec = CodecFromName(c.at(4).get<std::string>());
        record.entries.push_back(e);
      }
      packs.push_back(std::move(record));
    }
  } catch (const json::exception& e) {
    throw Error(fmt::format("index file {} in {} is damaged: {}", path, storage.Describe(), e.what()));
  }
  return packs;
}

ChunkIndex ChunkIndex::Load(Storage& storage, bool adopt_orphans) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    ChunkIndex index;
    std::string vanished;
    for (const auto& object : storage.List("index")) {
      if (!object.path.ends_with(".json.zst")) continue;
      std::vector<PackRecord> packs;
      try {
        packs = ReadIndexFile(storage, object.path);
      } catch (const NotFoundError&) {
        vanished = object.path;
        break;
      }
      for (const auto& record : packs) index.AddPack(record);
    }
    if (!vanished.empty()) {
      if (attempt == kAttempts)
        throw Error(fmt::format("index files of {} keep changing while they are read ({} vanished {} times): is gc "
                                "running in a loop? Try again when it has finished",
                                storage.Describe(), vanished, kAttempts));
      continue;
    }
    if (adopt_orphans) {
      for (const auto& object : storage.List("packs")) {
        if (!object.path.ends_with(".pack") || index.pack_numbers_.count(object.path)) continue;
        try {
          PackRecord record = ReadPackTrailer(storage, object.path, object.size);
          spdlog::info("adopting pack {} ({} chunks) left by an interrupted backup", object.path,
                       record.entries.size());
          index.AddPack(record);
          index.adopted_.push_back(std::move(record));
        } catch (const IntegrityError& e) {
          spdlog::warn("ignoring unreadable pack: {}", e.what());
        }
      }
    }
    return index;
  }
}

uint64_t ChunkIndex::WriteIndexFile(Storage& storage, const std::vector<PackRecord>& packs) {
  if (packs.empty()) return 0;
  json j;
  j["format"] = "pgvault-index";
  j["version"] = kFormatVersion;
  json list = json::array();
  for (const auto& p : packs) {
    json chunks = json::array();
    for (const auto& e : p.entries)
      chunks.push_back({DigestHex(e.id), e.offset, e.stored_size, e.raw_size, CodecName(e.codec)});
    list.push_back({{"path", p.path}, {"size", p.size}, {"chunks", std::move(chunks)}});
  }
  j["packs"] = std::move(list);
  std::random_device rd;
  std::string name = fmt::format("index/{:08x}{:08x}{:08x}{:08x}.json.zst", rd(), rd(), rd(), rd());
  uint64_t size = 0;
  WriteCompressedJson(storage, name, j, nullptr, &size);
  return size;
}

}  // namespace pgvault
