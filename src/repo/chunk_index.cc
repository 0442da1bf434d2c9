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
    chunks_.try_emplace(e.id, ChunkLocation{number, e.offset, e.stored_size, e.raw_size, e.codec});
  }
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

ChunkIndex ChunkIndex::Load(Storage& storage, bool adopt_orphans) {
  ChunkIndex index;
  for (const auto& object : storage.List("index")) {
    if (!object.path.ends_with(".json.zst")) continue;
    json j = ReadCompressedJson(storage, object.path);
    std::string where = fmt::format("index file {}/{}", storage.Describe(), object.path);
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
        index.AddPack(record);
      }
    } catch (const json::exception& e) {
      throw Error(fmt::format("index file {} in {} is damaged: {}", object.path, storage.Describe(), e.what()));
    }
  }
  if (adopt_orphans) {
    for (const auto& object : storage.List("packs")) {
      if (!object.path.ends_with(".pack") || index.pack_numbers_.count(object.path)) continue;
      try {
        PackRecord record = ReadPackTrailer(storage, object.path, object.size);
        spdlog::info("adopting pack {} ({} chunks) left by an interrupted backup", object.path, record.entries.size());
        index.AddPack(record);
        index.adopted_.push_back(std::move(record));
      } catch (const IntegrityError& e) {
        spdlog::warn("ignoring unreadable pack: {}", e.what());
      }
    }
  }
  return index;
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
