#include "storage/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/error.h"
#include "storage/endpoint_url.h"

namespace pgvault {

namespace {

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * count);
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * count);
  // A new status line (after "100 Continue" or a redirect) starts a new set.
  if (line.starts_with("HTTP/")) {
    response->headers.clear();
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  response->headers[name] = std::string(value);
  return size * count;
}

}  // namespace

HttpClient::HttpClient(HttpSettings settings) : settings_(std::move(settings)) {
  static GlobalInit init;
}

HttpClient::~HttpClient() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpClient::AcquireHandle() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  CURL* handle = curl_easy_init();
  if (!handle) throw Error("cannot initialize libcurl");
  return handle;
}

void HttpClient::ReleaseHandle(void* handle) {
  std::lock_guard lock(mutex_);
  idle_.push_back(handle);
}

HttpResponse HttpClient::Perform(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(AcquireHandle());
  // The handle keeps its connection cache across reset.
  curl_easy_reset(curl);
  HttpResponse response;
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers)
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  // curl would add these by itself; the signatures cover exactly what we send.
  headers = curl_slist_append(headers, "Expect:");
  if (request.method == "PUT" || request.method == "POST") {
    bool has_type = std::any_of(request.headers.begin(), request.headers.end(),
                                [](const auto& h) { return strcasecmp(h.first.c_str(), "content-type") == 0; });
    if (!has_type) headers = curl_slist_append(headers, "Content-Type:");
  }
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, settings_.connect_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, settings_.stall_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, settings_.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, settings_.verify_tls ? 2L : 0L);
  if (!settings_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, settings_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "PUT" || request.method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data() ? request.body.data() : "");
    }
  }
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    // A failed connection may be half-used: do not keep the handle's cache.
    curl_easy_cleanup(curl);
    std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    throw TransportError(detail, code == CURLE_OPERATION_TIMEDOUT);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  // The pooled handle must not point at this call's stack.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  ReleaseHandle(curl);
  return response;
}

std::string RequestedRange(HttpResponse response, const std::optional<std::pair<uint64_t, uint64_t>>& range) {
  if (range && response.status == 200 && (range->first > 0 || response.body.size() > range->second)) {
    if (range->first >= response.body.size()) return "";
    return response.body.substr(range->first, range->second);
  }
  return std::move(response.body);
}

EndpointParts SplitEndpoint(const std::string& endpoint) {
  EndpointParts parts;
  auto scheme_end = endpoint.find("://");
  parts.scheme = endpoint.substr(0, scheme_end);
  std::string rest = scheme_end == std::string::npos ? endpoint : endpoint.substr(scheme_end + 3);
  auto slash = rest.find('/');
  parts.authority = rest.substr(0, slash);
  // The authority becomes the Host header: user info there would be sent to
  // the server (and to any proxy) in the clear. Settings refuse it already
  // (CheckedEndpointUrl); this guards every other way an endpoint is made.
  if (parts.authority.find('@') != std::string::npos)
    throw UsageError(fmt::format("endpoint '{}': credentials in the endpoint URL are not allowed: put them in the "
                                 "credentials file (--repo-credentials) or the environment",
                                 RedactedEndpointUrl(endpoint)));
  parts.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!parts.path.empty() && parts.path.back() == '/') parts.path.pop_back();
  return parts;
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace pgvault
