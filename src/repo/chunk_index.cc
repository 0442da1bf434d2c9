#include "repo/chunk_index.h"

#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/hex.h"
#include "repo/compressed_json.h"
#include "repo/format_version.h"
#include "repo/json_number.h"
#include "repo/pack_format.h"
#include "repo/repository_config.h"
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
    pack_sizes_.push_back(pack.size);
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

std::string IndexFileName(std::string_view stored) {
  return "index/" + DigestHex(Sha256(stored)).substr(0, 32) + ".json.zst";
}

std::vector<PackRecord> ReadIndexFile(Storage& storage, const std::string& path) {
  std::string where = fmt::format("index file {}/{}", storage.Describe(), path);
  std::string stored = storage.Read(path);
  // Named by its content (section 8): any changed byte, before it is
  // decompressed or believed.
  if (IndexFileName(stored) != path)
    throw IntegrityError(fmt::format("{} is damaged: its content does not match its name", where));
  json j = DecodeCompressedJson(stored, where);
  std::vector<PackRecord> packs;
  try {
    if (j.value("format", "") != "pgvault-index") throw IntegrityError(fmt::format("{} is not a pgvault index file", where));
    CheckFormatVersion(j, where);
    for (const auto& p : j.at("packs")) {
      PackRecord record;
      record.path = p.at("path").get<std::string>();
      record.size = JsonInteger<uint64_t>(p.at("size"), "size", where);
      if (!IsPackPath(record.path))
        throw IntegrityError(fmt::format("{} is damaged: '{}' is not a pack path", where, record.path));
      for (const auto& c : p.at("chunks")) {
        PackEntry e;
        e.id = DigestFromHex(c.at(0).get<std::string>());
        e.offset = JsonInteger<uint64_t>(c.at(1), "offset", where);
        e.stored_size = JsonInteger<uint32_t>(c.at(2), "stored_size", where);
        e.raw_size = JsonInteger<uint32_t>(c.at(3), "raw_size", where);
        e.codec = CodecFromName(c.at(4).get<std::string>());
        // A chunk is never larger than the largest chunk size, and its bytes
        // lie between the pack's header and its entry table.
        if (e.raw_size > kMaxChunkSize || e.offset < kPackHeader.size() ||
            e.offset + e.stored_size > record.size || e.stored_size > record.size)
          throw IntegrityError(fmt::format("{} is damaged: chunk {} of pack {} at {} ({} bytes, {} raw) does not fit "
                                           "a pack of {} bytes",
                                           where, DigestHex(e.id), record.path, e.offset, e.stored_size, e.raw_size,
                                           record.size));
        record.entries.push_back(e);
      }
      packs.push_back(std::move(record));
    }
  } catch (const json::exception& e) {
    throw IntegrityError(fmt::format("{} is damaged: {}", where, e.what()));
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
      } catch (const IntegrityError& e) {
        spdlog::warn("{}: left out; the trailers of the packs it may list are read instead", e.what());
        index.damaged_.emplace_back(object.path, e.what());
        continue;
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
    if (adopt_orphans || !index.damaged_.empty()) {
      for (const auto& object : storage.List("packs")) {
        if (!object.path.ends_with(".pack") || index.pack_numbers_.count(object.path)) continue;
        try {
          PackRecord record = ReadPackTrailer(storage, object.path, object.size);
          if (adopt_orphans)
            spdlog::info("adopting pack {} ({} chunks), listed by no sound index file", object.path,
                         record.entries.size());
          index.AddPack(record);
          if (adopt_orphans) index.adopted_.push_back(std::move(record));
        } catch (const IntegrityError& e) {
          spdlog::warn("ignoring unreadable pack: {}", e.what());
        }
      }
    }
    return index;
  }
}

uint64_t ChunkIndex::WriteIndexFile(Storage& storage, const std::vector<PackRecord>& packs, std::string* path) {
  if (path) path->clear();
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
  std::string stored = EncodeCompressedJson(j);
  storage.Write(IndexFileName(stored), stored);
  if (path) *path = IndexFileName(stored);
  return stored.size();
}

}  // namespace pgvault
