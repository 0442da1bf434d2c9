#include "core/rooted_directory.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"

namespace pgvault {

namespace {

// Kernels before 5.6 (and some seccomp filters) have no openat2; it is asked
// once and the walk used from then on.
std::atomic<bool> g_openat2_missing{false};

int OpenAt2(int dirfd, const char* path, int flags, mode_t mode) {
#ifdef SYS_openat2
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
#else
  (void)dirfd, (void)path, (void)flags, (void)mode;
  errno = ENOSYS;
  return -1;
#endif
}

// The walk: every component but the last opened O_PATH | O_DIRECTORY |
// O_NOFOLLOW from its parent's descriptor, so a link anywhere fails (ENOTDIR
// or ELOOP) instead of being followed. `rel` holds no "..", absolute or empty
// component (restore checks the file list before), but they are refused here
// too: this class is the last line.
int OpenByWalk(int root, const std::string& rel, int flags, mode_t mode) {
  if (rel == ".") return ::openat(root, ".", flags, mode);
  if (rel.empty() || rel.front() == '/') {
    errno = EXDEV;
    return -1;
  }
  UniqueFd current;
  int dir = root;
  size_t start = 0;
  while (true) {
    size_t slash = rel.find('/', start);
    std::string part = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") {
      errno = EXDEV;
      return -1;
    }
    if (slash == std::string::npos) return ::openat(dir, part.c_str(), flags, mode);
    UniqueFd next(::openat(dir, part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return -1;
    current = std::move(next);
    dir = current.get();
    start = slash + 1;
  }
}

std::string Why(int err) {
  if (err == ELOOP || err == ENOTDIR || err == EXDEV)
    return fmt::format("{} (a symbolic link or a non-directory is in the way: restore never writes through links)",
                       ErrnoText(err));
  return ErrnoText(err);
}

}  // namespace

RootedDirectory::RootedDirectory(const std::string& path)
    : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (!fd_.valid()) throw Error(fmt::format("cannot open directory {}: {}", path, ErrnoText(errno)));
}

void RootedDirectory::UseWalkOnlyForTesting(bool walk_only) { g_openat2_missing = walk_only; }

std::string RootedDirectory::Describe(const std::string& rel) const {
  return rel == "." ? path_ : path_ + "/" + rel;
}

UniqueFd RootedDirectory::TryOpen(const std::string& rel, int flags, mode_t mode) const {
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (!g_openat2_missing.load(std::memory_order_relaxed)) {
    int fd = OpenAt2(fd_.get(), rel.c_str(), flags, mode);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != E2BIG)) return UniqueFd(fd);
    g_openat2_missing = true;
  }
  return UniqueFd(OpenByWalk(fd_.get(), rel, flags, mode));
}

UniqueFd RootedDirectory::Open(const std::string& rel, int flags, mode_t mode) const {
  UniqueFd fd = TryOpen(rel, flags, mode);
  if (!fd.valid()) throw Error(fmt::format("cannot open {}: {}", Describe(rel), Why(errno)));
  return fd;
}

std::pair<UniqueFd, std::string> RootedDirectory::TryOpenParent(const std::string& rel) const {
  size_t slash = rel.rfind('/');
  std::string dir = slash == std::string::npos ? "." : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    errno = EXDEV;
    return {UniqueFd(), name};
  }
  return {TryOpen(dir, O_PATH | O_DIRECTORY), name};
}

std::pair<UniqueFd, std::string> RootedDirectory::OpenParent(const std::string& rel) const {
  auto result = TryOpenParent(rel);
  if (!result.first.valid()) throw Error(fmt::format("cannot open the directory of {}: {}", Describe(rel), Why(errno)));
  return result;
}

void RootedDirectory::MakeDirectories(const std::string& rel, mode_t mode) const {
  if (rel == ".") return;
  size_t start = 0;
  while (true) {
    size_t slash = rel.find('/', start);
    std::string prefix = rel.substr(0, slash);
    auto [parent, name] = OpenParent(prefix);
    if (::mkdirat(parent.get(), name.c_str(), mode) != 0 && errno != EEXIST)
      throw Error(fmt::format("cannot create {}: {}", Describe(prefix), Why(errno)));
    struct stat st;
    if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      throw Error(fmt::format("cannot stat {}: {}", Describe(prefix), Why(errno)));
    if (!S_ISDIR(st.st_mode))
      throw Error(fmt::format("cannot create {}: {} is in the way (restore never writes through links)",
                              Describe(rel), S_ISLNK(st.st_mode) ? "a symbolic link" : "a non-directory"));
    if (slash == std::string::npos) return;
    start = slash + 1;
  }
}

}  // namespace pgvault
