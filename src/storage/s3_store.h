// The S3 driver: Amazon S3 and S3-compatible services (MinIO, Ceph RGW,
// Swift's s3api, s3rver) and Google Cloud Storage's XML API with HMAC keys.
//
// Requests are signed with AWS Signature V4 over the real payload hash
// (x-amz-content-sha256), and every upload carries Content-MD5, so the service
// refuses a body damaged on the way. Puts larger than the part size go as a
// multipart upload, aborted when the writer is abandoned.
#pragma once

#include <memory>

#include "storage/object_store.h"
#include "storage/object_store_location.h"
#include "storage/storage_settings.h"

namespace pgvault {

// Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
// (for gs://, GOOGLE_HMAC_ACCESS_KEY / GOOGLE_HMAC_SECRET first). Throws
// UsageError when they are missing.
std::unique_ptr<ObjectStore> OpenS3Store(const ObjectStoreLocation& location, const StorageSettings& settings,
                                         const CredentialSource& credentials);

}  // namespace pgvault
