// ObjectStore: the few primitives an object-store service offers for one
// bucket (S3, GCS) or container (Azure Blob). Each service has one driver
// implementing this; ObjectStoreStorage builds the repository's Storage
// promises (atomic commit, commit-if-absent, locks, read-ahead) on top of it
// once, for all of them — as pgBackRest keeps one storage interface with thin
// drivers.
//
// Keys are full object names inside the bucket ("pgvault/prod/packs/ab/x.pack").
// Drivers retry transient failures themselves (see retry_policy.h) and throw:
//   NotFoundError        the object does not exist (Get, Head never throws it)
//   ObjectStoreError     anything else, after retries, with endpoint,
//                        operation, HTTP status and the service's error code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "storage/storage.h"

namespace pgvault {

// A failure talking to an object store, after retries. The message names the
// endpoint, the operation and the object, the HTTP status and the service's
// error code, never a credential.
class ObjectStoreError : public Error {
 public:
  ObjectStoreError(const std::string& message, long http_status, std::string code)
      : Error(message), http_status_(http_status), code_(std::move(code)) {}
  long http_status() const { return http_status_; }   // 0: no response (network)
  const std::string& code() const { return code_; }   // "NoSuchBucket", "AuthorizationFailure", ...

 private:
  long http_status_;
  std::string code_;
};

// A large object uploaded in parts: S3 multipart upload, Azure blocks + block
// list. Nothing is visible until Complete(); Abort() (or destroying an
// unfinished upload) discards the parts where the service allows it.
class MultipartUpload {
 public:
  virtual ~MultipartUpload() = default;
  // Parts are numbered from 1 in order; every part but the last is at least
  // the driver's MinimumPartSize().
  virtual void UploadPart(int number, std::string_view data) = 0;
  // Makes the object visible. With `if_absent`, returns false (and discards
  // the parts) when an object already exists at the key.
  virtual bool Complete(bool if_absent) = 0;
  virtual void Abort() = 0;
};

struct ListPage {
  std::vector<ObjectInfo> objects;  // full keys in ObjectInfo::path
  std::string next;                 // continuation; empty when this was the last page
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // "s3://bucket at http://127.0.0.1:9000" — for messages.
  virtual std::string Describe() const = 0;
  // Size of the object, or nullopt when it does not exist.
  virtual std::optional<uint64_t> Head(const std::string& key) = 0;
  // The whole object, or `length` bytes from `offset` (fewer when the object
  // ends first). Throws NotFoundError.
  virtual std::string Get(const std::string& key, std::optional<std::pair<uint64_t, uint64_t>> range) = 0;
  // Stores `data` at `key` in one request, with an integrity digest the
  // service checks. With `if_absent`, returns false when an object exists
  // already (conditional write where the service has one; see the driver).
  virtual bool Put(const std::string& key, std::string_view data, bool if_absent) = 0;
  // The object with its version tag (the service's ETag), or nullopt.
  struct Versioned {
    std::string data;
    std::string etag;
  };
  virtual std::optional<Versioned> GetVersioned(const std::string& key) = 0;
  // Replaces the object only if its version is still `etag` (If-Match);
  // returns the new version's tag, or nullopt when it changed or is gone.
  // Services that ignore If-Match (Swift's s3api, s3rver) replace it anyway.
  virtual std::optional<std::string> PutIfMatch(const std::string& key, std::string_view data,
                                                const std::string& etag) = 0;
  virtual std::unique_ptr<MultipartUpload> StartMultipart(const std::string& key) = 0;
  virtual size_t MinimumPartSize() const = 0;
  // One page of the objects whose key starts with `prefix`.
  virtual ListPage List(const std::string& prefix, const std::string& continuation) = 0;
  // Deleting a missing object is not an error.
  virtual void Delete(const std::string& key) = 0;
  // Creates the bucket or container; one that exists already is fine.
  virtual void CreateContainer() = 0;
  // Discards uploads under `prefix` that were started and never completed
  // (killed writers); returns how many. 0 where the service cleans up itself.
  virtual size_t AbortIncompleteUploads(const std::string& prefix) = 0;
};

}  // namespace pgvault
