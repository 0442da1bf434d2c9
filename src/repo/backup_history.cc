#include "repo/backup_history.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "repo/format_version.h"
#include "repo/json_number.h"
#include "repo/sealed_json.h"

namespace pgvault {

using nlohmann::json;

const HistoryEntry* BackupHistory::Find(const std::string& id) const {
  for (const auto& e : backups)
    if (e.id == id) return &e;
  return nullptr;
}

void BackupHistory::Put(HistoryEntry entry) {
  Remove(entry.id);
  auto at = std::lower_bound(backups.begin(), backups.end(), entry.id,
                             [](const HistoryEntry& e, const std::string& id) { return e.id < id; });
  backups.insert(at, std::move(entry));
}

void BackupHistory::Remove(const std::string& id) {
  backups.erase(std::remove_if(backups.begin(), backups.end(), [&](const HistoryEntry& e) { return e.id == id; }),
                backups.end());
}

std::string BackupHistory::ToText() const {
  json list = json::array();
  for (const auto& e : backups)
    list.push_back({{"id", e.id},
                    {"start_time", e.start_time},
                    {"stop_time", e.stop_time},
                    {"stop_lsn", e.stop_lsn},
                    {"timeline", e.timeline},
                    {"manifest_sha256", e.manifest_sha256}});
  return SealJson({{"format", "pgvault-backup-history"}, {"version", kFormatVersion}, {"backups", std::move(list)}});
}

BackupHistory BackupHistory::FromText(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw IntegrityError(fmt::format("{} is damaged: {}", where, e.what()));
  }
  BackupHistory history;
  try {
    // Inside the try: j.value throws when "format" is there but no string.
    if (!j.is_object() || j.value("format", "") != "pgvault-backup-history")
      throw IntegrityError(fmt::format("{} is damaged: not a pgvault backup history", where));
    CheckFormatVersion(j, where);
    CheckSeal(j, where);
    for (const auto& b : j.at("backups")) {
      HistoryEntry e;
      e.id = b.at("id").get<std::string>();
      e.start_time = b.at("start_time").get<std::string>();
      e.stop_time = b.at("stop_time").get<std::string>();
      e.stop_lsn = b.at("stop_lsn").get<std::string>();
      e.timeline = JsonInteger<uint32_t>(b, "timeline", where, nullptr);
      e.manifest_sha256 = b.at("manifest_sha256").get<std::string>();
      history.Put(std::move(e));
    }
  } catch (const json::exception& e) {
    throw IntegrityError(fmt::format("{} is damaged: {}", where, e.what()));
  }
  return history;
}

}  // namespace pgvault
