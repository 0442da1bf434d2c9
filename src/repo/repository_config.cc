#include "repo/repository_config.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "repo/sealed_json.h"

namespace pgvault {

using nlohmann::json;

std::string RepositoryConfig::ToJson() const {
  json j = {
      {"format", "pgvault-repository"},
      {"version", version},
      {"repository_id", repository_id},
      {"created_at", created_at},
      {"chunking", {{"method", "fixed"}, {"chunk_size", chunk_size}}},
      {"pack_size", pack_size},
      {"hash", "sha256"},
      {"encryption", {{"method", encryption}}},
  };
  j["system_identifier"] = system_identifier ? json(std::to_string(*system_identifier)) : json(nullptr);
  j["group_access"] = group_access;
  return SealJson(std::move(j));
}

RepositoryConfig RepositoryConfig::FromJson(const std::string& text, const std::string& where) {
  RepositoryConfig c;
  try {
    json j = json::parse(text);
    if (j.value("format", "") != "pgvault-repository")
      throw Error(fmt::format("{} is not a pgvault repository config", where));
    // First: a later version may have changed any key below.
    CheckFormatVersion(j, where);
    CheckSeal(j, where);
    c.version = j.at("version").get<int>();
    c.repository_id = j.at("repository_id").get<std::string>();
    c.created_at = j.value("created_at", "");
    const json& chunking = j.at("chunking");
    if (chunking.at("method").get<std::string>() != "fixed")
      throw Error(fmt::format("{}: unsupported chunking method", where));
    c.chunk_size = chunking.at("chunk_size").get<uint32_t>();
    c.pack_size = j.at("pack_size").get<uint64_t>();
    if (j.value("hash", "") != "sha256") throw Error(fmt::format("{}: unsupported hash", where));
    c.encryption = j.at("encryption").at("method").get<std::string>();
    if (c.encryption != "none")
      throw Error(fmt::format("{}: encryption '{}' is not supported by this pgvault", where, c.encryption));
    if (j.contains("system_identifier") && !j["system_identifier"].is_null()) {
      const std::string& text = j["system_identifier"].get_ref<const std::string&>();
      bool digits = !text.empty() && text.size() <= 20;
      for (char ch : text) digits = digits && ch >= '0' && ch <= '9';
      if (!digits || (text.size() == 20 && text > "18446744073709551615"))
        throw IntegrityError(fmt::format("{} is damaged: system_identifier '{}' is not a decimal number", where, text));
      c.system_identifier = std::stoull(text);
    }
    if (j.contains("group_access")) {
      if (!j["group_access"].is_boolean())
        throw Error(fmt::format("{}: group_access must be true or false", where));
      c.group_access = j["group_access"].get<bool>();
    }
    if (c.chunk_size < kMinChunkSize || c.chunk_size > kMaxChunkSize || c.chunk_size % kChunkSizeMultiple != 0)
      throw Error(fmt::format("{}: chunking.chunk_size {} is not a multiple of {} between {} and {}", where,
                              c.chunk_size, kChunkSizeMultiple, kMinChunkSize, kMaxChunkSize));
    if (c.pack_size < kMinPackSize)
      throw Error(fmt::format("{}: pack_size {} is below the minimum of {}", where, c.pack_size, kMinPackSize));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{} is damaged: {}", where, e.what()));
  }
  return c;
}

std::string RepositoryConfig::WithSystemIdentifier(const std::string& text, uint64_t id, const std::string& where) {
  FromJson(text, where);  // only a config this pgvault understands is rewritten
  json j = json::parse(text);
  j["system_identifier"] = std::to_string(id);
  return SealJson(std::move(j));
}

}  // namespace pgvault
