// Sealed JSON: a repository document that carries the SHA-256 of its own
// content in a "checksum" key, so that a flipped byte or a hand edit of a
// manifest, config.json or the backup history is found by every reader, not
// only where another object happens to point at it with a hash
// (docs/repository-format.md, section 13).
//
// The checksum covers the document's canonical text: the compact JSON that
// nlohmann::json writes for it without the "checksum" key (keys sorted, no
// whitespace). Indentation and key order of the stored text do not matter;
// every key and value does. It protects against damage, not against someone
// who can write the repository and recompute it: that is encryption's job.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace pgvault {

// The text to store: `document` with "checksum" set, indented by two spaces,
// then a newline.
std::string SealJson(nlohmann::json document);

// Parses `text` and checks its seal; returns the document without the
// "checksum" key. IntegrityError naming `where` when the text is not JSON, has
// no checksum, or the checksum does not match.
nlohmann::json UnsealJson(const std::string& text, const std::string& where);

// The check alone, for a reader that looks at "format" and "version" first
// (a later version may seal differently): removes "checksum" from `document`
// and throws as UnsealJson does.
void CheckSeal(nlohmann::json& document, const std::string& where);

}  // namespace pgvault
