// AWS Signature Version 4 (header form), as S3 and S3-compatible services
// (GCS's XML API with HMAC keys, Swift's s3api, MinIO, Ceph) verify it.
// Pure functions, unit-tested against the AWS Signature V4 test suite.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pgvault {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials (STS); sent as x-amz-security-token
};

struct SigV4Request {
  std::string method;
  std::string canonical_uri;  // the path exactly as sent, already percent-encoded ("/bucket/a%20b")
  std::vector<std::pair<std::string, std::string>> query;    // decoded; the signer encodes and sorts
  std::vector<std::pair<std::string, std::string>> headers;  // as sent; must include host and x-amz-date
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// The pieces, exposed for tests and for debugging a SignatureDoesNotMatch.
std::string SigV4CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);
std::string SigV4SignedHeaders(const SigV4Request& request);
std::string SigV4CanonicalRequest(const SigV4Request& request);
// `amz_date` is "YYYYMMDDTHHMMSSZ".
std::string SigV4StringToSign(const std::string& amz_date, const std::string& region, const std::string& service,
                              const std::string& canonical_request);
std::string SigV4Signature(const std::string& secret_access_key, const std::string& amz_date,
                           const std::string& region, const std::string& service, const std::string& string_to_sign);
// The Authorization header's value.
std::string SigV4Authorization(const AwsCredentials& credentials, const std::string& region,
                               const std::string& service, const std::string& amz_date, const SigV4Request& request);
// Now, as x-amz-date wants it.
std::string AmzDateNow();

}  // namespace pgvault
