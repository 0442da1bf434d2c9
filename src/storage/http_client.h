// HttpClient: HTTP/1.1 requests through libcurl, for the object-store drivers.
//
// One client per endpoint; it keeps a pool of curl handles so that parallel
// workers each reuse a kept-alive connection. A request either returns the
// response (any status) or throws TransportError when no response arrived
// (refused, reset, timed out, TLS failure): the caller's retry loop decides.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace pgvault {

struct HttpRequest {
  std::string method;  // GET HEAD PUT POST DELETE
  std::string url;     // scheme://host[:port]/path?query, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // sent with Content-Length for PUT and POST
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// No response: connection refused or reset, DNS, TLS, or a transfer that
// stalled longer than the stall timeout.
class TransportError : public Error {
 public:
  TransportError(const std::string& message, bool timed_out) : Error(message), timed_out_(timed_out) {}
  bool timed_out() const { return timed_out_; }

 private:
  bool timed_out_;
};

struct HttpSettings {
  bool verify_tls = true;
  std::string ca_file;  // PEM bundle; empty: the system's
  long connect_timeout_seconds = 10;
  // A transfer slower than 1 KiB/s for this long is abandoned as hung.
  long stall_timeout_seconds = 60;
};

class HttpClient {
 public:
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Perform(const HttpRequest& request);

 private:
  void* AcquireHandle();  // CURL*
  void ReleaseHandle(void* handle);
  HttpSettings settings_;
  std::mutex mutex_;
  std::vector<void*> idle_;
};

// "https://host:port/base/path/" taken apart: {"https", "host:port",
// "/base/path"} (no trailing '/'; "" when there is no path).
struct EndpointParts {
  std::string scheme, authority, path;
};
EndpointParts SplitEndpoint(const std::string& endpoint);

// The part of a GET's body that `range` (offset, length) asked for: a 206
// carries just that; a server that ignored the Range header answers 200
// with the whole object, which is cut here. No range: the whole body.
std::string RequestedRange(HttpResponse response, const std::optional<std::pair<uint64_t, uint64_t>>& range);

// Percent-encoding as AWS and Azure canonicalize it: unreserved characters
// (A-Z a-z 0-9 - _ . ~) stay, everything else becomes %XX (upper-case hex);
// '/' stays when `keep_slash`.
std::string UriEncode(std::string_view text, bool keep_slash);

}  // namespace pgvault
