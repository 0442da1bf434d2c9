// Error type used across pgvault. Every message must carry enough context
// (which file, which server, which backup) for a user to act on it without
// reading the source.
#pragma once

#include <stdexcept>
#include <string>

namespace pgvault {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Raised when an object or file that was asked for does not exist. Callers
// that probe (e.g. "is this chunk already stored?") catch this one only.
class NotFoundError : public Error {
 public:
  explicit NotFoundError(const std::string& message) : Error(message) {}
};

// Raised when stored data fails an integrity check. Carries the damage in
// words that name the object, so verify and restore print the same text.
class IntegrityError : public Error {
 public:
  explicit IntegrityError(const std::string& message) : Error(message) {}
};

// Raised for a bad combination or value of command-line options that the
// parser itself cannot see; the CLI exits with status 2 ("bad usage").
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

}  // namespace pgvault
