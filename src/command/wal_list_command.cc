#include "command/wal_list_command.h"

#include <map>

#include <fmt/format.h>

#include "core/byte_size.h"
#include "pg/lsn.h"
#include "pg/wal_segment.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {

WalListing ListWal(const std::string& repo_location) {
  auto repo = Repository::Open(OpenStorage(repo_location));
  WalArchive archive(repo->storage(), repo->config().system_identifier.value_or(0));
  std::map<uint32_t, TimelineWal> by_tli;
  std::map<uint32_t, std::vector<std::pair<uint64_t, std::string>>> segments;  // (log, seg) as one 64-bit key
  WalListing out;
  for (const auto& f : archive.List()) {
    auto kind = ClassifyWalFileName(f.name);
    uint32_t tli = static_cast<uint32_t>(std::stoul(f.name.substr(0, 8), nullptr, 16));
    TimelineWal& t = by_tli[tli];
    t.timeline = tli;
    t.stored_bytes += f.stored_size;
    out.files++;
    out.stored_bytes += f.stored_size;
    switch (*kind) {
      case WalFileKind::kSegment:
        segments[tli].push_back({std::stoull(f.name.substr(8, 16), nullptr, 16), f.name});
        break;
      case WalFileKind::kPartial: t.partial++; break;
      case WalFileKind::kBackup: t.backup_files++; break;
      case WalFileKind::kHistory: t.history = true; break;
    }
  }
  // Segment numbers per 4 GiB "log" depend on the segment size; read it from
  // a segment header only when the repository has backups that say it.
  uint32_t segment_size = 16 << 20;
  auto backups = repo->ListBackups();
  if (!backups.backups.empty()) segment_size = backups.backups.back().wal_segment_size;
  uint64_t per_log = 0x100000000ull / segment_size;
  auto segno = [&](uint64_t key) { return (key >> 32) * per_log + (key & 0xFFFFFFFF); };
  for (auto& [tli, list] : segments) {
    TimelineWal& t = by_tli[tli];
    for (size_t i = 0; i < list.size(); ++i) {
      if (i == 0 || segno(list[i].first) != segno(list[i - 1].first) + 1) {
        if (i > 0)
          t.gaps.push_back(fmt::format("{}..{}", WalSegmentName(tli, segno(list[i - 1].first) + 1, segment_size),
                                       WalSegmentName(tli, segno(list[i].first) - 1, segment_size)));
        t.ranges.push_back({list[i].second, list[i].second, 0});
      }
      t.ranges.back().last = list[i].second;
      t.ranges.back().segments++;
    }
  }
  for (auto& [tli, t] : by_tli) out.timelines.push_back(t);
  return out;
}

std::string RenderWalListing(const WalListing& l, bool json) {
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& t : l.timelines) {
      nlohmann::json ranges = nlohmann::json::array();
      for (const auto& r : t.ranges) ranges.push_back({{"first", r.first}, {"last", r.last}, {"segments", r.segments}});
      j.push_back({{"timeline", t.timeline}, {"ranges", ranges}, {"gaps", t.gaps}, {"history_file", t.history},
                   {"partial_files", t.partial}, {"backup_files", t.backup_files}, {"stored_size", t.stored_bytes}});
    }
    return j.dump(2) + "\n";
  }
  if (l.timelines.empty()) return "no WAL archived\n";
  std::string out;
  for (const auto& t : l.timelines) {
    out += fmt::format("timeline {}{}: {} stored{}{}\n", t.timeline, t.history ? " (history file archived)" : "",
                       FormatBytes(t.stored_bytes), t.partial ? fmt::format(", {} .partial", t.partial) : "",
                       t.backup_files ? fmt::format(", {} .backup", t.backup_files) : "");
    for (const auto& r : t.ranges) out += fmt::format("  {} .. {}  ({} segments)\n", r.first, r.last, r.segments);
    for (const auto& g : t.gaps) out += fmt::format("  GAP: {} missing\n", g);
  }
  return out;
}

}  // namespace pgvault
