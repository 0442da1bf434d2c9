#include "storage/azure_shared_key.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "crypto/base64.h"
#include "crypto/hmac.h"
#include "storage/endpoint_url.h"

namespace pgvault {

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// Trims, and folds each run of whitespace inside to one space.
std::string FoldWhitespace(std::string_view text) {
  text = Trim(text);
  std::string out;
  out.reserve(text.size());
  bool in_space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      in_space = true;
      continue;
    }
    if (in_space) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

constexpr const char* kVariable = "AZURE_STORAGE_CONNECTION_STRING";

}  // namespace

AzureConnection ParseAzureConnectionString(std::string_view text) {
  std::map<std::string, std::string> values;  // lower-case names
  size_t part = 0;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find(';', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view segment = Trim(text.substr(start, end - start));
    start = end + 1;
    if (segment.empty()) continue;
    ++part;
    // Split at the first '=' only: keys and SAS tokens contain '='.
    auto equals = segment.find('=');
    // The segment itself is not quoted: it may be (part of) the key.
    if (equals == std::string_view::npos || Trim(segment.substr(0, equals)).empty())
      throw UsageError(fmt::format("{}: part {} is not Name=value", kVariable, part));
    values[Lower(Trim(segment.substr(0, equals)))] = std::string(Trim(segment.substr(equals + 1)));
  }
  auto get = [&](const char* lower_name) {
    auto it = values.find(lower_name);
    return it == values.end() ? std::string() : it->second;
  };

  AzureConnection out;
  std::string development = get("usedevelopmentstorage");
  if (!development.empty()) {
    if (Lower(development) != "true")
      throw UsageError(fmt::format("{}: UseDevelopmentStorage='{}' must be 'true' or absent", kVariable, development));
    if (!get("developmentstorageproxyuri").empty())
      throw UsageError(
          fmt::format("{}: DevelopmentStorageProxyUri is not supported; give the emulator's address "
                      "as BlobEndpoint (with AccountName and AccountKey) instead",
                      kVariable));
    // Azurite's default blob address, path-style with the account in the path.
    out.account = kAzureDevelopmentAccount;
    out.key = kAzureDevelopmentKey;
    out.blob_endpoint = fmt::format("http://127.0.0.1:10000/{}", kAzureDevelopmentAccount);
  }
  // Explicit values override what UseDevelopmentStorage implies.
  if (std::string v = get("accountname"); !v.empty()) out.account = v;
  if (std::string v = get("accountkey"); !v.empty()) out.key = v;
  if (std::string v = get("sharedaccesssignature"); !v.empty()) out.sas_token = v.front() == '?' ? v.substr(1) : v;

  std::string endpoint = get("blobendpoint");
  if (!endpoint.empty()) {
    // A query here would be a SAS, user info a key: refused, never quoted.
    out.blob_endpoint = CheckedEndpointUrl(endpoint, fmt::format("{}: BlobEndpoint", kVariable));
  } else if (out.blob_endpoint.empty()) {
    if (out.account.empty()) throw UsageError(fmt::format("{} names neither AccountName nor BlobEndpoint", kVariable));
    std::string protocol = Lower(get("defaultendpointsprotocol"));
    if (protocol.empty()) protocol = "https";
    if (protocol != "https" && protocol != "http")
      throw UsageError(fmt::format("{}: DefaultEndpointsProtocol '{}' is neither https nor http", kVariable, protocol));
    std::string suffix = get("endpointsuffix");
    while (!suffix.empty() && suffix.front() == '.') suffix.erase(0, 1);
    if (suffix.empty()) suffix = "core.windows.net";
    // AccountName and EndpointSuffix make the host: neither may smuggle in user info.
    out.blob_endpoint = CheckedEndpointUrl(fmt::format("{}://{}.blob.{}", protocol, out.account, suffix),
                                           fmt::format("{}: the endpoint made of AccountName and EndpointSuffix",
                                                       kVariable));
  }

  if (out.key.empty() && out.sas_token.empty())
    throw UsageError(fmt::format("{} has neither AccountKey nor SharedAccessSignature", kVariable));
  if (!out.key.empty() && out.account.empty())
    throw UsageError(fmt::format("{} has an AccountKey but no AccountName to sign requests with", kVariable));
  return out;
}

std::string SharedKeyCanonicalizedHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  // Each name once: a repeated header's values joined by ',' as HTTP folds them.
  std::map<std::string, std::string> ms;  // sorted by lower-case name, byte order
  for (const auto& [name, value] : headers) {
    std::string lower = Lower(Trim(name));
    if (!lower.starts_with("x-ms-")) continue;
    auto [it, inserted] = ms.emplace(lower, FoldWhitespace(value));
    if (!inserted) it->second += "," + FoldWhitespace(value);
  }
  std::string out;
  for (const auto& [name, value] : ms) out += name + ":" + value + "\n";
  return out;
}

std::string SharedKeyCanonicalizedResource(const std::string& account, const std::string& path,
                                           const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out = "/" + account + (path.empty() ? "/" : path);
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [name, value] : query) params[Lower(name)].push_back(value);
  for (auto& [name, values] : params) {
    std::sort(values.begin(), values.end());
    out += "\n" + name + ":";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  }
  return out;
}

std::string SharedKeyStringToSign(const SharedKeyRequest& request) {
  auto header = [&](const char* name) -> std::string {
    for (const auto& [n, v] : request.headers)
      if (strcasecmp(n.c_str(), name) == 0) return std::string(Trim(v));
    return "";
  };
  std::string content_length = header("Content-Length");
  // Since version 2015-02-21 a zero length is signed as the empty string.
  if (content_length == "0") content_length.clear();
  std::string out = request.method;
  for (const std::string& value :
       {header("Content-Encoding"), header("Content-Language"), content_length, header("Content-MD5"),
        header("Content-Type"), header("Date"), header("If-Modified-Since"), header("If-Match"),
        header("If-None-Match"), header("If-Unmodified-Since"), header("Range")})
    out += "\n" + value;
  out += "\n";
  out += SharedKeyCanonicalizedHeaders(request.headers);
  out += SharedKeyCanonicalizedResource(request.account, request.path, request.query);
  return out;
}

std::string SharedKeySignature(std::string_view decoded_key, std::string_view string_to_sign) {
  return Base64Encode(HmacSha256(decoded_key, string_to_sign));
}

std::string SharedKeyAuthorization(std::string_view decoded_key, const SharedKeyRequest& request) {
  return fmt::format("SharedKey {}:{}", request.account,
                     SharedKeySignature(decoded_key, SharedKeyStringToSign(request)));
}

std::string AzureDateNow() {
  // Spelled out rather than strftime("%a"): the names must be English
  // whatever the locale.
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace pgvault
