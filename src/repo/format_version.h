// Version checks shared by every versioned object of the repository, so each
// one refuses what it cannot read in the same words (docs/repository-format.md,
// section 5). Format 1 is the only version: anything else, older or newer, is
// refused, because a reader that guesses could misread every byte after it.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace pgvault {

// The version of every object in a format 1 repository: config.json,
// manifests, file lists, index files, and the version byte of pack magics.
inline constexpr int kFormatVersion = 1;

// "<object>: unsupported format version N; this pgvault reads version 1",
// with ": upgrade pgvault" when N is newer.
std::string UnsupportedVersionMessage(int64_t version, const std::string& object);
// Throws Error with that message unless `version` is kFormatVersion.
void CheckFormatVersion(int64_t version, const std::string& object);
// The same for the "version" key of a JSON document; a missing or
// non-integer version is reported as damage (IntegrityError).
void CheckFormatVersion(const nlohmann::json& document, const std::string& object);

}  // namespace pgvault
