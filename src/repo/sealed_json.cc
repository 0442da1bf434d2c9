#include "repo/sealed_json.h"

#include <fmt/format.h>

#include "core/error.h"
#include "crypto/sha256.h"

namespace pgvault {

namespace {
constexpr const char* kChecksumKey = "checksum";

std::string CanonicalChecksum(const nlohmann::json& document) {
  // error_handler replace: a string that is not valid UTF-8 gets a checksum
  // instead of an exception here; the reader of that key reports it.
  return DigestHex(Sha256(document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}
}  // namespace

std::string SealJson(nlohmann::json document) {
  document.erase(kChecksumKey);
  std::string checksum = CanonicalChecksum(document);
  document[kChecksumKey] = checksum;
  return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json UnsealJson(const std::string& text, const std::string& where) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw IntegrityError(fmt::format("{} is damaged: {}", where, e.what()));
  }
  CheckSeal(document, where);
  return document;
}

void CheckSeal(nlohmann::json& document, const std::string& where) {
  if (!document.is_object()) throw IntegrityError(fmt::format("{} is damaged: not a JSON object", where));
  auto it = document.find(kChecksumKey);
  if (it == document.end() || !it->is_string())
    throw IntegrityError(fmt::format("{} is damaged: it has no checksum", where));
  std::string stored = it->get<std::string>();
  document.erase(it);
  if (CanonicalChecksum(document) != stored)
    throw IntegrityError(fmt::format("{} is damaged (checksum mismatch): it was changed after it was written", where));
}

}  // namespace pgvault
