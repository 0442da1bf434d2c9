#include "core/posix_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

std::string ErrnoText(int err) { return std::strerror(err); }

UniqueFd OpenOrThrow(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) throw NotFoundError(fmt::format("{}: no such file or directory", path));
    throw Error(fmt::format("cannot open {}: {}", path, ErrnoText(err)));
  }
  return UniqueFd(fd);
}

size_t PreadFull(int fd, void* buffer, size_t length, uint64_t offset, const std::string& path) {
  size_t done = 0;
  auto* out = static_cast<char*>(buffer);
  while (done < length) {
    ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("cannot read {} at offset {}: {}", path, offset + done, ErrnoText(errno)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void PwriteFull(int fd, const void* buffer, size_t length, uint64_t offset, const std::string& path) {
  size_t done = 0;
  const auto* in = static_cast<const char*>(buffer);
  while (done < length) {
    ssize_t n = ::pwrite(fd, in + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("cannot write {} at offset {}: {}", path, offset + done, ErrnoText(errno)));
    }
    done += static_cast<size_t>(n);
  }
}

void WriteFull(int fd, const void* buffer, size_t length, const std::string& path) {
  size_t done = 0;
  const auto* in = static_cast<const char*>(buffer);
  while (done < length) {
    ssize_t n = ::write(fd, in + done, length - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("cannot write {}: {}", path, ErrnoText(errno)));
    }
    done += static_cast<size_t>(n);
  }
}

void FsyncOrThrow(int fd, const std::string& path) {
  if (::fsync(fd) != 0) throw Error(fmt::format("cannot fsync {}: {}", path, ErrnoText(errno)));
}

void FsyncDirectory(const std::string& path) {
  UniqueFd fd = OpenOrThrow(path, O_RDONLY | O_DIRECTORY);
  FsyncOrThrow(fd.get(), path);
}

std::string ReadWholeFile(const std::string& path) {
  UniqueFd fd = OpenOrThrow(path, O_RDONLY);
  // Sized once from fstat: growing the string while reading would copy a
  // large file several times over. Reading on past the size catches a file
  // that grew meanwhile (and files such as /proc entries that report 0).
  struct stat st;
  std::string data;
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    data.resize(static_cast<size_t>(st.st_size));
  size_t have = 0;
  char beyond[65536];
  for (;;) {
    bool in_place = have < data.size();
    ssize_t n = in_place ? ::read(fd.get(), data.data() + have, data.size() - have)
                         : ::read(fd.get(), beyond, sizeof beyond);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("cannot read {}: {}", path, ErrnoText(errno)));
    }
    if (n == 0) break;
    if (!in_place) data.append(beyond, static_cast<size_t>(n));
    have += static_cast<size_t>(n);
  }
  data.resize(have);
  return data;
}

void WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode, bool durable) {
  std::filesystem::path target(path);
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  std::string temp = fmt::format("{}/.tmp-{}-{}", dir, target.filename().string(), std::random_device{}());
  {
    UniqueFd fd = OpenOrThrow(temp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, mode);
    try {
      WriteFull(fd.get(), data.data(), data.size(), temp);
      if (durable) FsyncOrThrow(fd.get(), temp);
    } catch (...) {
      ::unlink(temp.c_str());
      throw;
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw Error(fmt::format("cannot rename {} to {}: {}", temp, path, ErrnoText(err)));
  }
  if (durable) FsyncDirectory(dir);
}

void CreatePrivateDirectories(const std::string& path) {
  std::filesystem::path full(path);
  std::filesystem::path level;
  for (const auto& part : full) {
    level /= part;
    if (::mkdir(level.c_str(), 0700) == 0) {
      // mkdir() took 0700 minus the umask, which may have removed bits the
      // owner needs; only the directories made here are set.
      if (::chmod(level.c_str(), 0700) != 0)
        throw Error(fmt::format("cannot set the mode of {} to 0700: {}", level.string(), ErrnoText(errno)));
    } else if (errno != EEXIST) {
      throw Error(fmt::format("cannot create the directory {}: {}", level.string(), ErrnoText(errno)));
    }
  }
}

}  // namespace pgvault
