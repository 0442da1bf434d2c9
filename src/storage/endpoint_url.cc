#include "storage/endpoint_url.h"

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

namespace {

struct UrlParts {
  std::string scheme_and_separator;  // "https://", or "" when there is none
  std::string authority;             // up to the path, query or fragment
  std::string path;                  // from the first '/' after the authority
  bool has_query_or_fragment = false;
};

UrlParts Split(const std::string& url) {
  UrlParts parts;
  size_t start = 0;
  if (auto separator = url.find("://"); separator != std::string::npos) {
    parts.scheme_and_separator = url.substr(0, separator + 3);
    start = separator + 3;
  }
  size_t query = url.find_first_of("?#", start);
  parts.has_query_or_fragment = query != std::string::npos;
  std::string rest = url.substr(start, query == std::string::npos ? std::string::npos : query - start);
  // The authority ends at the first '/'; a '@' before it is user info
  // (RFC 3986, 3.2), whatever stands before the '@'.
  size_t slash = rest.find('/');
  parts.authority = rest.substr(0, slash);
  parts.path = slash == std::string::npos ? "" : rest.substr(slash);
  return parts;
}

}  // namespace

std::string RedactedEndpointUrl(const std::string& url) {
  UrlParts parts = Split(url);
  std::string authority = parts.authority;
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = "***" + authority.substr(at);
  return parts.scheme_and_separator + authority + parts.path;
}

std::string CheckedEndpointUrl(std::string url, const std::string& setting) {
  // First, before any message quotes the URL.
  UrlParts parts = Split(url);
  if (parts.authority.find('@') != std::string::npos)
    throw UsageError(fmt::format("{} '{}': credentials in the endpoint URL are not allowed: give the URL without "
                                 "them and put the keys in the credentials file (--repo-credentials) or the "
                                 "environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_KEY...)",
                                 setting, RedactedEndpointUrl(url)));
  if (parts.has_query_or_fragment)
    throw UsageError(fmt::format("{} '{}': a query or fragment in the endpoint URL is not allowed (it may carry a "
                                 "secret, such as a SAS token): give the URL without it",
                                 setting, RedactedEndpointUrl(url)));
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    throw UsageError(fmt::format("{} '{}' must start with http:// or https://", setting, url));
  if (parts.authority.empty()) throw UsageError(fmt::format("{} '{}' names no host", setting, url));
  return url;
}

}  // namespace pgvault
