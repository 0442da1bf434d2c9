// The Azure Blob Storage driver: block blobs in one container, over the REST
// API (x-ms-version 2021-08-06), against Azure or the Azurite emulator.
//
// Requests are signed with SharedKey (the account key) or carry a SAS token;
// every upload carries Content-MD5, so the service refuses a body damaged on
// the way. Large objects go up as blocks (Put Block) made visible by one Put
// Block List; blocks never committed are discarded by the service itself.
#pragma once

#include <cstddef>
#include <memory>

#include "storage/object_store.h"
#include "storage/object_store_location.h"
#include "storage/storage_settings.h"

namespace pgvault {

// Credentials, looked up in `credentials` by these names:
//   AZURE_STORAGE_CONNECTION_STRING   a connection string (AccountName,
//                                     AccountKey or SharedAccessSignature,
//                                     BlobEndpoint, UseDevelopmentStorage=true...)
//   AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY (preferred) or
//   AZURE_STORAGE_SAS_TOKEN           endpoint https://ACCOUNT.blob.core.windows.net
// The connection string wins when both are set. For the
// https://ACCOUNT.blob.core.windows.net/CONTAINER URL form the account and
// endpoint come from the URL, and the credentials must be for that account.
// Throws UsageError when credentials are missing, for another account, or
// malformed (a key that is not base64), never quoting a secret.
std::unique_ptr<ObjectStore> OpenAzureBlobStore(const ObjectStoreLocation& location, const StorageSettings& settings,
                                                const CredentialSource& credentials);

// The same with List pages of at most `list_page_size` objects (the service's
// default is 5000): for tests of paging only.
std::unique_ptr<ObjectStore> OpenAzureBlobStoreForTest(const ObjectStoreLocation& location,
                                                       const StorageSettings& settings,
                                                       const CredentialSource& credentials, size_t list_page_size);

}  // namespace pgvault
