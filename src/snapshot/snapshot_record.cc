#include "snapshot/snapshot_record.h"

#include <unistd.h>

#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"

namespace pgvault {

using nlohmann::json;

std::string SnapshotDirectoryFor(const std::string& volume, const VolumeSnapshotClass& snapshot_class) {
  auto it = snapshot_class.parameters.find("snapshotDir");
  if (it != snapshot_class.parameters.end()) return it->second;
  std::filesystem::path v = std::filesystem::path(volume).lexically_normal();
  if (!v.has_filename()) v = v.parent_path();
  return (v.parent_path() / ".snapshots").string();
}

std::string SnapshotRecordPath(const std::string& snapshot_path) { return snapshot_path + ".json"; }

void WriteSnapshotRecord(const json& record) {
  std::string path = SnapshotRecordPath(record.at("/status/path"_json_pointer).get<std::string>());
  WriteFileAtomically(path, record.dump(2) + "\n", 0600);
}

json ReadSnapshotRecord(const std::string& record_path) {
  std::string text = ReadWholeFile(record_path);
  json record;
  try {
    record = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(fmt::format("snapshot metadata {} is not valid JSON: {}", record_path, e.what()));
  }
  if (record.value("apiVersion", "") != kSnapshotRecordVersion || record.value("kind", "") != "VolumeSnapshot")
    throw Error(fmt::format("{} is not a pgvault volume snapshot record (apiVersion {}, kind VolumeSnapshot)",
                            record_path, kSnapshotRecordVersion));
  return record;
}

std::optional<json> FindSnapshotRecord(const std::string& name, const ClusterConfig* config) {
  auto exists = [](const std::string& p) { return ::access(p.c_str(), F_OK) == 0; };
  if (name.find('/') != std::string::npos) {
    if (name.size() > 5 && name.substr(name.size() - 5) == ".json" && exists(name)) return ReadSnapshotRecord(name);
    std::string trimmed = name;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    if (exists(SnapshotRecordPath(trimmed))) return ReadSnapshotRecord(SnapshotRecordPath(trimmed));
    return std::nullopt;
  }
  if (!config) return std::nullopt;
  std::set<std::string> dirs;
  for (const auto& c : config->clusters) {
    for (const auto& i : c.instances) {
      std::vector<std::string> volumes = {i.pgdata};
      if (!i.wal_dir.empty()) volumes.push_back(i.wal_dir);
      for (const auto& [tbs, dir] : i.tablespaces) volumes.push_back(dir);
      for (const auto& v : volumes) {
        for (const auto& k : config->classes) dirs.insert(SnapshotDirectoryFor(v, k));
      }
    }
  }
  for (const auto& dir : dirs) {
    std::string p = SnapshotRecordPath(dir + "/" + name);
    if (exists(p)) return ReadSnapshotRecord(p);
  }
  return std::nullopt;
}

}  // namespace pgvault
