#include "repo/format_version.h"

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

std::string UnsupportedVersionMessage(int64_t version, const std::string& object, int64_t supported) {
  return fmt::format("{}: unsupported format version {}; this pgvault reads version {}{}", object, version, supported,
                     version > supported   ? ": upgrade pgvault"
                     : version >= 1        ? " (written by an older pgvault: restore it with that version)"
                                           : "");
}

void CheckFormatVersion(int64_t version, const std::string& object) {
  if (version != kFormatVersion) throw Error(UnsupportedVersionMessage(version, object));
}

void CheckFormatVersion(const nlohmann::json& document, const std::string& object) {
  auto version = document.find("version");
  if (version == document.end() || !version->is_number_integer())
    throw IntegrityError(fmt::format("{} is damaged: no integer \"version\"", object));
  CheckFormatVersion(version->get<int64_t>(), object);
}

}  // namespace pgvault
