#include "snapshot/tree_clone.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "core/unique_fd.h"

namespace pgvault {
namespace {

struct CloneState {
  TreeCloneOptions options;
  bool copied = false;
};

void CopyAttributes(const std::string& path, const struct stat& st, bool symlink) {
  if (::lchown(path.c_str(), st.st_uid, st.st_gid) != 0 && errno != EPERM)
    throw Error(fmt::format("cannot set the owner of {}: {}", path, ErrnoText(errno)));
  if (!symlink && ::chmod(path.c_str(), st.st_mode & 07777) != 0)
    throw Error(fmt::format("cannot set the mode of {}: {}", path, ErrnoText(errno)));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

// False when the source vanished (only tolerated for a source in use).
bool CloneFile(const std::string& from, const std::string& to, const struct stat& st, CloneState& state) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.valid()) {
    if (errno == ENOENT && state.options.source_in_use) return false;
    throw Error(fmt::format("cannot open {}: {}", from, ErrnoText(errno)));
  }
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) throw Error(fmt::format("cannot create {}: {}", to, ErrnoText(errno)));
  if (::ioctl(out.get(), FICLONE, in.get()) != 0) {
    int err = errno;
    bool unsupported = err == EOPNOTSUPP || err == EXDEV || err == EINVAL || err == ENOTTY;
    if (!unsupported || !state.options.allow_copy)
      throw Error(fmt::format("cannot clone {} to {} (FICLONE): {}{}", from, to, ErrnoText(err),
                              unsupported ? ": both must be on one XFS (reflink=1) or btrfs filesystem" : ""));
    state.copied = true;
    struct stat now;
    if (::fstat(in.get(), &now) != 0) throw Error(fmt::format("cannot stat {}: {}", from, ErrnoText(errno)));
    off_t remaining = now.st_size;
    bool plain_copy = false;
    std::vector<char> buffer;
    while (remaining > 0) {
      ssize_t n;
      if (!plain_copy) {
        n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(remaining), 0);
        if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
          plain_copy = true;  // across filesystems on this kernel: read and write
          buffer.resize(1 << 20);
          continue;
        }
      } else {
        n = ::read(in.get(), buffer.data(), buffer.size());
        if (n > 0) WriteFull(out.get(), buffer.data(), static_cast<size_t>(n), to);
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(fmt::format("cannot copy {} to {}: {}", from, to, ErrnoText(errno)));
      if (n == 0) break;  // the file shrank meanwhile
      remaining -= n;
    }
    FsyncOrThrow(out.get(), to);
  }
  out.Reset();
  CopyAttributes(to, st, false);
  return true;
}

void CloneDirectory(const std::string& from, const std::string& to, CloneState& state, bool top) {
  DIR* dir = ::opendir(from.c_str());
  if (!dir) {
    if (errno == ENOENT && state.options.source_in_use && !top) return;
    throw Error(fmt::format("cannot read directory {}: {}", from, ErrnoText(errno)));
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(dir);
  bool pg_control_last = false;
  for (const auto& n : names) {
    std::string src = from + "/" + n, dst = to + "/" + n;
    if (state.options.source_in_use && top && n == "global") pg_control_last = true;
    struct stat st;
    if (::lstat(src.c_str(), &st) != 0) {
      if (errno == ENOENT && state.options.source_in_use) continue;
      throw Error(fmt::format("cannot stat {}: {}", src, ErrnoText(errno)));
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(dst.c_str(), 0700) != 0) throw Error(fmt::format("cannot create {}: {}", dst, ErrnoText(errno)));
      if (pg_control_last && n == "global") {
        // Everything in global/ but pg_control now; pg_control at the very end.
        DIR* g = ::opendir(src.c_str());
        if (!g) throw Error(fmt::format("cannot read directory {}: {}", src, ErrnoText(errno)));
        std::vector<std::string> files;
        while (struct dirent* e = ::readdir(g)) {
          std::string f = e->d_name;
          if (f != "." && f != ".." && f != "pg_control") files.push_back(f);
        }
        ::closedir(g);
        for (const auto& f : files) {
          struct stat fst;
          if (::lstat((src + "/" + f).c_str(), &fst) != 0) continue;
          if (S_ISREG(fst.st_mode)) CloneFile(src + "/" + f, dst + "/" + f, fst, state);
        }
      } else {
        CloneDirectory(src, dst, state, false);
      }
      CopyAttributes(dst, st, false);
    } else if (S_ISREG(st.st_mode)) {
      CloneFile(src, dst, st, state);
    } else if (S_ISLNK(st.st_mode)) {
      std::vector<char> buf(static_cast<size_t>(st.st_size) + 256);
      ssize_t len = ::readlink(src.c_str(), buf.data(), buf.size() - 1);
      if (len < 0) throw Error(fmt::format("cannot read link {}: {}", src, ErrnoText(errno)));
      std::string link_target(buf.data(), static_cast<size_t>(len));
      if (::symlink(link_target.c_str(), dst.c_str()) != 0)
        throw Error(fmt::format("cannot create link {}: {}", dst, ErrnoText(errno)));
      CopyAttributes(dst, st, true);
    }
    // Sockets, FIFOs and devices have no place in a PostgreSQL volume: skipped.
  }
  if (pg_control_last) {
    std::string src = from + "/global/pg_control", dst = to + "/global/pg_control";
    struct stat st;
    if (::lstat(src.c_str(), &st) == 0) CloneFile(src, dst, st, state);
    struct stat gst;
    if (::lstat((from + "/global").c_str(), &gst) == 0) CopyAttributes(to + "/global", gst, false);
  }
}

}  // namespace

std::string CloneTree(const std::string& source, const std::string& target, const TreeCloneOptions& options) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(fmt::format("cannot clone {}: not a directory", source));
  if (::mkdir(target.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(fmt::format("cannot create {}: {}", target, ErrnoText(errno)));
  CloneState state{options};
  CloneDirectory(source, target, state, true);
  CopyAttributes(target, st, false);
  // Durability of the new names: the files were fsynced (copies) or share
  // extents already on disk (clones); sync the whole filesystem once.
  UniqueFd fd(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) ::syncfs(fd.get());
  return state.copied ? "copy" : "reflink";
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) throw Error(fmt::format("cannot remove {}: {}", path, ec.message()));
}

}  // namespace pgvault
