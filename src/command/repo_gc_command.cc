#include "command/repo_gc_command.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/byte_size.h"
#include "repo/repository.h"
#include "storage/storage.h"

namespace pgvault {

GcReport RunRepoGc(const RepoGcOptions& options) {
  auto repo = Repository::Open(OpenStorage(options.repo));
  auto lock = repo->LockForWrite(options.dry_run ? "repo gc --dry-run" : "repo gc", !options.dry_run);
  GcOptions gc;
  gc.dry_run = options.dry_run;
  gc.repack_threshold = options.repack_threshold;
  gc.progress = options.progress;
  return CollectGarbage(*repo, *lock, gc);
}

std::string RenderGcReport(const GcReport& r, bool json) {
  if (json) {
    nlohmann::json j = {{"dry_run", r.dry_run},
                        {"backups", r.backups},
                        {"referenced_chunks", r.referenced_chunks},
                        {"packs_examined", r.packs_examined},
                        {"bytes_examined", r.bytes_examined},
                        {"orphan_packs", r.orphan_packs},
                        {"packs_removed", r.packs_removed},
                        {"bytes_removed", r.bytes_removed},
                        {"packs_repacked", r.packs_repacked},
                        {"bytes_repacked", r.bytes_repacked},
                        {"chunks_repacked", r.chunks_repacked},
                        {"packs_written", r.packs_written},
                        {"bytes_written", r.bytes_written},
                        {"index_files_removed", r.index_files_removed},
                        {"index_files_written", r.index_files_written},
                        {"bytes_reclaimed", r.bytes_reclaimed},
                        {"bytes_referenced", r.bytes_referenced},
                        {"bytes_unreferenced_kept", r.bytes_unreferenced_kept},
                        {"unreadable_packs", r.unreadable_packs}};
    return j.dump(2) + "\n";
  }
  std::string would = r.dry_run ? "would be " : "";
  std::string out = r.dry_run ? "dry run: nothing was changed\n" : "";
  out += fmt::format("examined {} pack(s), {} ({} listed by no index file); {} backup(s) reference {} chunk(s), {}\n",
                     r.packs_examined, FormatBytes(r.bytes_examined), r.orphan_packs, r.backups, r.referenced_chunks,
                     FormatBytes(r.bytes_referenced));
  out += fmt::format("{} pack(s) {}removed ({}); {} pack(s) {}repacked ({}) into {} new pack(s) ({}{})\n",
                     r.packs_removed, would, FormatBytes(r.bytes_removed), r.packs_repacked, would,
                     FormatBytes(r.bytes_repacked), r.packs_written, r.dry_run ? "about " : "",
                     FormatBytes(r.bytes_written));
  if (r.bytes_unreferenced_kept > 0)
    out += fmt::format("{} unreferenced in packs kept (mostly referenced: not worth rewriting)\n",
                       FormatBytes(r.bytes_unreferenced_kept));
  for (const auto& p : r.unreadable_packs) out += fmt::format("kept, unreadable: {}\n", p);
  out += fmt::format("{} {}reclaimed\n", FormatBytes(r.bytes_reclaimed), r.dry_run ? "would be " : "");
  return out;
}

}  // namespace pgvault
