#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "storage/azure_blob_store.h"
#include "storage/object_store_location.h"
#include "storage/object_store_storage.h"
#include "storage/posix_storage.h"
#include "storage/s3_store.h"
#include "storage/storage.h"
#include "storage/storage_settings.h"

namespace pgvault {

std::unique_ptr<Storage> OpenStorage(const std::string& location) {
  if (location.empty()) throw Error("no repository given: pass --repo DIR|URL or set PGVAULT_REPO");
  if (auto url = ParseObjectStoreLocation(location)) {
    CredentialSource credentials = CredentialSource::FromEnvironment();
    StorageSettings settings = StorageSettings::FromEnvironment(credentials);
    std::unique_ptr<ObjectStore> store = url->kind == ObjectStoreKind::kAzure
                                             ? OpenAzureBlobStore(*url, settings, credentials)
                                             : OpenS3Store(*url, settings, credentials);
    ObjectStoreStorageOptions options;
    // Test hook (pgvault's own tests): a short lease, to see renewals.
    if (const char* lease = std::getenv("PGVAULT_TEST_LOCK_LEASE_SECONDS"); lease && *lease)
      options.lock_lease_seconds = std::max(3, std::atoi(lease));
    return std::make_unique<ObjectStoreStorage>(std::move(store), url->url, url->prefix, options);
  }
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(location, ec).lexically_normal().string();
  if (ec) absolute = location;
  return std::make_unique<PosixStorage>(absolute);
}

}  // namespace pgvault

