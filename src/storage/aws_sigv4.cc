#include "storage/aws_sigv4.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "crypto/hmac.h"
#include "crypto/sha256.h"
#include "storage/http_client.h"

namespace pgvault {

namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Trims and collapses runs of spaces, as the canonical form requires.
std::string CanonicalHeaderValue(const std::string& value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Sorted lower-case names, each with its values joined by commas in the order
// they appear.
std::vector<std::pair<std::string, std::string>> CanonicalHeaders(const SigV4Request& request) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : request.headers) {
    std::string lower = Lower(name);
    std::string canonical = CanonicalHeaderValue(value);
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& h) { return h.first == lower; });
    if (it == out.end()) out.emplace_back(lower, canonical);
    else it->second += "," + canonical;
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Scope(const std::string& amz_date, const std::string& region, const std::string& service) {
  return fmt::format("{}/{}/{}/aws4_request", amz_date.substr(0, 8), region, service);
}

}  // namespace

std::string SigV4CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) out += (out.empty() ? "" : "&") + name + "=" + value;
  return out;
}

std::string SigV4SignedHeaders(const SigV4Request& request) {
  std::string out;
  for (const auto& [name, value] : CanonicalHeaders(request)) out += (out.empty() ? "" : ";") + name;
  return out;
}

std::string SigV4CanonicalRequest(const SigV4Request& request) {
  std::string headers;
  for (const auto& [name, value] : CanonicalHeaders(request)) headers += name + ":" + value + "\n";
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.method, request.canonical_uri,
                     SigV4CanonicalQuery(request.query), headers, SigV4SignedHeaders(request), request.payload_hash);
}

std::string SigV4StringToSign(const std::string& amz_date, const std::string& region, const std::string& service,
                              const std::string& canonical_request) {
  return fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, Scope(amz_date, region, service),
                     DigestHex(Sha256(canonical_request)));
}

std::string SigV4Signature(const std::string& secret_access_key, const std::string& amz_date,
                           const std::string& region, const std::string& service, const std::string& string_to_sign) {
  std::string key = HmacSha256("AWS4" + secret_access_key, amz_date.substr(0, 8));
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  key = HmacSha256(key, "aws4_request");
  std::string mac = HmacSha256(key, string_to_sign);
  Digest digest;
  std::copy(mac.begin(), mac.end(), digest.begin());
  return DigestHex(digest);
}

std::string SigV4Authorization(const AwsCredentials& credentials, const std::string& region,
                               const std::string& service, const std::string& amz_date, const SigV4Request& request) {
  std::string string_to_sign = SigV4StringToSign(amz_date, region, service, SigV4CanonicalRequest(request));
  return fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}", credentials.access_key_id,
                     Scope(amz_date, region, service), SigV4SignedHeaders(request),
                     SigV4Signature(credentials.secret_access_key, amz_date, region, service, string_to_sign));
}

std::string AmzDateNow() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc;
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

}  // namespace pgvault
