// Integers read from repository JSON, range-checked: nlohmann::json converts
// any number to any integer type without a word (-1 becomes 4294967295,
// 2^33 loses its top bits, 1e30 is undefined behaviour), and a repository
// byte is never trusted before it is checked.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pgvault {

// `value` as a T, or IntegrityError "<where> is damaged: <name> ..." when it
// is not an integer that fits in T.
template <class T>
T JsonInteger(const nlohmann::json& value, const char* name, const std::string& where) {
  static_assert(std::is_integral_v<T>);
  bool fits = false;
  if (value.is_number_unsigned()) {
    fits = value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    fits = std::is_signed_v<T> ? v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                     v <= static_cast<int64_t>(std::numeric_limits<T>::max())
                               : v >= 0;
  }
  if (!fits) throw IntegrityError(fmt::format("{} is damaged: {} {} is not a valid {}", where, name, value.dump(),
                                              std::is_signed_v<T> ? "integer" : "unsigned integer"));
  return value.get<T>();
}

// The same for key `key` of object `object`; a missing key is damage too.
template <class T>
T JsonInteger(const nlohmann::json& object, const char* key, const std::string& where, std::nullptr_t) {
  auto it = object.find(key);
  if (it == object.end()) throw IntegrityError(fmt::format("{} is damaged: no \"{}\"", where, key));
  return JsonInteger<T>(*it, key, where);
}

}  // namespace pgvault
