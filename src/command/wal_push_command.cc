#include "command/wal_push_command.h"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "core/test_pause.h"
#include "pg/wal_segment.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {

WalPushResult RunWalPush(const WalPushOptions& options) {
  if (options.path.empty()) throw UsageError("wal-push needs the path of the WAL file (%p in archive_command)");
  WalPushResult result;
  result.name = std::filesystem::path(options.path).filename().string();
  WalArchive::ObjectPath(result.name);  // rejects names that are not WAL files, before any I/O
  Codec codec = CodecFromName(options.compress);

  std::string content = ReadWholeFile(options.path);
  result.size = content.size();
  auto repo = Repository::Open(OpenStorage(options.repo));

  // The first WAL (or backup) of a cluster binds the repository to it.
  auto kind = ClassifyWalFileName(result.name);
  uint64_t sysid = repo->config().system_identifier.value_or(0);
  if (sysid == 0) {
    if (kind != WalFileKind::kSegment && kind != WalFileKind::kPartial)
      throw Error(fmt::format("repository {} is not yet bound to a cluster; archive a WAL segment or take a backup "
                              "before {}",
                              repo->Describe(), result.name));
    sysid = ParseLongPageHeader(content, result.name).system_identifier;
    auto lock = repo->LockForWrite("wal-push");
    repo->BindSystemIdentifier(sysid);
  }
  TestPausePoint("wal-push-read");
  WalArchive archive(repo->storage(), sysid);
  auto outcome = archive.Push(result.name, content, codec, options.compress_level);
  result.already_archived = outcome == WalArchive::PushResult::kAlreadyArchived;
  if (result.already_archived)
    spdlog::info("{} was already archived in {} with identical content", result.name, repo->Describe());
  return result;
}

}  // namespace pgvault
