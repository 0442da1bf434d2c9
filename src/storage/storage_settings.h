// How pgvault reaches an object store: endpoints, addressing style, TLS, and
// where secrets come from. Everything is read from the environment, which the
// global command-line options (--s3-endpoint, --repo-credentials, ...) set
// before any command runs, so processes pgvault starts itself (the async
// archiver, the WAL prefetcher) inherit the same settings.
//
// Every value is looked up by its standard environment variable name: first
// among the command-line options (--s3-endpoint sets AWS_ENDPOINT_URL...),
// then in the credentials file (PGVAULT_REPO_CREDENTIALS, --repo-credentials:
// lines of NAME=value with the same names), then in the environment. The
// file names one repository exactly; the environment may hold a shell's
// leftovers. They are
// never accepted on the command line, never logged and never put in an error
// message or a restore_command.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace pgvault {

// Looks up a setting by its environment variable name: command-line option,
// credentials file, environment.
class CredentialSource {
 public:
  // Reads PGVAULT_REPO_CREDENTIALS (if set) now. Throws Error naming the file
  // and line when it cannot be read or a line is not NAME=value of a known name.
  static CredentialSource FromEnvironment();
  // For tests: only these values.
  explicit CredentialSource(std::map<std::string, std::string> values) : file_values_(std::move(values)) {}
  CredentialSource() = default;

  // "" when unset anywhere.
  std::string Get(const std::string& name) const;

  // Parses the credentials file text (exposed for tests). `where` names it in errors.
  static std::map<std::string, std::string> ParseFile(const std::string& text, const std::string& where);

 private:
  std::map<std::string, std::string> file_values_;
  bool use_environment_ = false;
};

struct StorageSettings {
  std::string s3_endpoint;     // AWS_ENDPOINT_URL or --s3-endpoint; empty: AWS (or GCS for gs://)
  std::string s3_uri_style;    // PGVAULT_S3_URI_STYLE or --s3-uri-style: "path" | "host" | "" (auto)
  std::string s3_region;       // AWS_REGION, AWS_DEFAULT_REGION or --s3-region
  std::string s3_sse;          // PGVAULT_S3_SSE or --s3-sse: "" | "AES256" | "aws:kms"
  std::string s3_sse_kms_key_id;  // PGVAULT_S3_SSE_KMS_KEY_ID or --s3-sse-kms-key-id
  std::string ca_file;         // PGVAULT_REPO_CA_FILE, AWS_CA_BUNDLE or --repo-ca-file
  bool verify_tls = true;      // PGVAULT_REPO_VERIFY_TLS=n or --repo-no-verify-tls turns it off
  std::string credentials_file;  // PGVAULT_REPO_CREDENTIALS or --repo-credentials
  long stall_timeout_seconds = 60;  // PGVAULT_REPO_TIMEOUT: a transfer without progress this long is retried

  // Throws UsageError for values that make no sense (an unknown URI style...).
  static StorageSettings FromEnvironment(const CredentialSource& source);
  // The command-line options that reproduce the non-secret settings, for a
  // restore_command that must reach the same repository.
  std::vector<std::string> ToArguments() const;
};

}  // namespace pgvault
