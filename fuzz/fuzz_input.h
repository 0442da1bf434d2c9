// Shared by the libFuzzer targets: what counts as a correct outcome.
//
// A parser of untrusted bytes may refuse them only with pgvault::Error (or a
// subclass), whose message names the input and the problem. Anything else
// escaping (std::out_of_range from a bare stoul, a nlohmann exception, bad_alloc
// from a length read off the input) leaves LLVMFuzzerTestOneInput, reaches
// std::terminate and is reported by libFuzzer as a crash: those are bugs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace pgvault::fuzz {

template <typename Body>
void ExpectOnlyPgvaultErrors(Body&& body) {
  try {
    body();
  } catch (const pgvault::Error&) {
    // A refusal with a message: the expected outcome for bad bytes.
  }
}

inline std::string Text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// The input cut at NUL bytes into at most `count` fields (missing ones empty):
// lets one input drive a parser that takes several strings.
inline std::vector<std::string> Fields(const uint8_t* data, size_t size, size_t count) {
  std::vector<std::string> fields(count);
  size_t field = 0;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && field + 1 < count) {
      ++field;
    } else {
      fields[field] += static_cast<char>(data[i]);
    }
  }
  return fields;
}

}  // namespace pgvault::fuzz
