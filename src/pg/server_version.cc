#include "pg/server_version.h"

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

std::string ServerVersion::Name() const { return fmt::format("{}.{}", major(), num % 10000); }

void CheckSupportedServer(const ServerVersion& version, const std::string& server) {
  int major = version.major();
  if (major >= kOldestSupportedMajor && major <= kNewestSupportedMajor) return;
  throw Error(fmt::format("PostgreSQL at {} is version {} (server_version_num {}); pgvault supports PostgreSQL {} to "
                          "{}{}",
                          server, version.Name(), version.num, kOldestSupportedMajor, kNewestSupportedMajor,
                          major > kNewestSupportedMajor ? ": a newer pgvault may support it" : ""));
}

}  // namespace pgvault
