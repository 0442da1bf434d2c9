// JSON documents stored zstd-compressed (index files, file lists). Readable
// without pgvault: `zstd -dc FILE | jq`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace pgvault {

class Storage;

nlohmann::json ReadCompressedJson(Storage& storage, const std::string& path);
// Returns the stored bytes' SHA-256 hex and size through the out-parameters.
void WriteCompressedJson(Storage& storage, const std::string& path, const nlohmann::json& doc,
                         std::string* sha256_hex = nullptr, uint64_t* stored_size = nullptr);
// The stored bytes of `doc`: one zstd frame with its content checksum.
std::string EncodeCompressedJson(const nlohmann::json& doc);
nlohmann::json DecodeCompressedJson(const std::string& stored, const std::string& where);

}  // namespace pgvault
