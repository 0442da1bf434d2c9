// Object stores for tests, each on free loopback ports and in a temporary
// directory of its own, killed (whole process group, SIGKILL) when the object
// dies, so a failing test never leaves one running (and, through
// setpriv --pdeathsig, not even when the test binary itself is killed;
// create servers on the test's main thread for that reason):
//
//   SwiftS3Server  OpenStack Swift 2.30 (Debian) with its s3api middleware: a
//                  real S3 API that verifies SigV4 signatures, Content-MD5 and
//                  part sizes like AWS; the conformance server. 3-4 s to start
//                  (4 Python servers), 10 s on a busy 2-CPU machine.
//   S3rverServer   s3rver 3.7.1 (npm): fast and permissive; checks the access
//                  key only, not signatures; no AbortMultipartUpload nor
//                  ListMultipartUploads. ~0.5 s to start.
//   AzuriteServer  Azurite (npm), blob service only, strict SharedKey auth.
//                  ~2 s to start.
//   FaultProxy     tests/support/fault_proxy.py in front of any of them:
//                  injected 500/503 answers, connection resets, delays.
//
// Tests skip, visibly, when the servers are not installed:
//   if (auto why = ObjectStoreServersUnavailable()) GTEST_SKIP() << *why;
// Under CI=true they never skip (scripts/setup installs everything there): a
// missing piece makes the server's start fail loudly instead.
//
// Damage tests: data_dir() is where a server keeps the stored bytes.
//   s3rver   <data_dir>/<bucket>/<key>._S3rver_object holds the object's bytes
//            as they were sent (with ._S3rver_metadata.json and
//            ._S3rver_object.md5 beside it); ObjectDataPath() names it.
//   Swift    <data_dir>/objects/<partition>/<suffix>/<hash>/<timestamp>.data
//            holds the bytes (metadata in its user.swift.metadata xattr);
//            ObjectDataPath() computes the path. Swift checks the stored MD5
//            while it serves a whole object: a damaged one is answered once,
//            200 with the damaged bytes, then moved to <data_dir>/quarantined/
//            (every later GET is 404 NoSuchKey). A range GET neither checks
//            nor quarantines. Multipart objects are a manifest there: the
//            parts live in the container "<bucket>+segments".
//   Azurite  blobs are appended to extent files under
//            <data_dir>/__blobstorage__/ (the index is a LokiJS database,
//            __azurite_db_blob__.json); find a blob's bytes with
//            FindStoredBytes(data_dir(), payload). Azurite serves damaged
//            bytes as they are, with the Content-MD5 recorded at upload.
// Flip a byte in place with FlipByte(); overwrite or truncate the file to
// simulate worse.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace pgvault::test {

// Why the object-store servers cannot run here ("swift-proxy-server not
// installed; run scripts/setup"), or nullopt when they can, or when CI=true.
std::optional<std::string> ObjectStoreServersUnavailable();
// The same for one kind of server.
std::optional<std::string> SwiftUnavailable();
std::optional<std::string> S3rverUnavailable();
std::optional<std::string> AzuriteUnavailable();

// The repository's scripts/object-store-servers (package.json, node_modules).
std::string ObjectStoreServersDir();

// An HTTP answer received through curl.
struct HttpResponse {
  int status = 0;          // 0: no answer at all (connection refused or reset, timeout)
  std::string body;
  std::string curl_error;  // curl's stderr: why status is 0
  bool ok() const { return status >= 200 && status < 300; }
};

// What is common to the two S3 servers, so a test can run over both.
class S3Server {
 public:
  virtual ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  virtual std::string name() const = 0;  // "swift", "s3rver"
  const std::string& endpoint() const { return endpoint_; }  // "http://127.0.0.1:PORT", path-style
  int port() const { return port_; }
  virtual std::string access_key() const = 0;
  virtual std::string secret_key() const = 0;
  std::string region() const { return "us-east-1"; }
  const std::string& data_dir() const { return data_dir_; }

  // A SigV4-signed request with curl (--aws-sigv4, x-amz-content-sha256:
  // UNSIGNED-PAYLOAD; the credentials go in the URL's user info, as curl's
  // --user cannot name the access key "test:tester"). `target`: "/bucket",
  // "/bucket/key", "/bucket?list-type=2&prefix=a/" (already URL-encoded).
  // `via`: another endpoint to send it to instead (a FaultProxy's).
  // `headers`: "Name: value" lines to add. Never fails the test by itself.
  HttpResponse Request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::string& via = "", const std::vector<std::string>& headers = {},
                       int max_time_seconds = 30) const;
  // These fail the test (ADD_FAILURE + throw) unless the server says 2xx.
  void CreateBucket(const std::string& bucket) const;
  void PutObject(const std::string& bucket, const std::string& key, const std::string& data) const;
  std::string GetObject(const std::string& bucket, const std::string& key) const;
  // The file holding an object's stored bytes ("" if there is none).
  virtual std::string ObjectDataPath(const std::string& bucket, const std::string& key) const = 0;
  // The servers' logs (tails of them), for failure messages.
  virtual std::string Logs() const = 0;

 protected:
  explicit S3Server(const std::string& temp_prefix);
  TempDir dir_;
  std::string data_dir_;
  std::string endpoint_;
  int port_ = 0;
};

// OpenStack Swift (account, container, object and proxy servers, one replica,
// one device) with s3api and tempauth (user test:tester, key testing, admin).
// Uses Debian's /etc/swift/swift.conf (its path is hard-coded in Swift).
// Bucket names must be valid S3 names (3-63 characters: "b" is
// InvalidBucketName). Only S3 requests work: a Swift-native tempauth token
// (GET /auth/v1.0) needs a memcached server, which is not run (503).
class SwiftS3Server : public S3Server {
 public:
  SwiftS3Server();  // started, /healthcheck answered (throws after ~60 s with the logs)
  ~SwiftS3Server() override;
  std::string name() const override { return "swift"; }
  std::string access_key() const override { return "test:tester"; }
  std::string secret_key() const override { return "testing"; }
  // data_dir() is the device's directory (accounts/, containers/, objects/, quarantined/).
  std::string ObjectDataPath(const std::string& bucket, const std::string& key) const override;
  std::string Logs() const override;

 private:
  void WriteConfig();
  bool TryStart(std::string& why);
  void Kill();
  int account_port_ = 0, container_port_ = 0, object_port_ = 0;
  std::vector<std::unique_ptr<BackgroundProcess>> processes_;
};

// s3rver (--no-vhost-buckets; NODE_OPTIONS=--openssl-legacy-provider, which
// its ListObjectsV2 continuation tokens need). Access key and secret S3RVER.
class S3rverServer : public S3Server {
 public:
  S3rverServer();
  ~S3rverServer() override;
  std::string name() const override { return "s3rver"; }
  std::string access_key() const override { return "S3RVER"; }
  std::string secret_key() const override { return "S3RVER"; }
  std::string ObjectDataPath(const std::string& bucket, const std::string& key) const override;
  std::string Logs() const override;

 private:
  std::unique_ptr<BackgroundProcess> process_;
};

// Azurite's blob service (strict: no --loose; --skipApiVersionCheck so newer
// SDK API versions are accepted), path-style URLs under /devstoreaccount1.
class AzuriteServer {
 public:
  AzuriteServer();
  ~AzuriteServer();
  AzuriteServer(const AzuriteServer&) = delete;
  AzuriteServer& operator=(const AzuriteServer&) = delete;

  int port() const { return port_; }
  std::string blob_endpoint() const;  // "http://127.0.0.1:PORT/devstoreaccount1"
  std::string account() const { return "devstoreaccount1"; }
  std::string key() const;  // the well-known development key (base64)
  // "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=<key>;BlobEndpoint=<blob_endpoint>;"
  std::string connection_string() const;
  const std::string& data_dir() const { return data_dir_; }

  // A SharedKey-signed request with curl. `target`: below the account,
  // "/container?restype=container", "/container/blob" (URL-encoded). A PUT
  // with a body is a Put Blob (x-ms-blob-type: BlockBlob). `via`: a blob
  // endpoint to use instead (a FaultProxy's endpoint()). `key`: another
  // account key (e.g. a wrong one). Never fails the test by itself.
  HttpResponse Request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::string& via = "", const std::string& key = "",
                       int max_time_seconds = 30) const;
  // These fail the test unless Azurite says 2xx.
  void CreateContainer(const std::string& container) const;
  void PutBlob(const std::string& container, const std::string& blob, const std::string& data) const;
  std::string GetBlob(const std::string& container, const std::string& blob) const;
  std::string Logs() const;

 private:
  TempDir dir_;
  std::string data_dir_;
  int port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

// The Authorization header value ("SharedKey account:signature") of an Azure
// Storage request (string-to-sign of API version 2015-02-21 and later).
// `path`: the URL's path, account included in path-style
// ("/devstoreaccount1/c/b"); `query`: decoded name/value pairs; `headers`:
// every header that is sent (names in any case; Content-Length "0" counts as
// empty). Exposed for tests of other Azure clients.
std::string AzureSharedKeyAuthorization(const std::string& account, const std::string& base64_key,
                                        const std::string& method, const std::string& path,
                                        const std::multimap<std::string, std::string>& query,
                                        const std::map<std::string, std::string>& headers);

// Places in the files under `root` where `needle` is stored verbatim.
struct StoredCopy {
  std::string path;
  std::uint64_t offset = 0;
};
std::vector<StoredCopy> FindStoredBytes(const std::string& root, const std::string& needle);
// Inverts every bit of the byte at `offset` in `path`, in place.
void FlipByte(const std::string& path, std::uint64_t offset);

// tests/support/fault_proxy.py, listening on a free loopback port in front of
// `upstream` (an endpoint; its path, e.g. Azurite's "/devstoreaccount1", is
// kept in endpoint() and requests are forwarded unchanged, Host included, so
// signatures made for endpoint() stay valid). A failure rate of 1 fails every
// request (500, 503 or a reset, never a mere delay); 0 forwards all.
class FaultProxy {
 public:
  // `faults`: the kinds to pick from, default all: "500", "503",
  // "reset-before-body", "reset-after-forward", "delay" ("reset": both resets).
  FaultProxy(const std::string& upstream, double failure_rate, int delay_seconds = 3,
             std::optional<std::uint64_t> seed = std::nullopt, const std::vector<std::string>& faults = {});
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  const std::string& endpoint() const { return endpoint_; }  // "http://127.0.0.1:PORT[/path of upstream]"
  int port() const { return port_; }
  // Applies from the next request on.
  void SetFailureRate(double rate);
  // Counted from the proxy's log, so far.
  int requests() const;         // requests received
  int faults_injected() const;  // of which met a fault (delays included)
  std::map<std::string, int> fault_counts() const;  // by kind
  std::string Log() const;

 private:
  TempDir dir_;
  std::string endpoint_;
  int port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace pgvault::test
