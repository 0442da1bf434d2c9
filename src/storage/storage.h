// Storage: the one interface through which every repository byte passes.
//
// Like LevelDB's Env, it hides where bytes live. Paths are relative, '/'-
// separated keys ("packs/ab/abcd.pack"); a backend maps them to files or
// objects. The engine relies on these promises only:
//   * an object written with Create()+Commit() appears atomically and durably
//     at Commit(), or not at all (a crash before Commit leaves nothing visible);
//   * objects are never modified in place, only created or removed;
//   * List() returns committed objects only;
//   * Remove() is durable when it returns.
// Object stores (S3, Azure, GCS) implement the same interface.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace pgvault {

struct ObjectInfo {
  std::string path;  // relative to the storage root
  uint64_t size = 0;
};

// A new object being written. Nothing is visible until Commit(); destroying an
// uncommitted writer discards what was written.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual void Append(std::string_view data) = 0;
  virtual void Commit() = 0;
  // Like Commit(), but only if nothing exists at the path yet; returns false
  // (and discards what was written) when something does. Immutable objects,
  // such as archived WAL, are written this way so that no race can replace
  // one.
  virtual bool CommitIfAbsent() = 0;
  virtual uint64_t BytesWritten() const = 0;
};

// Held repository lock; released on destruction (and by the OS if the process
// dies, where the backend allows it).
// Lock() found the lock held by another live process. `holder` is that
// process's note ("pid N on HOST, 'COMMAND' since TIME"), empty if unknown.
class LockHeldError : public Error {
 public:
  LockHeldError(const std::string& message, std::string holder) : Error(message), holder_(std::move(holder)) {}
  const std::string& holder() const { return holder_; }

 private:
  std::string holder_;
};

class StorageLock {
 public:
  virtual ~StorageLock() = default;
  // Throws Error when the lock is known to be lost (an object-store lease
  // that could not be renewed in time, or was taken over): a writer calls it
  // before it commits. A POSIX lock cannot be lost.
  virtual void CheckHeld() const {}
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Human-readable location for messages, e.g. "/backups/repo".
  virtual std::string Describe() const = 0;

  virtual bool Exists(const std::string& path) = 0;
  // Whole object. Throws NotFoundError if it does not exist.
  virtual std::string Read(const std::string& path) = 0;
  // `length` bytes at `offset`. Throws NotFoundError, or IntegrityError if the
  // object is shorter than offset+length.
  virtual std::string ReadRange(const std::string& path, uint64_t offset, uint64_t length) = 0;
  virtual uint64_t Size(const std::string& path) = 0;
  // Starts a new object at `path`; an existing object at that path is replaced
  // atomically at Commit().
  virtual std::unique_ptr<ObjectWriter> Create(const std::string& path) = 0;
  // Every committed object whose path starts with `prefix` + "/" (or all when
  // prefix is empty), in no particular order. An object removed while the
  // listing runs may or may not be in it, and does not make it fail: readers
  // take no lock, so gc may remove objects under them.
  virtual std::vector<ObjectInfo> List(const std::string& prefix) = 0;
  // Removes an object; removing a missing object is not an error. The removal
  // is durable when this returns: gc and delete-backup order their removals
  // (a manifest before its file list, index files before their packs), and a
  // crash must not undo the first and keep the second.
  virtual void Remove(const std::string& path) = 0;
  // Removes several objects, each as Remove() does, all durable on return.
  // Backends may batch the durability work (one fsync per directory).
  virtual void RemoveObjects(const std::vector<std::string>& paths) {
    for (const auto& path : paths) Remove(path);
  }
  // Removes the directories under `prefix` + "/" that hold nothing (not
  // `prefix` itself), for backends that have directories; others have
  // nothing to do. A writer that was about to create an object in one of
  // them creates the directory again.
  virtual void RemoveEmptyDirectories(const std::string& prefix) { (void)prefix; }
  // Removes what writers that never committed left under `prefix` + "/" (on
  // POSIX, the temporary files of killed processes) and returns how many
  // objects that was. It cannot tell a dead writer from a live one, so the
  // caller must hold a lock that every writer under `prefix` takes.
  virtual size_t RemoveUncommitted(const std::string& prefix) = 0;
  // The same for an area written without such a lock (wal/): removes only
  // what writers left that has not changed for longer than `min_age`, which
  // the caller chooses far beyond the time any write takes, so that the
  // leftover is certainly abandoned. Returns how many objects it removed.
  // Backends whose uncommitted writes expire on their own have nothing to do.
  virtual size_t RemoveAbandoned(const std::string& prefix, std::chrono::seconds min_age) {
    (void)prefix;
    (void)min_age;
    return 0;
  }

  // Who may read what this storage creates, on backends where files have
  // owners and modes (POSIX): the owner alone (directories 0700, files 0600),
  // or with `group_access` also the owner's group, read-only (0750, 0640);
  // set explicitly, whatever the umask. The repository's config says which
  // (RepositoryConfig::group_access); object stores have access policies of
  // their own and ignore it.
  virtual void SetGroupAccess(bool group_access) { (void)group_access; }
  // Gives the root directory, if it exists already, the mode SetGroupAccess()
  // chose (repo init: the root may have been made by someone else, with any
  // mode). Throws Error naming the root when it cannot.
  virtual void RestrictRoot() {}

  // Takes the repository-wide writer lock named `name`, at once or not at
  // all: throws LockHeldError naming the current holder when it is taken.
  virtual std::unique_ptr<StorageLock> Lock(const std::string& name, const std::string& holder_info) = 0;

  // Convenience: Create + Append + Commit.
  void Write(const std::string& path, std::string_view data) {
    auto writer = Create(path);
    writer->Append(data);
    writer->Commit();
  }
};

// Opens storage for a repository location: a local directory, or an object
// store URL (s3://, gs://, azure://, https://ACCOUNT.blob.core.windows.net/),
// configured from the environment (storage_settings.h).
std::unique_ptr<Storage> OpenStorage(const std::string& location);

}  // namespace pgvault
