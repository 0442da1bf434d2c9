#include "api/field_reader.h"

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

using nlohmann::json;

FieldReader::FieldReader(const json& object, std::string origin, std::string path)
    : object_(object), origin_(std::move(origin)), path_(std::move(path)) {
  if (!object_.is_object())
    throw Error(fmt::format("{}: {}: must be a mapping (key: value)", origin_, path_.empty() ? "document" : path_));
}

std::string FieldReader::PathOf(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

void FieldReader::Fail(const std::string& key, const std::string& message) const {
  throw Error(fmt::format("{}: {}: {}", origin_, key.empty() ? (path_.empty() ? "document" : path_) : PathOf(key),
                          message));
}

const json* FieldReader::Get(const std::string& key) {
  read_.insert(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> FieldReader::OptionalString(const std::string& key) {
  const json* v = Get(key);
  if (!v) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  Fail(key, "must be a string");
}

std::string FieldReader::RequiredString(const std::string& key) {
  auto v = OptionalString(key);
  if (!v || v->empty()) Fail(key, "is required");
  return *v;
}

std::optional<bool> FieldReader::OptionalBool(const std::string& key) {
  const json* v = Get(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) Fail(key, "must be true or false");
  return v->get<bool>();
}

std::optional<int64_t> FieldReader::OptionalInt(const std::string& key) {
  const json* v = Get(key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) Fail(key, "must be an integer");
  return v->get<int64_t>();
}

std::map<std::string, std::string> FieldReader::StringMap(const std::string& key) {
  std::map<std::string, std::string> out;
  const json* v = Get(key);
  if (!v) return out;
  if (!v->is_object()) Fail(key, "must be a mapping of names to strings");
  for (const auto& [k, item] : v->items()) {
    if (item.is_string())
      out[k] = item.get<std::string>();
    else if (item.is_boolean() || item.is_number())
      out[k] = item.dump();
    else
      Fail(key + "." + k, "must be a string");
  }
  return out;
}

std::optional<FieldReader> FieldReader::Object(const std::string& key) {
  const json* v = Get(key);
  if (!v) return std::nullopt;
  if (!v->is_object()) Fail(key, "must be a mapping (key: value)");
  return FieldReader(*v, origin_, PathOf(key));
}

std::vector<FieldReader> FieldReader::ObjectList(const std::string& key) {
  std::vector<FieldReader> out;
  const json* v = Get(key);
  if (!v) return out;
  if (!v->is_array()) Fail(key, "must be a list");
  for (size_t i = 0; i < v->size(); ++i) {
    std::string path = fmt::format("{}[{}]", PathOf(key), i);
    if (!(*v)[i].is_object()) throw Error(fmt::format("{}: {}: must be a mapping (key: value)", origin_, path));
    out.emplace_back((*v)[i], origin_, path);
  }
  return out;
}

const json* FieldReader::Raw(const std::string& key) { return Get(key); }

void FieldReader::Finish() const {
  for (const auto& [k, v] : object_.items())
    if (!read_.count(k)) Fail(k, "unknown field (check its spelling and indentation)");
}

}  // namespace pgvault
