// Version checks shared by every versioned object of the repository, so each
// one refuses what it cannot read in the same words (docs/repository-format.md,
// section 5). Format 2 is the only version: anything else, older or newer, is
// refused, because a reader that guesses could misread every byte after it.
// (Version 2 sealed the manifests, config.json and the backup history with
// checksums of their own and named index files by their content: a version 1
// repository cannot prove its metadata; section 17 of the format.)
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace pgvault {

// The version of every JSON object in a format 2 repository: config.json,
// manifests, file lists, index files, the backup history.
inline constexpr int kFormatVersion = 2;
// The version byte of pack magics: the pack layout did not change in format 2.
inline constexpr int kPackVersion = 1;

// "<object>: unsupported format version N; this pgvault reads version 2",
// with ": upgrade pgvault" when N is newer (and "... created by an older
// pgvault" when older).
std::string UnsupportedVersionMessage(int64_t version, const std::string& object, int64_t supported = kFormatVersion);
// Throws Error with that message unless `version` is kFormatVersion.
void CheckFormatVersion(int64_t version, const std::string& object);
// The same for the "version" key of a JSON document; a missing or
// non-integer version is reported as damage (IntegrityError).
void CheckFormatVersion(const nlohmann::json& document, const std::string& object);

}  // namespace pgvault
