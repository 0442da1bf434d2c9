// Reading a manifest or cluster file that a user names (apply -f FILE or -,
// --config FILE) without reading more than a manifest may be: a file of
// gigabytes, or a pipe that never ends, is not read into memory first.
#pragma once

#include <cstddef>
#include <string>

namespace pgvault {

// The content of `path` ("-": standard input), but never more than
// `max_bytes` + 1 bytes: enough for the parser (ParseYamlDocuments) to see
// that it is too large and say so. Throws Error when it cannot be read.
std::string ReadDocumentFile(const std::string& path, size_t max_bytes);

}  // namespace pgvault
