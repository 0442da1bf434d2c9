#include "api/document_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"

namespace pgvault {

std::string ReadDocumentFile(const std::string& path, size_t max_bytes) {
  const bool standard_input = path == "-";
  const std::string name = standard_input ? "<stdin>" : path;
  UniqueFd owned;
  if (!standard_input) owned = OpenOrThrow(path, O_RDONLY | O_CLOEXEC);
  const int fd = standard_input ? STDIN_FILENO : owned.get();
  std::string data;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("cannot read {}: {}", name, ErrnoText(errno)));
    }
    if (n == 0) break;
    data.append(buffer, std::min(static_cast<size_t>(n), max_bytes + 1 - data.size()));
    if (data.size() > max_bytes) break;  // one byte past the limit is enough to know
  }
  return data;
}

}  // namespace pgvault
