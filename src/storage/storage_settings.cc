#include "storage/storage_settings.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "storage/endpoint_url.h"

namespace pgvault {

namespace {

// The names a credentials file may set: the secrets and the settings that go
// with them, so one file (mode 0600) can describe how to reach a repository.
const std::set<std::string>& KnownNames() {
  static const std::set<std::string> names = {
      "AWS_ACCESS_KEY_ID",       "AWS_SECRET_ACCESS_KEY",  "AWS_SESSION_TOKEN",       "AWS_REGION",
      "AWS_DEFAULT_REGION",      "AWS_ENDPOINT_URL",       "AWS_CA_BUNDLE",           "GOOGLE_HMAC_ACCESS_KEY",
      "GOOGLE_HMAC_SECRET",      "AZURE_STORAGE_CONNECTION_STRING",                   "AZURE_STORAGE_ACCOUNT",
      "AZURE_STORAGE_KEY",       "AZURE_STORAGE_SAS_TOKEN", "PGVAULT_S3_URI_STYLE",   "PGVAULT_S3_SSE",
      "PGVAULT_S3_SSE_KMS_KEY_ID", "PGVAULT_REPO_CA_FILE",  "PGVAULT_REPO_VERIFY_TLS", "PGVAULT_REPO_TIMEOUT",
  };
  return names;
}

std::string Trim(std::string text) {
  size_t start = text.find_first_not_of(" \t\r");
  if (start == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(start, end - start + 1);
}

}  // namespace

std::map<std::string, std::string> CredentialSource::ParseFile(const std::string& text, const std::string& where) {
  std::map<std::string, std::string> out;
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = Trim(text.substr(start, end - start));
    start = end + 1;
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("export ")) line = Trim(line.substr(7));
    auto equals = line.find('=');
    if (equals == std::string::npos)
      throw Error(fmt::format("{} line {}: expected NAME=value", where, line_number));
    std::string name = Trim(line.substr(0, equals));
    std::string value = Trim(line.substr(equals + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    // A line such as "AZURE_STORAGE_KEY: <key>==" splits at the key's own
    // '=': never echo anything that is not a plain name.
    bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return std::isupper(c) || std::isdigit(c) || c == '_';
    });
    if (!plain) throw Error(fmt::format("{} line {}: expected NAME=value", where, line_number));
    if (!KnownNames().count(name)) {
      std::string known;
      for (const auto& n : KnownNames()) known += (known.empty() ? "" : ", ") + n;
      throw Error(fmt::format("{} line {}: unknown name '{}' (known: {})", where, line_number, name, known));
    }
    out[name] = value;
  }
  return out;
}

CredentialSource CredentialSource::FromEnvironment() {
  CredentialSource source;
  source.use_environment_ = true;
  const char* file = std::getenv("PGVAULT_REPO_CREDENTIALS");
  if (file && *file) {
    std::string text;
    try {
      text = ReadWholeFile(file);
    } catch (const Error& e) {
      throw Error(fmt::format("cannot read the repository credentials file: {}", e.what()));
    }
    struct stat st;
    if (::stat(file, &st) == 0 && (st.st_mode & 0077))
      spdlog::warn("repository credentials file {} is readable by others (mode {:o}); chmod 600 it", file,
                   st.st_mode & 0777);
    source.file_values_ = ParseFile(text, file);
  }
  return source;
}

std::string CredentialSource::Get(const std::string& name) const {
  // A command-line option first (main() hands them down as PGVAULT_CLI_<name>,
  // so that processes pgvault starts see them too), then the credentials
  // file, which names exactly this repository, then the ambient environment.
  if (use_environment_) {
    if (const char* value = std::getenv(("PGVAULT_CLI_" + name).c_str()); value && *value) return value;
  }
  if (auto it = file_values_.find(name); it != file_values_.end() && !it->second.empty()) return it->second;
  if (use_environment_) {
    if (const char* value = std::getenv(name.c_str()); value && *value) return value;
  }
  return "";
}

StorageSettings StorageSettings::FromEnvironment(const CredentialSource& source) {
  StorageSettings s;
  // Also for gs://, whose endpoint is this same setting.
  if (std::string endpoint = source.Get("AWS_ENDPOINT_URL"); !endpoint.empty())
    s.s3_endpoint = CheckedEndpointUrl(endpoint, "S3 endpoint (--s3-endpoint, AWS_ENDPOINT_URL)");
  s.s3_uri_style = source.Get("PGVAULT_S3_URI_STYLE");
  if (!s.s3_uri_style.empty() && s.s3_uri_style != "path" && s.s3_uri_style != "host")
    throw UsageError(fmt::format("S3 URI style '{}' is neither 'path' nor 'host' (--s3-uri-style)", s.s3_uri_style));
  s.s3_region = source.Get("AWS_REGION");
  if (s.s3_region.empty()) s.s3_region = source.Get("AWS_DEFAULT_REGION");
  s.s3_sse = source.Get("PGVAULT_S3_SSE");
  if (!s.s3_sse.empty() && s.s3_sse != "AES256" && s.s3_sse != "aws:kms")
    throw UsageError(fmt::format("S3 server-side encryption '{}' is neither 'AES256' nor 'aws:kms' (--s3-sse)",
                                 s.s3_sse));
  s.s3_sse_kms_key_id = source.Get("PGVAULT_S3_SSE_KMS_KEY_ID");
  s.ca_file = source.Get("PGVAULT_REPO_CA_FILE");
  if (s.ca_file.empty()) s.ca_file = source.Get("AWS_CA_BUNDLE");
  if (!s.ca_file.empty()) s.ca_file = std::filesystem::absolute(s.ca_file).lexically_normal().string();
  std::string verify = source.Get("PGVAULT_REPO_VERIFY_TLS");
  if (!verify.empty()) {
    if (verify == "n" || verify == "no" || verify == "0" || verify == "false") s.verify_tls = false;
    else if (verify == "y" || verify == "yes" || verify == "1" || verify == "true") s.verify_tls = true;
    else throw UsageError(fmt::format("PGVAULT_REPO_VERIFY_TLS='{}' is neither y nor n", verify));
  }
  if (const char* file = std::getenv("PGVAULT_REPO_CREDENTIALS"); file && *file)
    s.credentials_file = std::filesystem::absolute(file).lexically_normal().string();
  std::string timeout = source.Get("PGVAULT_REPO_TIMEOUT");
  if (!timeout.empty()) {
    char* end = nullptr;
    long seconds = std::strtol(timeout.c_str(), &end, 10);
    if (*end != '\0' || seconds < 1 || seconds > 3600)
      throw UsageError(fmt::format("PGVAULT_REPO_TIMEOUT='{}' is not a number of seconds between 1 and 3600", timeout));
    s.stall_timeout_seconds = seconds;
  }
  return s;
}

std::vector<std::string> StorageSettings::ToArguments() const {
  std::vector<std::string> out;
  auto add = [&](const char* option, const std::string& value) {
    if (!value.empty()) {
      out.push_back(option);
      out.push_back(value);
    }
  };
  add("--s3-endpoint", s3_endpoint);
  add("--s3-uri-style", s3_uri_style);
  add("--s3-region", s3_region);
  add("--s3-sse", s3_sse);
  add("--s3-sse-kms-key-id", s3_sse_kms_key_id);
  add("--repo-ca-file", ca_file);
  add("--repo-credentials", credentials_file);
  if (!verify_tls) out.push_back("--repo-no-verify-tls");
  return out;
}

}  // namespace pgvault
