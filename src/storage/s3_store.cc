#include "storage/s3_store.h"

#include <atomic>
#include <cctype>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/decimal_number.h"
#include "core/error.h"
#include "core/hex.h"
#include "crypto/base64.h"
#include "crypto/md5.h"
#include "crypto/sha256.h"
#include "storage/aws_sigv4.h"
#include "storage/http_client.h"
#include "storage/retry_policy.h"
#include "storage/xml_reader.h"

namespace pgvault {

namespace {

constexpr const char* kEmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// An ETag without its quotes (and a weak validator's W/), in lower case.
std::string NormalizedEtag(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  for (char& c : etag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return etag;
}

bool IsHex(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// "<32 hex digits>-<part count>", the form S3 gives an object made by a
// multipart upload.
bool IsMultipartEtag(const std::string& etag) {
  auto dash = etag.find('-');
  if (dash != 32 || !IsHex(std::string_view(etag).substr(0, 32))) return false;
  std::string_view count = std::string_view(etag).substr(33);
  return !count.empty() && count.find_first_not_of("0123456789") == std::string_view::npos;
}

// The ETag S3 gives the object completed from parts with these ETags: the
// MD5 of the parts' binary MD5s, "-", the number of parts. "" when a part's
// ETag is not an MD5 (then there is nothing to compare).
std::string MultipartEtag(const std::vector<std::string>& part_etags) {
  std::string digests;
  for (const auto& etag : part_etags) {
    std::string hex = NormalizedEtag(etag);
    if (hex.size() != 32 || !IsHex(hex)) return "";
    std::vector<uint8_t> raw = HexDecode(hex);
    digests.append(reinterpret_cast<const char*>(raw.data()), raw.size());
  }
  std::string md5 = Md5(digests);
  return fmt::format("{}-{}", HexEncode({reinterpret_cast<const uint8_t*>(md5.data()), md5.size()}),
                     part_etags.size());
}

class S3Store : public ObjectStore {
 public:
  S3Store(const ObjectStoreLocation& location, const StorageSettings& settings, AwsCredentials credentials)
      : location_(location),
        settings_(settings),
        credentials_(std::move(credentials)),
        http_(HttpSettings{settings.verify_tls, settings.ca_file, 10, settings.stall_timeout_seconds}),
        retry_(RetryPolicy::FromEnvironment()) {
    bool gcs = location.kind == ObjectStoreKind::kGcs;
    region_ = settings.s3_region.empty() ? (gcs ? "auto" : "us-east-1") : settings.s3_region;
    std::string endpoint = settings.s3_endpoint;
    if (endpoint.empty())
      endpoint = gcs ? "https://storage.googleapis.com" : fmt::format("https://s3.{}.amazonaws.com", region_);
    // Path style for a custom endpoint (a bucket name rarely resolves as a
    // subdomain of one), virtual-host style for AWS and GCS.
    path_style_ = settings.s3_uri_style.empty() ? !settings.s3_endpoint.empty() : settings.s3_uri_style == "path";
    EndpointParts parts = SplitEndpoint(endpoint);
    scheme_ = parts.scheme;
    host_ = parts.authority;
    base_path_ = parts.path;
    // A bucket name with '.' breaks TLS as a host name (the wildcard
    // certificate covers one label): such buckets go path style.
    if (!path_style_ && location.bucket.find('.') != std::string::npos) path_style_ = true;
    if (!path_style_) host_ = location.bucket + "." + host_;
    describe_ = fmt::format("{} at {}", location.url, endpoint);
  }

  std::string Describe() const override { return describe_; }

  std::optional<uint64_t> Head(const std::string& key) override {
    auto head = HeadObject(key);
    if (!head) return std::nullopt;
    return head->size;
  }

  std::string Get(const std::string& key, std::optional<std::pair<uint64_t, uint64_t>> range) override {
    std::vector<std::pair<std::string, std::string>> headers;
    if (range) {
      if (range->second == 0) return "";
      headers.emplace_back("Range", fmt::format("bytes={}-{}", range->first, range->first + range->second - 1));
    }
    HttpResponse r = Send("GET", key, {}, headers, "", "GET " + key);
    if (r.status == 416) return "";  // the range starts at or past the end
    if (r.status == 404) {
      std::string code = XmlFirst(r.body, "Code").value_or("");
      if (code == "NoSuchBucket") throw ResponseError(describe_, "GET " + key, r);
      throw NotFoundError(fmt::format("{}/{}: no such object", describe_, key));
    }
    if (r.status != 200 && r.status != 206) throw ResponseError(describe_, "GET " + key, r);
    return RequestedRange(std::move(r), range);
  }

  bool Put(const std::string& key, std::string_view data, bool if_absent) override {
    auto headers = UploadHeaders(data);
    headers.emplace_back("Content-Type", "application/octet-stream");
    AddEncryptionHeaders(headers);
    if (if_absent) {
      // Not every S3-compatible service honours a conditional PUT (Swift's
      // s3api and s3rver ignore it and replace the object): look first, so
      // that only a true race between two writers can slip through there.
      if (Head(key)) return false;
      AddConditionalHeader(headers);
    }
    std::string hash = DigestHex(Sha256(data));
    HttpResponse r = Send("PUT", key, {}, headers, data, "PUT " + key, hash);
    if (r.status == 200) return true;
    if (if_absent && (r.status == 412 || r.status == 409)) return false;
    if (if_absent && r.status == 501 && conditional_writes_) {
      // The service has no conditional writes (older S3-compatibles): the
      // caller's existence check before the write is all there is.
      spdlog::debug("{}: conditional PUT not implemented, writing without If-None-Match", describe_);
      conditional_writes_ = false;
      return Put(key, data, if_absent);
    }
    throw ResponseError(describe_, "PUT " + key, r);
  }

  std::optional<Versioned> GetVersioned(const std::string& key) override {
    HttpResponse r = Send("GET", key, {}, {}, "", "GET " + key);
    if (r.status == 404 && XmlFirst(r.body, "Code").value_or("") != "NoSuchBucket") return std::nullopt;
    if (r.status != 200) throw ResponseError(describe_, "GET " + key, r);
    return Versioned{std::move(r.body), r.Header("etag")};
  }

  std::optional<std::string> PutIfMatch(const std::string& key, std::string_view data,
                                        const std::string& etag) override {
    auto headers = UploadHeaders(data);
    headers.emplace_back("Content-Type", "application/octet-stream");
    AddEncryptionHeaders(headers);
    // Compared first, whatever the service: some ignore If-Match silently
    // (s3rver), some refuse it (Swift's s3api: 501). Where it is ignored,
    // only a true race between two writers can slip between the two steps.
    auto current = GetVersioned(key);
    if (!current || current->etag != etag) return std::nullopt;
    if (conditional_writes_) headers.emplace_back("If-Match", etag);
    HttpResponse r = Send("PUT", key, {}, headers, data, "PUT " + key, DigestHex(Sha256(data)));
    if (r.status == 200) return r.Header("etag");
    if (r.status == 412 || r.status == 404 || r.status == 409) return std::nullopt;
    if (r.status == 501 && conditional_writes_) {
      spdlog::debug("{}: conditional PUT not implemented, comparing versions before writing", describe_);
      conditional_writes_ = false;
      return PutIfMatch(key, data, etag);
    }
    throw ResponseError(describe_, "PUT " + key, r);
  }

  std::unique_ptr<MultipartUpload> StartMultipart(const std::string& key) override;
  size_t MinimumPartSize() const override { return 5u << 20; }

  ListPage List(const std::string& prefix, const std::string& continuation) override {
    std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"}, {"prefix", prefix}};
    if (!continuation.empty()) query.emplace_back("continuation-token", continuation);
    HttpResponse r = Send("GET", "", query, {}, "", "LIST " + prefix);
    if (r.status != 200) throw ResponseError(describe_, "LIST " + prefix, r);
    ListPage page;
    for (std::string_view contents : XmlElements(r.body, "Contents")) {
      ObjectInfo info;
      info.path = XmlFirst(contents, "Key").value_or("");
      std::string size = XmlFirst(contents, "Size").value_or("0");
      auto value = ParseDecimal(size);
      if (!value)
        throw Error(fmt::format("{}: LIST {} answered the size '{}' for {}, which is not a number", describe_, prefix,
                                size, info.path));
      info.size = *value;
      page.objects.push_back(std::move(info));
    }
    if (XmlFirst(r.body, "IsTruncated").value_or("false") == "true") {
      page.next = XmlFirst(r.body, "NextContinuationToken").value_or("");
      if (page.next.empty())
        throw ObjectStoreError(fmt::format("{}: LIST {} is truncated but has no continuation token", describe_, prefix),
                               r.status, "");
    }
    return page;
  }

  void Delete(const std::string& key) override {
    HttpResponse r = Send("DELETE", key, {}, {}, "", "DELETE " + key);
    if (r.status == 204 || r.status == 200 || r.status == 404) return;
    throw ResponseError(describe_, "DELETE " + key, r);
  }

  size_t AbortIncompleteUploads(const std::string& prefix) override {
    size_t aborted = 0;
    std::string key_marker, upload_marker;
    for (;;) {
      std::vector<std::pair<std::string, std::string>> query = {{"uploads", ""}, {"prefix", prefix}};
      if (!key_marker.empty()) {
        query.emplace_back("key-marker", key_marker);
        query.emplace_back("upload-id-marker", upload_marker);
      }
      HttpResponse r = Send("GET", "", query, {}, "", "LIST UPLOADS " + prefix);
      if (r.status == 501 || r.status == 405) return aborted;  // not offered (s3rver)
      if (r.status != 200) throw ResponseError(describe_, "LIST UPLOADS " + prefix, r);
      for (std::string_view upload : XmlElements(r.body, "Upload")) {
        std::string key = XmlFirst(upload, "Key").value_or("");
        std::string id = XmlFirst(upload, "UploadId").value_or("");
        AbortUpload(key, id);
        ++aborted;
      }
      if (XmlFirst(r.body, "IsTruncated").value_or("false") != "true") return aborted;
      key_marker = XmlFirst(r.body, "NextKeyMarker").value_or("");
      upload_marker = XmlFirst(r.body, "NextUploadIdMarker").value_or("");
      if (key_marker.empty()) return aborted;
    }
  }

  void CreateContainer() override {
    // Outside us-east-1, AWS wants the region named in the body.
    std::string body;
    if (location_.kind == ObjectStoreKind::kS3 && region_ != "us-east-1")
      body = "<CreateBucketConfiguration><LocationConstraint>" + XmlEscape(region_) +
             "</LocationConstraint></CreateBucketConfiguration>";
    HttpResponse r = Send("PUT", "", {}, body.empty() ? std::vector<std::pair<std::string, std::string>>{}
                                                      : UploadHeaders(body),
                          body, "CREATE BUCKET " + location_.bucket, DigestHex(Sha256(body)));
    if (r.status == 200) return;
    // Ours already; BucketAlreadyExists would be someone else's.
    if (r.status == 409 && XmlFirst(r.body, "Code").value_or("") == "BucketAlreadyOwnedByYou") return;
    throw ResponseError(describe_, "CREATE BUCKET " + location_.bucket, r);
  }

  // --- used by the multipart upload ---

  std::string InitiateUpload(const std::string& key) {
    std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/octet-stream"}};
    AddEncryptionHeaders(headers);
    HttpResponse r = Send("POST", key, {{"uploads", ""}}, headers, "", "START MULTIPART " + key);
    if (r.status != 200) throw ResponseError(describe_, "START MULTIPART " + key, r);
    auto id = XmlFirst(r.body, "UploadId");
    if (!id || id->empty())
      throw ObjectStoreError(fmt::format("{}: START MULTIPART {}: no UploadId in the reply", describe_, key), r.status,
                             "");
    return *id;
  }

  std::string UploadPart(const std::string& key, const std::string& id, int number, std::string_view data) {
    std::string operation = fmt::format("UPLOAD PART {} of {}", number, key);
    HttpResponse r = Send("PUT", key, {{"partNumber", std::to_string(number)}, {"uploadId", id}}, UploadHeaders(data),
                          data, operation, DigestHex(Sha256(data)));
    if (r.status != 200) throw ResponseError(describe_, operation, r);
    std::string etag = r.Header("etag");
    if (etag.empty())
      throw ObjectStoreError(fmt::format("{}: {}: no ETag in the reply", describe_, operation), r.status, "");
    return etag;
  }

  bool CompleteUpload(const std::string& key, const std::string& id, const std::vector<std::string>& etags,
                      uint64_t expected_size, bool if_absent) {
    std::string body = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags.size(); ++i)
      body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, XmlEscape(etags[i]));
    body += "</CompleteMultipartUpload>";
    std::vector<std::pair<std::string, std::string>> headers = UploadHeaders(body);
    headers.emplace_back("Content-Type", "application/xml");
    if (if_absent) {
      if (Head(key)) return false;
      AddConditionalHeader(headers);
    }
    std::string operation = "COMPLETE MULTIPART " + key;
    HttpResponse r;
    int attempts = 0;
    try {
      r = Send("POST", key, {{"uploadId", id}}, headers, body, operation, DigestHex(Sha256(body)), &attempts);
    } catch (const ObjectStoreError& e) {
      // Attempts ran out without an answer we could read (lost replies, or
      // 5xx, which some services give a retried completion): the last one,
      // or an earlier one, may have completed the upload.
      if (auto done = CompletedByEarlierAttempt(key, etags, expected_size, if_absent, e)) return *done;
      throw;
    }
    // A completion that succeeded but whose reply was lost (a reset, a
    // timeout) is sent again by the retry loop, and S3 answers the repeat
    // 404 NoSuchUpload: a completed upload is gone. That 404 comes back as a
    // response, not an exception, so it is judged here. On the first attempt
    // it means what it says (the upload was aborted).
    if (attempts > 1 && r.status == 404 && XmlFirst(r.body, "Code").value_or("") == "NoSuchUpload") {
      ObjectStoreError error = ResponseError(describe_, operation, r);
      if (auto done = CompletedByEarlierAttempt(key, etags, expected_size, if_absent, error)) return *done;
      throw error;
    }
    if (if_absent && (r.status == 412 || r.status == 409)) return false;
    if (if_absent && r.status == 501 && conditional_writes_) {
      conditional_writes_ = false;  // checked with Head above; complete without the condition
      return CompleteUpload(key, id, etags, expected_size, if_absent);
    }
    // S3 may answer 200 and put the error in the body.
    if (r.status != 200 || XmlFirst(r.body, "Code")) throw ResponseError(describe_, operation, r);
    return true;
  }

  // Whether a completion whose outcome was not seen (see CompleteUpload) made
  // the object: it did when the object is there with this upload's size and,
  // where the service gives a multipart ETag (the MD5 of the parts' MD5s, "-"
  // and the part count: S3, Swift's s3api, MinIO, Ceph), this upload's ETag.
  // Returns what Complete() answers then; nullopt when the object is not this
  // upload's, or not there (the caller reports `failure`). The HEAD is
  // retried on transient failures like any request; when it cannot be done
  // at all, the error says both what failed and why it is unknown whether
  // the object was made.
  std::optional<bool> CompletedByEarlierAttempt(const std::string& key, const std::vector<std::string>& etags,
                                                uint64_t expected_size, bool if_absent,
                                                const ObjectStoreError& failure) {
    std::optional<HeadResult> head;
    try {
      head = HeadObject(key);
    } catch (const ObjectStoreError& e) {
      throw ObjectStoreError(fmt::format("{}; whether an earlier attempt completed it is unknown: {}", failure.what(),
                                         e.what()),
                             failure.http_status(), failure.code());
    }
    if (!head || head->size != expected_size) {
      spdlog::debug("{}: {}: no object of {} bytes at the key ({}); not completed", describe_, failure.what(),
                    expected_size, head ? fmt::format("{} bytes there", head->size) : "nothing there");
      return std::nullopt;
    }
    std::string ours = MultipartEtag(etags);
    if (!ours.empty() && IsMultipartEtag(head->etag)) {
      if (head->etag == ours) {
        spdlog::debug("{}: {}, but the object is there with this upload's ETag {}: an earlier attempt completed it",
                      describe_, failure.what(), ours);
        return true;  // ours: for a commit-if-absent too, nothing else is in the way
      }
      spdlog::debug("{}: {}: the object there has ETag {}, this upload's would be {}", describe_, failure.what(),
                    head->etag, ours);
      // Someone else's object of the same size: a commit-if-absent answers
      // "exists" (the caller compares contents); a plain commit did not happen.
      if (if_absent) return false;
      return std::nullopt;
    }
    // No multipart ETag to compare: the size is all there is. A plain commit
    // takes it as done; a commit-if-absent answers "exists" and lets the
    // caller compare contents.
    spdlog::debug("{}: {}, but an object of {} bytes is there; taking it as completed", describe_, failure.what(),
                  expected_size);
    return !if_absent;
  }

  void AbortUpload(const std::string& key, const std::string& id) {
    HttpResponse r = Send("DELETE", key, {{"uploadId", id}}, {}, "", "ABORT MULTIPART " + key);
    if (r.status == 204 || r.status == 200 || r.status == 404) return;
    if (r.status == 405 || r.status == 501) return;  // not offered (s3rver): the parts stay
    throw ResponseError(describe_, "ABORT MULTIPART " + key, r);
  }

 private:
  struct HeadResult {
    uint64_t size = 0;
    std::string etag;  // without quotes, lower case
  };

  std::optional<HeadResult> HeadObject(const std::string& key) {
    HttpResponse r = Send("HEAD", key, {}, {}, "", "HEAD " + key);
    if (r.status == 404) return std::nullopt;
    if (r.status != 200) throw ResponseError(describe_, "HEAD " + key, r);
    std::string length = r.Header("content-length");
    auto size = ParseDecimal(length.empty() ? "0" : length);
    if (!size)
      throw Error(fmt::format("{}: HEAD {} answered Content-Length '{}', which is not a number", describe_, key, length));
    return HeadResult{*size, NormalizedEtag(r.Header("etag"))};
  }

  // "Only if nothing is there": If-None-Match on S3, the generation
  // precondition on GCS's XML API.
  void AddConditionalHeader(std::vector<std::pair<std::string, std::string>>& headers) {
    if (!conditional_writes_) return;
    if (location_.kind == ObjectStoreKind::kGcs) headers.emplace_back("x-goog-if-generation-match", "0");
    else headers.emplace_back("If-None-Match", "*");
  }

  std::vector<std::pair<std::string, std::string>> UploadHeaders(std::string_view data) {
    return {{"Content-MD5", Base64Encode(Md5(data))}};
  }

  void AddEncryptionHeaders(std::vector<std::pair<std::string, std::string>>& headers) {
    if (settings_.s3_sse.empty()) return;
    headers.emplace_back("x-amz-server-side-encryption", settings_.s3_sse);
    if (settings_.s3_sse == "aws:kms" && !settings_.s3_sse_kms_key_id.empty())
      headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", settings_.s3_sse_kms_key_id);
  }

  // `key` empty: the bucket itself. `attempts`: see SendWithRetries.
  HttpResponse Send(const std::string& method, const std::string& key,
                    const std::vector<std::pair<std::string, std::string>>& query,
                    const std::vector<std::pair<std::string, std::string>>& extra_headers, std::string_view body,
                    const std::string& operation, const std::string& payload_hash = kEmptyPayloadHash,
                    int* attempts = nullptr) {
    std::string path = base_path_;
    if (path_style_) path += "/" + location_.bucket;
    if (!key.empty()) path += "/" + UriEncode(key, true);
    if (path.empty()) path = "/";
    // Sent in canonical form ("?uploads=" for "?uploads"), which S3 accepts.
    std::string query_text = SigV4CanonicalQuery(query);
    std::string url = scheme_ + "://" + host_ + path;
    if (!query_text.empty()) url += "?" + query_text;
    return SendWithRetries(http_, retry_, describe_, operation, [&] {
      HttpRequest request;
      request.method = method;
      request.url = url;
      request.body = body;
      SigV4Request sig;
      sig.method = method;
      sig.canonical_uri = path;
      sig.query = query;
      sig.payload_hash = payload_hash;
      std::string date = AmzDateNow();
      sig.headers = {{"Host", host_}, {"x-amz-date", date}, {"x-amz-content-sha256", payload_hash}};
      if (!credentials_.session_token.empty()) sig.headers.emplace_back("x-amz-security-token", credentials_.session_token);
      for (const auto& h : extra_headers) sig.headers.push_back(h);
      request.headers = sig.headers;
      request.headers.emplace_back("Authorization", SigV4Authorization(credentials_, region_, "s3", date, sig));
      return request;
    }, attempts);
  }

  ObjectStoreLocation location_;
  StorageSettings settings_;
  AwsCredentials credentials_;
  HttpClient http_;
  RetryPolicy retry_;
  std::string region_, scheme_, host_, base_path_, describe_;
  bool path_style_ = true;
  std::atomic<bool> conditional_writes_{true};
};

class S3MultipartUpload : public MultipartUpload {
 public:
  S3MultipartUpload(S3Store& store, std::string key) : store_(store), key_(std::move(key)) {
    id_ = store_.InitiateUpload(key_);
  }
  ~S3MultipartUpload() override {
    if (!finished_) {
      try {
        store_.AbortUpload(key_, id_);
      } catch (const std::exception& e) {
        spdlog::warn("{}: could not abort the unfinished upload of {}: {}", store_.Describe(), key_, e.what());
      }
    }
  }
  void UploadPart(int number, std::string_view data) override {
    if (number != static_cast<int>(etags_.size()) + 1)
      throw Error(fmt::format("{}: part {} of {} out of order", store_.Describe(), number, key_));
    etags_.push_back(store_.UploadPart(key_, id_, number, data));
    size_ += data.size();
  }
  bool Complete(bool if_absent) override {
    bool done = store_.CompleteUpload(key_, id_, etags_, size_, if_absent);
    finished_ = done;  // not done: the destructor aborts the parts
    return done;
  }
  void Abort() override {
    finished_ = true;
    store_.AbortUpload(key_, id_);
  }

 private:
  S3Store& store_;
  std::string key_, id_;
  std::vector<std::string> etags_;
  uint64_t size_ = 0;
  bool finished_ = false;
};

std::unique_ptr<MultipartUpload> S3Store::StartMultipart(const std::string& key) {
  return std::make_unique<S3MultipartUpload>(*this, key);
}

}  // namespace

std::unique_ptr<ObjectStore> OpenS3Store(const ObjectStoreLocation& location, const StorageSettings& settings,
                                         const CredentialSource& credentials) {
  AwsCredentials aws;
  bool gcs = location.kind == ObjectStoreKind::kGcs;
  if (gcs) {
    aws.access_key_id = credentials.Get("GOOGLE_HMAC_ACCESS_KEY");
    aws.secret_access_key = credentials.Get("GOOGLE_HMAC_SECRET");
  }
  if (aws.access_key_id.empty()) {
    aws.access_key_id = credentials.Get("AWS_ACCESS_KEY_ID");
    aws.secret_access_key = credentials.Get("AWS_SECRET_ACCESS_KEY");
    aws.session_token = credentials.Get("AWS_SESSION_TOKEN");
  }
  if (aws.access_key_id.empty() || aws.secret_access_key.empty())
    throw UsageError(fmt::format(
        "repository {}: no credentials: set {} in the environment or in the credentials file (--repo-credentials "
        "FILE)",
        location.url,
        gcs ? "GOOGLE_HMAC_ACCESS_KEY and GOOGLE_HMAC_SECRET (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            : "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
  return std::make_unique<S3Store>(location, settings, std::move(aws));
}

}  // namespace pgvault
