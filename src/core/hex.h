// Hexadecimal encoding of byte strings (chunk ids, digests).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgvault {

std::string HexEncode(std::span<const uint8_t> bytes);
// Throws pgvault::Error on odd length or non-hex characters.
std::vector<uint8_t> HexDecode(std::string_view text);

}  // namespace pgvault
