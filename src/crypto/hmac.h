// HMAC-SHA256 through OpenSSL: request signatures for S3 (AWS Signature V4)
// and Azure (SharedKey).
#pragma once

#include <string>
#include <string_view>

namespace pgvault {

// The raw 32-byte MAC of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace pgvault
