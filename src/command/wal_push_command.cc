#include "command/wal_push_command.h"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/posix_io.h"
#include "core/test_pause.h"
#include "pg/wal_segment.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/async_archiver.h"
#include "wal/wal_archive.h"

namespace pgvault {

WalPushResult RunWalPush(const WalPushOptions& options) {
  if (options.path.empty()) throw UsageError("wal-push needs the path of the WAL file (%p in archive_command)");
  WalPushResult result;
  result.name = std::filesystem::path(options.path).filename().string();
  WalArchive::ObjectPath(result.name);  // rejects names that are not WAL files, before any I/O
  Codec codec = CodecFromName(options.compress);
  if (options.async) {
    AsyncArchiveOptions a;
    a.repo = options.repo;
    std::filesystem::path wal_dir = std::filesystem::absolute(options.path).parent_path();
    a.wal_dir = wal_dir.string();
    a.spool = options.spool.empty() ? (wal_dir / "pgvault-spool").string()
                                    : std::filesystem::absolute(options.spool).string();
    a.codec = codec;
    a.compress_level = options.compress_level;
    a.jobs = options.async_jobs;
    a.queue_max = options.async_queue_max;
    AsyncPushAndWait(a, result.name);
    return result;
  }

  MappedFile file(options.path);
  std::string_view content = file.data();
  result.size = content.size();
  auto repo = Repository::Open(OpenStorage(options.repo));

  uint64_t sysid = BindRepositoryForWal(*repo, result.name, content);
  TestPausePoint("wal-push-read");
  WalArchive archive(repo->storage(), sysid);
  auto outcome = archive.Push(result.name, content, codec, options.compress_level);
  result.already_archived = outcome == WalArchive::PushResult::kAlreadyArchived;
  if (result.already_archived)
    spdlog::info("{} was already archived in {} with identical content", result.name, repo->Describe());
  return result;
}

}  // namespace pgvault
