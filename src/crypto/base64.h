// Standard base64 (RFC 4648, with padding) through OpenSSL: Content-MD5,
// Azure keys, signatures and block ids.
#pragma once

#include <string>
#include <string_view>

namespace pgvault {

std::string Base64Encode(std::string_view data);
// Throws pgvault::Error naming `what` when `text` is not valid base64.
std::string Base64Decode(std::string_view text, const std::string& what);

}  // namespace pgvault
