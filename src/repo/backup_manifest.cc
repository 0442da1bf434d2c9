#include "repo/backup_manifest.h"

#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.h"
#include "pg/lsn.h"
#include "pg/wal_segment_size.h"
#include "repo/file_list_paths.h"
#include "repo/format_version.h"
#include "repo/json_number.h"
#include "repo/repository_config.h"
#include "repo/sealed_json.h"

namespace pgvault {

using nlohmann::json;

namespace {
// A decimal string of a 64-bit number (system identifiers do not fit in a
// JSON number for many readers); anything else is damage.
uint64_t DecimalU64(const json& value, const std::string& where) {
  const std::string& text = value.get_ref<const std::string&>();
  size_t end = 0;
  uint64_t n = 0;
  try {
    n = std::stoull(text, &end);
  } catch (const std::logic_error&) {
    end = 0;
  }
  if (text.empty() || end != text.size() || !std::isdigit(static_cast<unsigned char>(text[0])))
    throw IntegrityError(fmt::format("{} is damaged: '{}' is not a decimal number", where, text));
  return n;
}

bool IsHex(const std::string& text, size_t length) {
  if (text.size() != length) return false;
  for (char c : text)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// "0700": mode bits as the backup recorded them (st_mode & 07777), no file
// type or anything larger.
uint32_t ParseMode(const std::string& text, const std::string& where) {
  bool octal = !text.empty() && text.size() <= 4;
  uint32_t mode = 0;
  for (char c : text) {
    octal = octal && c >= '0' && c <= '7';
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  if (!octal || (mode & ~07777u) != 0)
    throw IntegrityError(fmt::format("{} is damaged: mode '{}' is not mode bits (0000 to 7777)", where, text));
  return mode;
}

// Every number and name a reader will compute with, checked before use: the
// manifest decides paths, divisions and what PostgreSQL is told, so a value
// pgvault could not have written is damage, whatever made it.
void CheckManifestValues(const BackupManifest& m, const std::string& where) {
  auto damaged = [&](const std::string& what) {
    throw IntegrityError(fmt::format("{} is damaged: {}", where, what));
  };
  bool plain_id = !m.id.empty() && m.id.size() <= 128 && m.id[0] != '.';
  for (char c : m.id) plain_id = plain_id && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (!plain_id) damaged(fmt::format("id '{}' is not a backup id", m.id));
  if (!IsValidWalSegmentSize(m.wal_segment_size))
    damaged(fmt::format("wal_segment_size {} is not a power of two from 1 MiB to 1 GiB", m.wal_segment_size));
  if (m.chunk_size < kMinChunkSize || m.chunk_size > kMaxChunkSize || m.chunk_size % kChunkSizeMultiple != 0)
    damaged(fmt::format("chunk_size {} is not a multiple of {} from {} to {}", m.chunk_size, kChunkSizeMultiple,
                        kMinChunkSize, kMaxChunkSize));
  if (m.timeline == 0) damaged("timeline 0 does not exist");
  if (m.pg_version < 90000 || m.pg_version >= 1000000) damaged(fmt::format("pg_version {} is implausible", m.pg_version));
  Lsn lsns[3];
  const std::pair<const char*, const std::string*> named[] = {
      {"start_lsn", &m.start_lsn}, {"checkpoint_lsn", &m.checkpoint_lsn}, {"stop_lsn", &m.stop_lsn}};
  for (size_t i = 0; i < 3; ++i) {
    try {
      lsns[i] = ParseLsn(*named[i].second);
    } catch (const Error&) {
      damaged(fmt::format("{} '{}' is not an LSN", named[i].first, *named[i].second));
    }
  }
  if (lsns[0] > lsns[2]) damaged(fmt::format("start_lsn {} is after stop_lsn {}", m.start_lsn, m.stop_lsn));
  for (const auto* wal : {&m.start_wal, &m.stop_wal})
    if (!IsWalSegmentName(*wal)) damaged(fmt::format("'{}' is not a WAL segment name", *wal));
  if (m.files_object != "backups/" + m.id + "/files.json.zst")
    damaged(fmt::format("files.path '{}' is not this backup's file list", m.files_object));
  if (!IsHex(m.files_sha256, 64)) damaged("files.sha256 is not a SHA-256 digest");
  for (const auto& t : m.tablespaces)
    if (t.oid == 0 || t.location.empty() || t.location[0] != '/')
      damaged(fmt::format("tablespace {} ('{}' at '{}') is not a tablespace PostgreSQL could have", t.oid, t.name,
                          t.location));
}
}  // namespace

Digest FileChecksum(const std::vector<Digest>& chunks) {
  Sha256Stream stream;
  for (const auto& c : chunks) stream.Update({reinterpret_cast<const char*>(c.data()), c.size()});
  return stream.Finish();
}

std::string BackupManifest::ToJson() const {
  json j;
  j["format"] = "pgvault-backup-manifest";
  j["version"] = kFormatVersion;
  j["id"] = id;
  j["type"] = type;
  j["method"] = method;
  j["status"] = status;
  j["warnings"] = warnings;
  json failures = json::array();
  for (const auto& f : checksum_failures)
    failures.push_back({{"path", f.path}, {"relation", f.relation}, {"block", f.block}});
  j["checksum_failures"] = failures;
  j["tool_version"] = tool_version;
  j["system_identifier"] = std::to_string(system_identifier);
  j["pg_version"] = pg_version;
  j["timeline"] = timeline;
  j["start_lsn"] = start_lsn;
  j["stop_lsn"] = stop_lsn;
  j["checkpoint_lsn"] = checkpoint_lsn;
  j["start_wal"] = start_wal;
  j["stop_wal"] = stop_wal;
  j["start_time"] = start_time;
  j["stop_time"] = stop_time;
  if (stop_next_xid) j["stop_next_xid"] = std::to_string(stop_next_xid);
  j["duration_seconds"] = duration_seconds;
  j["backup_label"] = backup_label;
  j["tablespace_map"] = tablespace_map;
  json spcs = json::array();
  for (const auto& t : tablespaces) spcs.push_back({{"oid", t.oid}, {"name", t.name}, {"location", t.location}});
  j["tablespaces"] = spcs;
  j["source"] = {{"backup_from", backup_from},
                 {"host", source_host},
                 {"pgdata", source_pgdata},
                 {"conninfo", source_conninfo}};
  j["wal_segment_size"] = wal_segment_size;
  j["compression"] = compression;
  j["chunk_size"] = chunk_size;
  j["size"] = size;
  j["stored_size"] = stored_size;
  j["file_count"] = file_count;
  j["chunk_count"] = chunk_count;
  j["files"] = {{"path", files_object}, {"sha256", files_sha256}, {"size", files_size}};
  return SealJson(std::move(j));
}

BackupManifest BackupManifest::FromJson(const std::string& text, const std::string& where) {
  BackupManifest m;
  try {
    json j = json::parse(text);
    if (j.value("format", "") != "pgvault-backup-manifest")
      throw IntegrityError(fmt::format("{} is not a pgvault backup manifest", where));
    CheckFormatVersion(j, where);
    // After the version (a later one may seal differently), before any value
    // is believed.
    CheckSeal(j, where);
    m.id = j.at("id");
    m.type = j.at("type");
    m.method = j.at("method");
    m.status = j.at("status");
    m.warnings = j.at("warnings").get<std::vector<std::string>>();
    for (const auto& f : j.at("checksum_failures"))
      m.checksum_failures.push_back({f.at("path"), f.at("relation"), JsonInteger<uint64_t>(f, "block", where, nullptr)});
    m.tool_version = j.at("tool_version");
    m.system_identifier = DecimalU64(j.at("system_identifier"), where);
    m.pg_version = JsonInteger<int>(j, "pg_version", where, nullptr);
    m.timeline = JsonInteger<uint32_t>(j, "timeline", where, nullptr);
    m.start_lsn = j.at("start_lsn");
    m.stop_lsn = j.at("stop_lsn");
    m.checkpoint_lsn = j.at("checkpoint_lsn");
    m.start_wal = j.at("start_wal");
    m.stop_wal = j.at("stop_wal");
    m.start_time = j.at("start_time");
    m.stop_time = j.at("stop_time");
    if (j.contains("stop_next_xid")) m.stop_next_xid = DecimalU64(j.at("stop_next_xid"), where);
    m.duration_seconds = j.value("duration_seconds", 0.0);
    m.backup_label = j.at("backup_label");
    m.tablespace_map = j.at("tablespace_map");
    for (const auto& t : j.at("tablespaces"))
      m.tablespaces.push_back({JsonInteger<uint32_t>(t, "oid", where, nullptr), t.at("name"), t.at("location")});
    const json& src = j.at("source");
    m.backup_from = src.at("backup_from");
    m.source_host = src.at("host");
    m.source_pgdata = src.at("pgdata");
    m.source_conninfo = src.at("conninfo");
    m.wal_segment_size = JsonInteger<uint32_t>(j, "wal_segment_size", where, nullptr);
    m.compression = j.at("compression");
    m.chunk_size = JsonInteger<uint32_t>(j, "chunk_size", where, nullptr);
    m.size = JsonInteger<uint64_t>(j, "size", where, nullptr);
    m.stored_size = JsonInteger<uint64_t>(j, "stored_size", where, nullptr);
    m.file_count = JsonInteger<uint64_t>(j, "file_count", where, nullptr);
    m.chunk_count = JsonInteger<uint64_t>(j, "chunk_count", where, nullptr);
    m.files_object = j.at("files").at("path");
    m.files_sha256 = j.at("files").at("sha256");
    m.files_size = JsonInteger<uint64_t>(j.at("files"), "size", where, nullptr);
  } catch (const json::exception& e) {
    throw IntegrityError(fmt::format("{} is damaged: {}", where, e.what()));
  }
  CheckManifestValues(m, where);
  return m;
}

static const char* TypeName(FileType t) {
  switch (t) {
    case FileType::kFile: return "file";
    case FileType::kDirectory: return "dir";
    case FileType::kSymlink: return "link";
  }
  return "?";
}

json FileListToJson(const std::vector<FileEntry>& files) {
  json list = json::array();
  for (const auto& f : files) {
    json e = {{"path", f.path},   {"type", TypeName(f.type)}, {"mode", fmt::format("{:04o}", f.mode)},
              {"mtime", f.mtime}, {"uid", f.uid},              {"gid", f.gid},
              {"user", f.user},   {"group", f.group}};
    if (f.type == FileType::kFile) {
      e["size"] = f.size;
      json chunks = json::array();
      for (const auto& c : f.chunks) chunks.push_back(DigestHex(c));
      e["chunks"] = std::move(chunks);
      e["checksum"] = DigestHex(f.checksum);
    } else if (f.type == FileType::kSymlink) {
      e["target"] = f.link_target;
    }
    list.push_back(std::move(e));
  }
  return json{{"format", "pgvault-file-list"}, {"version", kFormatVersion}, {"files", std::move(list)}};
}

std::vector<FileEntry> FileListFromJson(const json& doc, const std::string& where) {
  std::vector<FileEntry> files;
  try {
    if (doc.value("format", "") != "pgvault-file-list")
      throw IntegrityError(fmt::format("{} is not a pgvault file list", where));
    CheckFormatVersion(doc, where);
    for (const auto& e : doc.at("files")) {
      FileEntry f;
      f.path = e.at("path");
      std::string type = e.at("type");
      if (type == "file") f.type = FileType::kFile;
      else if (type == "dir") f.type = FileType::kDirectory;
      else if (type == "link") f.type = FileType::kSymlink;
      else throw IntegrityError(fmt::format("{} is damaged: entry '{}' has unknown type '{}'", where, f.path, type));
      f.mode = ParseMode(e.at("mode").get<std::string>(), where);
      f.mtime = JsonInteger<int64_t>(e, "mtime", where, nullptr);
      f.uid = JsonInteger<uint32_t>(e, "uid", where, nullptr);
      f.gid = JsonInteger<uint32_t>(e, "gid", where, nullptr);
      f.user = e.at("user");
      f.group = e.at("group");
      if (f.type == FileType::kFile) {
        f.size = JsonInteger<uint64_t>(e, "size", where, nullptr);
        for (const auto& c : e.at("chunks")) f.chunks.push_back(DigestFromHex(c.get<std::string>()));
        f.checksum = DigestFromHex(e.at("checksum").get<std::string>());
      } else if (f.type == FileType::kSymlink) {
        f.link_target = e.at("target");
      }
      files.push_back(std::move(f));
    }
  } catch (const json::exception& e) {
    throw IntegrityError(fmt::format("{} is damaged: {}", where, e.what()));
  }
  CheckFileListPaths(files, where);
  return files;
}

}  // namespace pgvault
