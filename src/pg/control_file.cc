#include "pg/control_file.h"

#include <fcntl.h>

#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"

namespace pgvault {

std::string CheckDataDirectory(const std::string& pgdata) {
  std::string version;
  try {
    version = ReadWholeFile(pgdata + "/PG_VERSION");
  } catch (const NotFoundError&) {
    throw Error(fmt::format("{} is not a PostgreSQL data directory (no PG_VERSION file): check --pgdata", pgdata));
  }
  while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
  return version;
}

uint64_t ReadSystemIdentifier(const std::string& pgdata) {
  CheckDataDirectory(pgdata);
  std::string path = pgdata + "/global/pg_control";
  UniqueFd fd;
  try {
    fd = OpenOrThrow(path, O_RDONLY);
  } catch (const NotFoundError&) {
    throw Error(fmt::format("{} is not a PostgreSQL data directory (no global/pg_control): check --pgdata", pgdata));
  }
  uint64_t id = 0;
  if (PreadFull(fd.get(), &id, sizeof id, 0, path) != sizeof id)
    throw Error(fmt::format("{} is truncated", path));
  return id;  // stored in the host's byte order, like PostgreSQL writes it
}

}  // namespace pgvault
