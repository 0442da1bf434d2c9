#include "storage/azure_blob_store.h"

#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/decimal_number.h"
#include "core/error.h"
#include "crypto/base64.h"
#include "crypto/md5.h"
#include "storage/azure_shared_key.h"
#include "storage/endpoint_url.h"
#include "storage/http_client.h"
#include "storage/retry_policy.h"
#include "storage/xml_reader.h"

namespace pgvault {

namespace {

constexpr const char* kApiVersion = "2021-08-06";

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct AzureCredentials {
  std::string account;
  std::string key;        // raw bytes (decoded); empty with a SAS
  std::string sas_token;  // without a leading '?'
  std::string endpoint;   // "https://ACCOUNT.blob.core.windows.net", "http://127.0.0.1:10000/devstoreaccount1"
};

class AzureBlobStore : public ObjectStore {
 public:
  AzureBlobStore(const ObjectStoreLocation& location, const StorageSettings& settings, AzureCredentials credentials,
                 size_t list_page_size)
      : location_(location),
        credentials_(std::move(credentials)),
        http_(HttpSettings{settings.verify_tls, settings.ca_file, 10, settings.stall_timeout_seconds}),
        retry_(RetryPolicy::FromEnvironment()),
        list_page_size_(list_page_size) {
    // The endpoint's own path (the emulator's "/devstoreaccount1") comes
    // before the container: path-style addressing. It is part of what
    // SharedKey signs, after "/ACCOUNT".
    EndpointParts parts = SplitEndpoint(credentials_.endpoint);
    origin_ = parts.scheme + "://" + parts.authority;
    base_path_ = parts.path;
    describe_ = fmt::format("{} at {}", location.url, credentials_.endpoint);
  }

  std::string Describe() const override { return describe_; }

  std::optional<uint64_t> Head(const std::string& key) override {
    HttpResponse r = Send("HEAD", key, {}, {}, "", "HEAD " + key);
    // A missing container is a 404 too (x-ms-error-code ContainerNotFound).
    // Head answers "not there" for both, as the S3 driver must (an S3 HEAD
    // reply has no body to tell them apart by), so that probing a repository
    // never created is no error; Get, Put and List name the missing container.
    if (r.status == 404) return std::nullopt;
    if (r.status != 200) throw ResponseError(describe_, "HEAD " + key, r);
    std::string length = r.Header("content-length");
    auto size = ParseDecimal(length.empty() ? "0" : length);
    if (!size)
      throw Error(fmt::format("{}: HEAD {} answered Content-Length '{}', which is not a number", describe_, key, length));
    return *size;
  }

  std::string Get(const std::string& key, std::optional<std::pair<uint64_t, uint64_t>> range) override {
    Pairs headers;
    if (range) {
      if (range->second == 0) return "";
      // x-ms-range rather than Range: the same to the service, and signed
      // among the x-ms-* headers.
      headers.emplace_back("x-ms-range", fmt::format("bytes={}-{}", range->first, range->first + range->second - 1));
    }
    HttpResponse r = Send("GET", key, {}, headers, "", "GET " + key);
    if (r.status == 416) return "";  // the range starts at or past the end (or the blob is empty)
    if (r.status == 404) {
      if (r.Header("x-ms-error-code") == "ContainerNotFound") throw ResponseError(describe_, "GET " + key, r);
      throw NotFoundError(fmt::format("{}/{}: no such object", describe_, key));
    }
    if (r.status != 200 && r.status != 206) throw ResponseError(describe_, "GET " + key, r);
    return RequestedRange(std::move(r), range);
  }

  bool Put(const std::string& key, std::string_view data, bool if_absent) override {
    std::string md5 = Base64Encode(Md5(data));
    // Content-MD5 on Put Blob is checked against the body and kept as the
    // blob's Content-MD5 property (which the conflict check below relies on).
    Pairs headers = {
        {"x-ms-blob-type", "BlockBlob"}, {"Content-MD5", md5}, {"Content-Type", "application/octet-stream"}};
    if (if_absent) headers.emplace_back("If-None-Match", "*");
    HttpResponse r = Send("PUT", key, {}, headers, data, "PUT " + key);
    if (r.status == 201) return true;
    if (if_absent && IsAlreadyExists(r)) {
      // The blob in the way may be this very write, stored by an attempt
      // whose reply was lost and sent again: by SendWithRetries, or by
      // libcurl itself, which silently resends a request once when a reused
      // connection dies before any reply. A blob with exactly our content
      // (the MD5 Put Blob stored) is taken as ours.
      if (HeadContentMd5(key) == md5) {
        spdlog::debug("{}: PUT {}: the blob in the way has our content; an earlier attempt stored it", describe_, key);
        return true;
      }
      return false;
    }
    throw ResponseError(describe_, "PUT " + key, r);
  }

  std::optional<Versioned> GetVersioned(const std::string& key) override {
    HttpResponse r = Send("GET", key, {}, {}, "", "GET " + key);
    if (r.status == 404 && r.Header("x-ms-error-code") != "ContainerNotFound") return std::nullopt;
    if (r.status != 200) throw ResponseError(describe_, "GET " + key, r);
    return Versioned{std::move(r.body), r.Header("etag")};
  }

  std::optional<std::string> PutIfMatch(const std::string& key, std::string_view data,
                                        const std::string& etag) override {
    Pairs headers = {{"x-ms-blob-type", "BlockBlob"},
                     {"Content-MD5", Base64Encode(Md5(data))},
                     {"Content-Type", "application/octet-stream"},
                     {"If-Match", etag}};
    HttpResponse r = Send("PUT", key, {}, headers, data, "PUT " + key);
    if (r.status == 201) return r.Header("etag");
    if (r.status == 412 || r.status == 404) return std::nullopt;
    throw ResponseError(describe_, "PUT " + key, r);
  }

  std::unique_ptr<MultipartUpload> StartMultipart(const std::string& key) override;
  // The service has no minimum block size; 1 MiB keeps the block count (at
  // most 50,000 per blob) meaningful.
  size_t MinimumPartSize() const override { return 1u << 20; }

  ListPage List(const std::string& prefix, const std::string& continuation) override {
    Pairs query = {{"restype", "container"}, {"comp", "list"}, {"prefix", prefix}};
    if (!continuation.empty()) query.emplace_back("marker", continuation);
    if (list_page_size_ > 0) query.emplace_back("maxresults", std::to_string(list_page_size_));
    std::string operation = "LIST " + prefix;
    HttpResponse r = Send("GET", "", query, {}, "", operation);
    if (r.status != 200) throw ResponseError(describe_, operation, r);
    // Lists committed blobs only: blocks of an unfinished upload do not show.
    ListPage page;
    for (std::string_view blob : XmlElements(r.body, "Blob")) {
      ObjectInfo info;
      info.path = XmlFirst(blob, "Name").value_or("");
      std::string length = XmlFirst(blob, "Content-Length").value_or("0");
      auto size = ParseDecimal(length);
      if (!size)
        throw Error(fmt::format("{}: LIST answered the Content-Length '{}' for {}, which is not a number", describe_,
                                length, info.path));
      info.size = *size;
      page.objects.push_back(std::move(info));
    }
    page.next = XmlFirst(r.body, "NextMarker").value_or("");
    return page;
  }

  void Delete(const std::string& key) override {
    HttpResponse r = Send("DELETE", key, {}, {}, "", "DELETE " + key);
    if (r.status == 202 || r.status == 200 || r.status == 404) return;
    throw ResponseError(describe_, "DELETE " + key, r);
  }

  void CreateContainer() override {
    std::string operation = "CREATE CONTAINER " + location_.bucket;
    HttpResponse r = Send("PUT", "", {{"restype", "container"}}, {}, "", operation);
    if (r.status == 201) return;
    if (r.status == 409 && r.Header("x-ms-error-code") == "ContainerAlreadyExists") return;
    throw ResponseError(describe_, operation, r);
  }

  // Azure keeps no list of upload sessions to clean: blocks that were put
  // and never committed by a Put Block List are invisible (List, Get and
  // Head do not see them) and the service discards them by itself, at the
  // latest a week after they were uploaded. Nothing to do.
  size_t AbortIncompleteUploads(const std::string& prefix) override { return 0; }

  // --- used by the multipart upload ---

  void PutBlock(const std::string& key, const std::string& block_id, int number, std::string_view data) {
    std::string operation = fmt::format("PUT BLOCK {} of {}", number, key);
    HttpResponse r = Send("PUT", key, {{"comp", "block"}, {"blockid", block_id}},
                          {{"Content-MD5", Base64Encode(Md5(data))}}, data, operation);
    if (r.status != 201) throw ResponseError(describe_, operation, r);
  }

  bool PutBlockList(const std::string& key, const std::vector<std::string>& block_ids, bool if_absent) {
    std::string body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    for (const auto& id : block_ids) body += "<Latest>" + XmlEscape(id) + "</Latest>";
    body += "</BlockList>";
    // Content-MD5 here checks the block list document; the blob's own
    // content type is x-ms-blob-content-type.
    Pairs headers = {{"Content-MD5", Base64Encode(Md5(body))},
                     {"Content-Type", "application/xml"},
                     {"x-ms-blob-content-type", "application/octet-stream"}};
    if (if_absent) headers.emplace_back("If-None-Match", "*");
    std::string operation = "PUT BLOCK LIST " + key;
    HttpResponse r = Send("PUT", key, {{"comp", "blocklist"}}, headers, body, operation);
    if (r.status == 201) return true;
    if (if_absent && IsAlreadyExists(r)) {
      // The blob in the way may be this very commit, sent again after its
      // reply was lost (see Put). The block ids carry this upload's random
      // tag: a blob made of exactly our blocks is ours.
      if (CommittedBlockIds(key) == block_ids) {
        spdlog::debug("{}: {}: the blob in the way is made of our blocks; an earlier attempt committed it", describe_,
                      operation);
        return true;
      }
      return false;
    }
    throw ResponseError(describe_, operation, r);
  }

 private:
  // The answer to If-None-Match: * when the blob exists: 409
  // BlobAlreadyExists from Azure and Azurite; 412 (ConditionNotMet, the usual
  // answer to a failed condition) is taken to mean the same.
  static bool IsAlreadyExists(const HttpResponse& r) {
    return r.status == 412 || (r.status == 409 && r.Header("x-ms-error-code") == "BlobAlreadyExists");
  }

  std::string HeadContentMd5(const std::string& key) {
    HttpResponse r = Send("HEAD", key, {}, {}, "", "HEAD " + key);
    return r.status == 200 ? r.Header("content-md5") : "";
  }

  std::vector<std::string> CommittedBlockIds(const std::string& key) {
    std::string operation = "GET BLOCK LIST " + key;
    HttpResponse r = Send("GET", key, {{"comp", "blocklist"}, {"blocklisttype", "committed"}}, {}, "", operation);
    if (r.status == 404) return {};
    if (r.status != 200) throw ResponseError(describe_, operation, r);
    std::vector<std::string> ids;
    auto committed = XmlElements(r.body, "CommittedBlocks");
    if (committed.empty()) return ids;
    for (std::string_view block : XmlElements(committed.front(), "Block"))
      ids.push_back(XmlFirst(block, "Name").value_or(""));
    return ids;
  }

  // `key` empty: the container itself. `query` holds decoded names and values.
  HttpResponse Send(const std::string& method, const std::string& key, const Pairs& query, const Pairs& extra_headers,
                    std::string_view body, const std::string& operation) {
    std::string path = base_path_ + "/" + location_.bucket;
    if (!key.empty()) path += "/" + UriEncode(key, true);
    std::string query_text;
    for (const auto& [name, value] : query)
      query_text += (query_text.empty() ? "" : "&") + UriEncode(name, false) + "=" + UriEncode(value, false);
    // A SAS is already encoded, and is not part of anything signed.
    if (!credentials_.sas_token.empty()) query_text += (query_text.empty() ? "" : "&") + credentials_.sas_token;
    std::string url = origin_ + path;
    if (!query_text.empty()) url += "?" + query_text;
    bool has_body = method == "PUT" || method == "POST";
    return SendWithRetries(http_, retry_, describe_, operation, [&] {
      HttpRequest request;
      request.method = method;
      request.url = url;
      request.body = body;
      request.headers = extra_headers;
      request.headers.emplace_back("x-ms-date", AzureDateNow());
      request.headers.emplace_back("x-ms-version", kApiVersion);
      if (!credentials_.key.empty()) {
        SharedKeyRequest sig;
        sig.method = method;
        sig.account = credentials_.account;
        sig.path = path;
        sig.query = query;
        sig.headers = request.headers;
        // libcurl adds Content-Length to a PUT, "0" included, and none to a
        // GET, HEAD or DELETE; the signature must cover exactly that.
        if (has_body) sig.headers.emplace_back("Content-Length", std::to_string(body.size()));
        request.headers.emplace_back("Authorization", SharedKeyAuthorization(credentials_.key, sig));
      }
      return request;
    });
  }

  ObjectStoreLocation location_;
  AzureCredentials credentials_;
  HttpClient http_;
  RetryPolicy retry_;
  size_t list_page_size_;
  std::string origin_, base_path_, describe_;
};

// Blocks are uploaded as the parts come and committed in order by Complete.
// Every block id of a blob must have the same length, also across uploads
// (uncommitted blocks of an abandoned upload stay with the blob name until
// the service discards them), hence the fixed width. The random tag keeps two
// writers of the same key (a race on a commit-if-absent) from replacing each
// other's uncommitted blocks, which share the blob's one list.
class AzureMultipartUpload : public MultipartUpload {
 public:
  AzureMultipartUpload(AzureBlobStore& store, std::string key) : store_(store), key_(std::move(key)) {
    std::random_device random;
    tag_ = fmt::format("{:08x}{:08x}", random(), random());
  }

  void UploadPart(int number, std::string_view data) override {
    if (number != static_cast<int>(block_ids_.size()) + 1)
      throw Error(fmt::format("{}: part {} of {} out of order", store_.Describe(), number, key_));
    // 33 bytes before base64: 44 characters without padding, within the
    // 64-byte limit on a block id.
    std::string id = Base64Encode(fmt::format("pgvault-{}-{:08d}", tag_, number));
    store_.PutBlock(key_, id, number, data);
    block_ids_.push_back(std::move(id));
  }

  bool Complete(bool if_absent) override { return store_.PutBlockList(key_, block_ids_, if_absent); }

  // Nothing to call: Azure has no operation to drop uncommitted blocks. They
  // are invisible, replaced by the next commit of the same blob name, and
  // discarded by the service within a week.
  void Abort() override {}

 private:
  AzureBlobStore& store_;
  std::string key_, tag_;
  std::vector<std::string> block_ids_;
};

std::unique_ptr<MultipartUpload> AzureBlobStore::StartMultipart(const std::string& key) {
  return std::make_unique<AzureMultipartUpload>(*this, key);
}

std::string TrimSpace(std::string text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(start, end - start + 1);
}

// Decodes the account key, naming where it came from (never the key) when it
// is not base64.
std::string DecodeKey(const std::string& key, const std::string& where) {
  try {
    std::string decoded = Base64Decode(TrimSpace(key), where);
    if (!decoded.empty()) return decoded;
  } catch (const Error&) {
  }
  throw UsageError(
      fmt::format("{} is not valid base64; it must be the storage account's access key as the Azure "
                  "portal shows it (key1 or key2)",
                  where));
}

AzureCredentials ResolveCredentials(const ObjectStoreLocation& location, const CredentialSource& credentials) {
  const std::string url_account = location.azure_account;  // empty for azure://
  AzureCredentials out;
  std::string key_source;
  if (std::string text = credentials.Get("AZURE_STORAGE_CONNECTION_STRING"); !text.empty()) {
    AzureConnection connection = ParseAzureConnectionString(text);
    if (!url_account.empty() && !connection.account.empty() && connection.account != url_account)
      throw UsageError(
          fmt::format("repository {} is in storage account '{}' but AZURE_STORAGE_CONNECTION_STRING is "
                      "for account '{}'",
                      location.url, url_account, connection.account));
    out.account = connection.account;
    out.key = connection.key;
    // The key when both are given (as below): a SAS appended to a request
    // signed with the key would break the signature.
    if (out.key.empty()) out.sas_token = connection.sas_token;
    out.endpoint = connection.blob_endpoint;
    key_source = "AccountKey in AZURE_STORAGE_CONNECTION_STRING";
    spdlog::debug("repository {}: credentials from AZURE_STORAGE_CONNECTION_STRING ({})", location.url,
                  out.key.empty() ? "SAS" : "account key");
  } else {
    out.account = credentials.Get("AZURE_STORAGE_ACCOUNT");
    if (!url_account.empty() && !out.account.empty() && out.account != url_account)
      throw UsageError(fmt::format("repository {} is in storage account '{}' but AZURE_STORAGE_ACCOUNT is '{}'",
                                   location.url, url_account, out.account));
    if (out.account.empty()) out.account = url_account;
    // The key when both are set: it can do everything, a SAS only what it grants.
    out.key = credentials.Get("AZURE_STORAGE_KEY");
    if (out.key.empty()) {
      out.sas_token = TrimSpace(credentials.Get("AZURE_STORAGE_SAS_TOKEN"));
      if (!out.sas_token.empty() && out.sas_token.front() == '?') out.sas_token.erase(0, 1);
    }
    key_source = "AZURE_STORAGE_KEY";
    // The account makes the host: it may not smuggle in user info.
    if (!out.account.empty())
      out.endpoint = CheckedEndpointUrl(fmt::format("https://{}.blob.core.windows.net", out.account),
                                        "the endpoint made of AZURE_STORAGE_ACCOUNT");
  }
  if (!location.azure_endpoint.empty()) {
    // The URL names the endpoint.
    out.endpoint = location.azure_endpoint;
    out.account = url_account;
  }
  // An account is needed for the endpoint and to sign; a connection string
  // with a BlobEndpoint and a SAS may name none.
  if (out.endpoint.empty() || (out.key.empty() && out.sas_token.empty()) || (!out.key.empty() && out.account.empty()))
    throw UsageError(fmt::format(
        "repository {}: no credentials: set {}, in the environment or in the credentials file (--repo-credentials "
        "FILE)",
        location.url,
        url_account.empty() ? "AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or "
                              "AZURE_STORAGE_SAS_TOKEN"
                            : "AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN (the URL names the account), or "
                              "AZURE_STORAGE_CONNECTION_STRING"));
  if (!out.key.empty()) out.key = DecodeKey(out.key, fmt::format("repository {}: {}", location.url, key_source));
  return out;
}

}  // namespace

std::unique_ptr<ObjectStore> OpenAzureBlobStore(const ObjectStoreLocation& location, const StorageSettings& settings,
                                                const CredentialSource& credentials) {
  return std::make_unique<AzureBlobStore>(location, settings, ResolveCredentials(location, credentials), 0);
}

std::unique_ptr<ObjectStore> OpenAzureBlobStoreForTest(const ObjectStoreLocation& location,
                                                       const StorageSettings& settings,
                                                       const CredentialSource& credentials, size_t list_page_size) {
  return std::make_unique<AzureBlobStore>(location, settings, ResolveCredentials(location, credentials),
                                          list_page_size);
}

}  // namespace pgvault
