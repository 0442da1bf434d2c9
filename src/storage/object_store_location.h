// Where a repository lives when it is not a local path: the URL forms users
// write in --repo and in a cluster file's spec.repository.
//
//   s3://BUCKET[/PREFIX]                       Amazon S3 or any S3-compatible service
//   gs://BUCKET[/PREFIX]                       Google Cloud Storage (XML API, HMAC keys)
//   azure://CONTAINER[/PREFIX]                 Azure Blob Storage; account from the credentials
//   https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]   the same, account in the URL
#pragma once

#include <optional>
#include <string>

namespace pgvault {

enum class ObjectStoreKind { kS3, kGcs, kAzure };

struct ObjectStoreLocation {
  ObjectStoreKind kind = ObjectStoreKind::kS3;
  std::string url;     // as the user wrote it, normalized (no trailing '/')
  std::string bucket;  // bucket or container
  std::string prefix;  // key prefix without leading/trailing '/'; may be empty
  // Azure https form only: the account and the blob endpoint named by the URL.
  std::string azure_account;
  std::string azure_endpoint;  // "https://ACCOUNT.blob.core.windows.net"
};

// nullopt for a local path (no "scheme://"). Throws UsageError for a URL that
// is malformed or of a scheme pgvault does not know, saying which forms work.
std::optional<ObjectStoreLocation> ParseObjectStoreLocation(const std::string& location);

}  // namespace pgvault
