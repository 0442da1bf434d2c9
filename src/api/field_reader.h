// Strict reading of one JSON/YAML object: every field is typed, every error
// names the field path ("spec.instances[1].pgdata: must be a string"), and
// fields nobody asked for are rejected by Finish(), so a typo never silently
// falls back to a default.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgvault {

class FieldReader {
 public:
  // `origin` prefixes every message (the file name); `path` is this object's
  // field path ("" at the top of a document).
  FieldReader(const nlohmann::json& object, std::string origin, std::string path);

  std::optional<std::string> OptionalString(const std::string& key);
  std::string RequiredString(const std::string& key);
  std::optional<bool> OptionalBool(const std::string& key);
  std::optional<int64_t> OptionalInt(const std::string& key);
  std::map<std::string, std::string> StringMap(const std::string& key);
  // An object field, for a nested reader; nullopt when absent or null.
  std::optional<FieldReader> Object(const std::string& key);
  // An array of objects.
  std::vector<FieldReader> ObjectList(const std::string& key);
  // A field taken as is (for pass-through values); marks it as read.
  const nlohmann::json* Raw(const std::string& key);

  // Throws for every field that was not read.
  void Finish() const;

  // "origin: path.key: message" as an Error.
  [[noreturn]] void Fail(const std::string& key, const std::string& message) const;
  std::string PathOf(const std::string& key) const;
  const std::string& origin() const { return origin_; }

 private:
  const nlohmann::json* Get(const std::string& key);
  const nlohmann::json& object_;
  std::string origin_;
  std::string path_;
  std::set<std::string> read_;
};

}  // namespace pgvault
