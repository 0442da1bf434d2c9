// MD5 through OpenSSL, only for the Content-MD5 header object stores check on
// upload (not for anything that must resist an attacker: pgvault's own
// integrity checks are SHA-256).
#pragma once

#include <string>
#include <string_view>

namespace pgvault {

std::string Md5(std::string_view data);  // raw 16 bytes

}  // namespace pgvault
