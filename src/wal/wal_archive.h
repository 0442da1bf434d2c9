// The WAL area of a repository (format v1, docs/repository-format.md, "WAL
// archive"):
//
//   wal/<first 16 characters of the name>/<name>   segments, .partial, .backup
//   wal/history/<name>                             timeline .history files
//
// Each object is a WalObject (wal_object.h). Archived files are immutable: a
// name is written once, and pushing it again succeeds only with identical
// content. This needs no repository lock, so archiving never waits for a
// backup.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compress/codec.h"
#include "pg/wal_segment.h"
#include "wal/wal_object.h"

namespace pgvault {

class Storage;
class Repository;

// The system identifier WAL pushed to `repo` must carry. A repository not yet
// bound to a cluster is bound here, from the segment `name` being pushed
// (under the writer lock, briefly).
uint64_t BindRepositoryForWal(Repository& repo, const std::string& name, std::string_view content);

struct ArchivedWalFile {
  std::string name;
  uint64_t stored_size = 0;
};

class WalArchive {
 public:
  // `system_identifier`: the repository's cluster; WAL of any other is refused.
  WalArchive(Storage& storage, uint64_t system_identifier)
      : storage_(storage), system_identifier_(system_identifier) {}

  // Where `name` lives in the repository. Throws UsageError for a name that
  // is not a WAL archive file name.
  static std::string ObjectPath(const std::string& name);

  enum class PushResult { kStored, kAlreadyArchived };
  // Checks `content` (a segment's page header names this cluster and this
  // segment; sizes match), then stores it durably. Pushing identical content
  // again is a success; different content under an archived name is an
  // Error, and the archived object stays as it was.
  PushResult Push(const std::string& name, std::string_view content, Codec codec, int level);

  // The file as archived, verified; nullopt when `name` is not archived.
  // Throws IntegrityError naming the object when it is damaged, or when its
  // header names another cluster than this archive's (0 for .history and
  // .backup files). `header_out` receives the proven header.
  std::optional<std::string> Fetch(const std::string& name, WalObjectHeader* header_out = nullptr);

  // The header of an archived file, or nullopt (cheap: a ranged read). Its
  // fields are unproven: whether `name` is archived is all it can tell for
  // sure; a decision that rests on a field takes it from Fetch.
  std::optional<WalObjectHeader> Stat(const std::string& name);

  // Polls until `name` is archived (true) or `timeout` has passed (false):
  // how a backup waits for its last segment. `between_polls` runs between
  // two looks (a check for interruption may throw from it).
  bool WaitUntilArchived(const std::string& name, std::chrono::seconds timeout,
                         const std::function<void()>& between_polls = {});

  // Every archived file, sorted by name.
  std::vector<ArchivedWalFile> List();

 private:
  void CheckContent(const std::string& name, WalFileKind kind, std::string_view content);
  bool SameAsArchived(const std::string& name, std::string_view content);
  Storage& storage_;
  uint64_t system_identifier_;
};

}  // namespace pgvault
