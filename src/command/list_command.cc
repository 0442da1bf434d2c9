#include "command/list_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/byte_size.h"
#include "core/timestamp.h"
#include "repo/repository.h"
#include "storage/storage.h"

namespace pgvault {

using nlohmann::json;

json BackupSummaryJson(const BackupManifest& m) {
  json j = {{"id", m.id},
            {"status", m.status},
            {"type", m.type},
            {"method", m.method},
            {"backup_from", m.backup_from},
            {"start_lsn", m.start_lsn},
            {"stop_lsn", m.stop_lsn},
            {"start_wal", m.start_wal},
            {"stop_wal", m.stop_wal},
            {"start_time", m.start_time},
            {"stop_time", m.stop_time},
            {"duration_seconds", m.duration_seconds},
            {"timeline", m.timeline},
            {"system_identifier", std::to_string(m.system_identifier)},
            {"pg_version", m.pg_version},
            {"size", m.size},
            {"stored_size", m.stored_size},
            {"file_count", m.file_count},
            {"compression", m.compression},
            {"source", m.source_host},
            {"warnings", m.warnings}};
  json failures = json::array();
  for (const auto& f : m.checksum_failures)
    failures.push_back({{"path", f.path}, {"relation", f.relation}, {"block", f.block}});
  j["checksum_failures"] = failures;
  return j;
}

namespace {

// One warning line per backup that cannot be read (on standard error, so
// that standard output stays a table or JSON).
void WarnUnreadable(const BackupListing& listing) {
  for (const auto& u : listing.unreadable) spdlog::warn("backup {} cannot be read: {}", u.id, u.error);
  if (!listing.history_problem.empty()) spdlog::warn("{}", listing.history_problem);
}

// Readable backups oldest first, each unreadable one (nullptr manifest) put
// before the first backup it provably started before, else at the end, so
// that the last entry is still the latest for all anyone can tell.
std::vector<std::pair<const BackupManifest*, const UnreadableBackup*>> InOrder(const BackupListing& listing) {
  std::vector<std::pair<const BackupManifest*, const UnreadableBackup*>> out;
  std::vector<bool> placed(listing.unreadable.size());
  for (const auto& m : listing.backups) {
    for (size_t i = 0; i < listing.unreadable.size(); ++i)
      if (!placed[i] && StartedBefore(listing.unreadable[i].id, m)) {
        out.push_back({nullptr, &listing.unreadable[i]});
        placed[i] = true;
      }
    out.push_back({&m, nullptr});
  }
  for (size_t i = 0; i < listing.unreadable.size(); ++i)
    if (!placed[i]) out.push_back({nullptr, &listing.unreadable[i]});
  return out;
}

}  // namespace

std::string RenderBackupList(const std::string& location, bool as_json) {
  auto repo = Repository::Open(OpenStorage(location));
  BackupListing listing = repo->ListBackups();
  WarnUnreadable(listing);
  auto entries = InOrder(listing);
  if (as_json) {
    json list = json::array();
    for (const auto& [m, u] : entries)
      list.push_back(m ? BackupSummaryJson(*m)
                      : json{{"id", u->id}, {"status", u->vanished ? "missing" : "damaged"}, {"error", u->error}});
    return list.dump(2) + "\n";
  }
  if (entries.empty()) return fmt::format("no backups in {}\n", repo->Describe());
  std::string out = fmt::format("{:<22} {:<9} {:<8} {:<24} {:>9} {:>3} {:<14} {:<14} {:>10} {:>10}\n", "ID", "STATUS",
                                "FROM", "START", "DURATION", "TL", "START LSN", "STOP LSN", "SIZE", "STORED");
  for (const auto& [m, u] : entries) {
    if (m)
      out += fmt::format("{:<22} {:<9} {:<8} {:<24} {:>9} {:>3} {:<14} {:<14} {:>10} {:>10}\n", m->id, m->status,
                         m->backup_from, m->start_time, FormatDuration(m->duration_seconds), m->timeline,
                         m->start_lsn, m->stop_lsn, FormatBytes(m->size), FormatBytes(m->stored_size));
    else
      out += fmt::format("{:<22} damaged\n", u->id);
  }
  return out;
}

std::string RenderInfo(const std::string& location, const std::string& backup, bool as_json) {
  auto repo = Repository::Open(OpenStorage(location));
  if (!backup.empty()) {
    BackupManifest m = repo->LoadBackup(backup);
    if (as_json) {
      json j = BackupSummaryJson(m);
      j["backup_label"] = m.backup_label;
      j["tablespace_map"] = m.tablespace_map;
      json spcs = json::array();
      for (const auto& t : m.tablespaces) spcs.push_back({{"oid", t.oid}, {"name", t.name}, {"location", t.location}});
      j["tablespaces"] = spcs;
      j["tool_version"] = m.tool_version;
      return j.dump(2) + "\n";
    }
    std::string out = fmt::format(
        "backup:             {}\nstatus:             {}\nfrom:               {} ({}, {})\nsystem identifier:  {}\n"
        "PostgreSQL:         {}\ntimeline:           {}\nWAL:                {} .. {} ({} .. {})\n"
        "time:               {} .. {} ({})\nsize:               {} in {} entries\nstored:             {} new in the "
        "repository ({})\n",
        m.id, m.status, m.backup_from, m.source_host, m.source_pgdata, m.system_identifier, m.pg_version, m.timeline,
        m.start_lsn, m.stop_lsn, m.start_wal, m.stop_wal, m.start_time, m.stop_time, FormatDuration(m.duration_seconds),
        FormatBytes(m.size), m.file_count, FormatBytes(m.stored_size), m.compression);
    for (const auto& t : m.tablespaces) out += fmt::format("tablespace:         {} (oid {}) at {}\n", t.name, t.oid, t.location);
    for (const auto& w : m.warnings) out += fmt::format("warning:            {}\n", w);
    return out;
  }
  BackupListing listing = repo->ListBackups();
  WarnUnreadable(listing);
  const auto& backups = listing.backups;
  uint64_t stored = 0;
  for (const auto& o : repo->storage().List("")) stored += o.size;
  const auto& c = repo->config();
  if (as_json) {
    json j = {{"repository", repo->Describe()},
              {"repository_id", c.repository_id},
              {"format_version", c.version},
              {"created_at", c.created_at},
              {"system_identifier", c.system_identifier ? json(std::to_string(*c.system_identifier)) : json(nullptr)},
              {"backups", backups.size()},
              {"stored_size", stored}};
    json unreadable = json::array();
    for (const auto& u : listing.unreadable) unreadable.push_back({{"id", u.id}, {"error", u.error}});
    j["unreadable_backups"] = unreadable;
    return j.dump(2) + "\n";
  }
  std::string unreadable;
  for (const auto& u : listing.unreadable) unreadable += (unreadable.empty() ? "" : ", ") + u.id;
  return fmt::format(
      "repository:         {}\nid:                 {}\nformat version:     {}\ncreated:            {}\nsystem identifier: "
      " {}\nbackups:            {}{}\n{}stored:             {}\n",
      repo->Describe(), c.repository_id, c.version, c.created_at,
      c.system_identifier ? std::to_string(*c.system_identifier) : "(none yet)", backups.size(),
      backups.empty() ? "" : fmt::format(" (oldest {}, newest {})", backups.front().id, backups.back().id),
      unreadable.empty() ? "" : fmt::format("unreadable backups: {}\n", unreadable), FormatBytes(stored));
}

}  // namespace pgvault
