#include "wal/wal_archive.h"

#include <algorithm>
#include <chrono>

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
  auto kind = ClassifyWalFileName(name);
  if (kind != WalFileKind::kSegment && kind != WalFileKind::kPartial)
    throw Error(fmt::format("repository {} is not yet bound to a cluster; archive a WAL segment or take a backup "
                            "before {}",
                            repo.Describe(), name));
  uint64_t sysid = ParseLongPageHeader(content, name).system_identifier;
  auto lock = repo.LockForWrite("wal-push");
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
  uint64_t log = std::stoull(name.substr(8, 8), nullptr, 16);
  uint64_t seg = std::stoull(name.substr(16, 8), nullptr, 16);
  uint64_t segments_per_log = 0x100000000ull / h.segment_size;
  CheckSegmentHeader(std::string(content.substr(0, kWalPageSize)), name, log * segments_per_log + seg,
                     h.segment_size);
}

WalArchive::PushResult WalArchive::Push(const std::string& name, std::string_view content, Codec codec, int level) {
  std::string path = ObjectPath(name);
  WalFileKind kind = *ClassifyWalFileName(name);
  CheckContent(name, kind, content);
  if (auto existing = Stat(name)) {
    Digest ours = Sha256(content);
    if (existing->size == content.size() && existing->sha256 == ours) return PushResult::kAlreadyArchived;
    throw Error(fmt::format("WAL file {} is already archived in {} with different content ({} bytes, sha256 {}; this "
                            "one: {} bytes, sha256 {}): refusing to overwrite it. Another cluster, or a restored "
                            "copy on the same timeline, may be archiving into this repository",
                            name, storage_.Describe(), existing->size, DigestHex(existing->sha256), content.size(),
                            DigestHex(ours)));
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
    auto existing = Stat(name);
    if (existing && existing->size == content.size() && existing->sha256 == Sha256(content))
      return PushResult::kAlreadyArchived;
    throw Error(fmt::format("WAL file {} was archived in {} with different content at the same moment: refusing to "
                            "overwrite it",
                            name, storage_.Describe()));
  }
  return PushResult::kStored;
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

std::optional<std::string> WalArchive::Fetch(const std::string& name) {
  std::string path = ObjectPath(name);
  std::string object;
  try {
    object = storage_.Read(path);
  } catch (const NotFoundError&) {
    return std::nullopt;
  }
  return DecodeWalObject(object, fmt::format("archived WAL file {} ({})", name, path));
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
