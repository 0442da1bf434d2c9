// ObjectStoreStorage: the repository's Storage on an object store (any
// ObjectStore driver), under a key prefix.
//
// How each promise of storage.h is kept without a filesystem:
//   * atomic commit: an object becomes visible only when its single PUT or
//     its multipart upload's completion succeeds; an abandoned writer aborts
//     its upload. Parts upload in the background while the next fills:
//     memory per writer is two parts (32 MiB), whatever the object's size.
//   * commit-if-absent: a conditional write (If-None-Match: *) where the
//     service has one; WalArchive also checks for the object first.
//   * the writer lock: a lease object ("lock") holding the holder, a token
//     and an expiry, renewed in the background while held and deleted on
//     release. A holder that died leaves it until it expires (at once when
//     the holder was a process of this host that no longer exists).
//   * ranged reads: small reads fetch a read-ahead window, since a restore
//     reads a pack's chunks in order and one request per 1 MiB chunk would
//     be dominated by latency. The cache of windows is bounded.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "storage/object_store.h"
#include "storage/storage.h"

namespace pgvault {

struct ObjectStoreStorageOptions {
  size_t part_size = 16u << 20;        // multipart part size; also the single-PUT limit
  size_t read_ahead = 4u << 20;        // window fetched for a small ranged read; 0 disables
  size_t read_ahead_windows = 16;      // windows kept (memory: read_ahead * this)
  int lock_lease_seconds = 120;        // expiry of the lock object; renewed every third of it
};

class ObjectStoreStorage : public Storage {
 public:
  // `location` is the URL the user gave, for messages; `prefix` the key
  // prefix inside the bucket ("" for the bucket's root).
  ObjectStoreStorage(std::unique_ptr<ObjectStore> store, std::string location, std::string prefix,
                     ObjectStoreStorageOptions options = {});

  std::string Describe() const override { return location_; }
  bool Exists(const std::string& path) override;
  std::string Read(const std::string& path) override;
  std::string ReadRange(const std::string& path, uint64_t offset, uint64_t length) override;
  uint64_t Size(const std::string& path) override;
  std::unique_ptr<ObjectWriter> Create(const std::string& path) override;
  std::vector<ObjectInfo> List(const std::string& prefix) override;
  void Remove(const std::string& path) override;
  size_t RemoveUncommitted(const std::string& prefix) override;
  std::unique_ptr<StorageLock> Lock(const std::string& name, const std::string& holder_info) override;

  ObjectStore& store() { return *store_; }
  const ObjectStoreStorageOptions& options() const { return options_; }
  std::string Key(const std::string& path) const { return prefix_.empty() ? path : prefix_ + "/" + path; }

 private:
  std::shared_ptr<const std::string> Window(const std::string& key, uint64_t start);
  std::unique_ptr<ObjectStore> store_;
  std::string location_, prefix_;
  ObjectStoreStorageOptions options_;
  // Read-ahead windows, most recently used first.
  std::mutex cache_mutex_;
  using WindowKey = std::pair<std::string, uint64_t>;
  struct WindowKeyHash {
    size_t operator()(const WindowKey& k) const { return std::hash<std::string>()(k.first) ^ (k.second * 0x9e3779b97f4a7c15ull); }
  };
  std::list<std::pair<WindowKey, std::shared_ptr<const std::string>>> windows_;
  std::unordered_map<WindowKey, decltype(windows_)::iterator, WindowKeyHash> window_index_;
};

}  // namespace pgvault
