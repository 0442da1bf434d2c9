#include "wal/wal_archive.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/timestamp.h"
#include "pg/lsn.h"
#include "repo/repository.h"
#include "storage/storage.h"

namespace pgvault {

uint64_t BindRepositoryForWal(Repository& repo, const std::string& name, std::string_view content) {
  if (auto bound = repo.config().system_identifier) return *bound;
  // The first backup binds the repository under the writer lock, which it
  // then holds until it ends, while it waits for pushes to archive its WAL.
  // A push (or a long-lived asynchronous worker) that opened the repository
  // before that bind must see it, not ask for the lock: it would be refused
  // until the backup ended, and the backup would wait for it.
  if (auto bound = repo.ReloadConfig().system_identifier) return *bound;
  auto kind = ClassifyWalFileName(name);
  if (kind != WalFileKind::kSegment && kind != WalFileKind::kPartial)
    throw Error(fmt::format("repository {} is not yet bound to a cluster; archive a WAL segment or take a backup "
                            "before {}",
                            repo.Describe(), name));
  uint64_t sysid = ParseLongPageHeader(content, name).system_identifier;
  // Held for as little as possible: backups wait for it (LockForWrite). The
  // leftovers of killed writers are the next backup's to remove.
  auto lock = repo.LockForWrite("wal-push", /*clean_leftovers=*/false);
  repo.BindSystemIdentifier(sysid);
  return *repo.config().system_identifier;
}

std::string WalArchive::ObjectPath(const std::string& name) {
  auto kind = ClassifyWalFileName(name);
  if (!kind)
    throw UsageError(fmt::format("'{}' is not a WAL file name (expected a segment such as 000000010000000000000001, "
                                 "or a .partial, .backup or .history file)",
                                 name));
  if (*kind == WalFileKind::kHistory) return "wal/history/" + name;
  return "wal/" + name.substr(0, 16) + "/" + name;
}

void WalArchive::CheckContent(const std::string& name, WalFileKind kind, std::string_view content) {
  if (kind != WalFileKind::kSegment && kind != WalFileKind::kPartial) return;
  WalLongPageHeader h = ParseLongPageHeader(content, name);
  if (h.system_identifier != system_identifier_)
    throw Error(fmt::format("WAL file {} belongs to the cluster with system identifier {}, but this repository holds "
                            "cluster {}: refusing to archive it (give each cluster its own repository)",
                            name, h.system_identifier, system_identifier_));
  if (content.size() != h.segment_size)
    throw Error(fmt::format("WAL file {} has {} bytes, but its header says segments are {} bytes: not archiving a "
                            "truncated or padded segment",
                            name, content.size(), h.segment_size));
  CheckSegmentHeader(std::string(content.substr(0, kWalPageSize)), name,
                     ParseWalSegmentName(name.substr(0, 24), h.segment_size).segment_number, h.segment_size);
}

WalArchive::PushResult WalArchive::Push(const std::string& name, std::string_view content, Codec codec, int level) {
  std::string path = ObjectPath(name);
  WalFileKind kind = *ClassifyWalFileName(name);
  CheckContent(name, kind, content);
  if (Stat(name)) {
    if (SameAsArchived(name, content)) return PushResult::kAlreadyArchived;
    throw Error(fmt::format("WAL file {} is already archived in {} with different content: refusing to overwrite "
                            "it. Another cluster, or a restored copy on the same timeline, may be archiving into "
                            "this repository",
                            name, storage_.Describe()));
  }
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  uint64_t sysid = (kind == WalFileKind::kSegment || kind == WalFileKind::kPartial) ? system_identifier_ : 0;
  std::string object = EncodeWalObject(content, codec, level, sysid, now_us);
  auto writer = storage_.Create(path);
  writer->Append(object);
  if (!writer->CommitIfAbsent()) {
    // Lost a race with another pusher of the same name: decide as above.
    if (SameAsArchived(name, content)) return PushResult::kAlreadyArchived;
    throw Error(fmt::format("WAL file {} was archived in {} with different content at the same moment: refusing to "
                            "overwrite it",
                            name, storage_.Describe()));
  }
  return PushResult::kStored;
}

bool WalArchive::SameAsArchived(const std::string& name, std::string_view content) {
  // Rare (a retry after a crash, a second archiver): read the archived file
  // back and compare bytes, which works for every object version. A damaged
  // archived copy is an error here too: it must not pass for "archived".
  std::optional<std::string> archived = Fetch(name);
  return archived && *archived == content;
}

std::optional<WalObjectHeader> WalArchive::Stat(const std::string& name) {
  std::string path = ObjectPath(name);
  std::string head;
  try {
    head = storage_.ReadRange(path, 0, kWalObjectHeaderSize);
  } catch (const NotFoundError&) {
    return std::nullopt;
  } catch (const IntegrityError&) {
    throw IntegrityError(fmt::format("archived WAL file {} ({}) is damaged: shorter than its header", name, path));
  }
  return DecodeWalObjectHeader(head, fmt::format("archived WAL file {} ({})", name, path));
}

std::optional<std::string> WalArchive::Fetch(const std::string& name, WalObjectHeader* header_out) {
  std::string path = ObjectPath(name);
  std::string object;
  try {
    object = storage_.Read(path);
  } catch (const NotFoundError&) {
    return std::nullopt;
  }
  std::string where = fmt::format("archived WAL file {} ({})", name, path);
  WalObjectHeader header;
  std::string content = DecodeWalObject(object, where, &header);
  // Push wrote the repository's system identifier into every segment's
  // header and 0 into the others'. Version 3 seals the header, so this is
  // where a foreign object shows; before it, also where a damaged one does.
  auto kind = ClassifyWalFileName(name);
  bool segment = kind == WalFileKind::kSegment || kind == WalFileKind::kPartial;
  uint64_t want = segment ? system_identifier_ : 0;
  if (header.system_identifier != want && (want != 0 || !segment))
    throw IntegrityError(fmt::format("{} is damaged or foreign: its header names system identifier {}, but {}", where,
                                     header.system_identifier,
                                     segment ? fmt::format("this repository holds cluster {}", want)
                                             : std::string("a history or backup file carries none (0)")));
  if (header_out) *header_out = header;
  return content;
}

bool WalArchive::WaitUntilArchived(const std::string& name, std::chrono::seconds timeout,
                                   const std::function<void()>& between_polls) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Stat(name)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (between_polls) between_polls();
  }
}

std::vector<ArchivedWalFile> WalArchive::List() {
  std::vector<ArchivedWalFile> out;
  for (const auto& info : storage_.List("wal")) {
    auto slash = info.path.rfind('/');
    std::string name = info.path.substr(slash + 1);
    if (!ClassifyWalFileName(name)) continue;  // not ours (or a temp file of a backend)
    out.push_back({name, info.size});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace pgvault
