#include "storage/object_store_location.h"

#include <cctype>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

namespace {

constexpr const char* kForms =
    "use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, azure://CONTAINER/PREFIX, "
    "https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX, or a local directory";

std::string TrimSlashes(std::string text) {
  while (!text.empty() && text.front() == '/') text.erase(0, 1);
  while (!text.empty() && text.back() == '/') text.pop_back();
  return text;
}

void CheckPrefix(const std::string& location, const std::string& prefix) {
  if (prefix.find("//") != std::string::npos)
    throw UsageError(fmt::format("repository URL '{}': the prefix has an empty path segment ('//')", location));
  for (size_t start = 0; start <= prefix.size();) {
    size_t end = prefix.find('/', start);
    if (end == std::string::npos) end = prefix.size();
    std::string segment = prefix.substr(start, end - start);
    if (segment == "." || segment == "..")
      throw UsageError(fmt::format("repository URL '{}': '.' and '..' are not allowed in the prefix", location));
    start = end + 1;
  }
}

}  // namespace

std::optional<ObjectStoreLocation> ParseObjectStoreLocation(const std::string& location) {
  auto separator = location.find("://");
  if (separator == std::string::npos) return std::nullopt;
  // A query (an Azure SAS pasted with the URL), a fragment or user info
  // would carry secrets into every message: refuse without quoting the URL.
  if (location.find_first_of("?#@") != std::string::npos)
    throw UsageError("the repository URL must not contain '?', '#' or '@' (a SAS token or credentials in the URL): "
                     "give the URL without them and the secret in AZURE_STORAGE_SAS_TOKEN, AWS_* or the credentials "
                     "file (--repo-credentials)");
  std::string scheme = location.substr(0, separator);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string rest = location.substr(separator + 3);
  ObjectStoreLocation out;
  std::string path;
  if (scheme == "s3" || scheme == "gs" || scheme == "azure") {
    out.kind = scheme == "s3" ? ObjectStoreKind::kS3 : scheme == "gs" ? ObjectStoreKind::kGcs : ObjectStoreKind::kAzure;
    auto slash = rest.find('/');
    out.bucket = rest.substr(0, slash);
    path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  } else if (scheme == "https" || scheme == "http") {
    auto slash = rest.find('/');
    std::string host = rest.substr(0, slash);
    const std::string suffix = ".blob.core.windows.net";
    if (host.size() <= suffix.size() || host.compare(host.size() - suffix.size(), suffix.size(), suffix) != 0)
      throw UsageError(fmt::format("repository URL '{}': an https URL must be an Azure blob URL "
                                   "(https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX); for S3-compatible "
                                   "services use s3://BUCKET/PREFIX with --s3-endpoint {}://{}",
                                   location, scheme, host));
    out.kind = ObjectStoreKind::kAzure;
    out.azure_account = host.substr(0, host.size() - suffix.size());
    out.azure_endpoint = scheme + "://" + host;
    std::string after = slash == std::string::npos ? "" : TrimSlashes(rest.substr(slash + 1));
    auto next = after.find('/');
    out.bucket = after.substr(0, next);
    path = next == std::string::npos ? "" : after.substr(next + 1);
  } else {
    throw UsageError(fmt::format("repository URL '{}': unknown scheme '{}://'; {}", location, scheme, kForms));
  }
  if (out.bucket.empty())
    throw UsageError(fmt::format("repository URL '{}' names no {}; {}", location,
                                 out.kind == ObjectStoreKind::kAzure ? "container" : "bucket", kForms));
  for (char c : out.bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '.' || c == '_'))
      throw UsageError(fmt::format("repository URL '{}': '{}' is not a valid bucket or container name (lower-case "
                                   "letters, digits, '-', '.' and '_')",
                                   location, out.bucket));
  }
  out.prefix = TrimSlashes(path);
  CheckPrefix(location, out.prefix);
  std::string normalized_scheme = out.azure_endpoint.empty() ? scheme : out.azure_endpoint;
  out.url = out.azure_endpoint.empty() ? fmt::format("{}://{}", scheme, out.bucket)
                                       : fmt::format("{}/{}", out.azure_endpoint, out.bucket);
  if (!out.prefix.empty()) out.url += "/" + out.prefix;
  return out;
}

}  // namespace pgvault
