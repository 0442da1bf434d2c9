// A directory under which paths are opened without ever following a
// symbolic link and without leaving it. Restore runs as root and writes what
// a repository says: a link in the target (left there by anyone, or created
// from the backup itself) must never redirect a write, a chmod or a chown to
// a place outside.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "core/unique_fd.h"

namespace pgvault {

class RootedDirectory {
 public:
  // Opens the directory `path`; links in `path` itself are followed (the
  // caller chose it). Throws Error if it cannot be opened.
  explicit RootedDirectory(const std::string& path);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

  // Opens `rel` ("." for the directory itself) beneath the directory, with
  // `flags` (O_NOFOLLOW and O_CLOEXEC are added). No component may be a link:
  // openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it,
  // else a walk of O_NOFOLLOW opens, one component at a time. Throws Error
  // naming the path; a link in the way says so.
  UniqueFd Open(const std::string& rel, int flags, mode_t mode = 0) const;
  // The same, returning an invalid fd with errno set instead of throwing.
  UniqueFd TryOpen(const std::string& rel, int flags, mode_t mode = 0) const;

  // The directory that holds `rel`, opened beneath as above, and the last
  // component of `rel`: for the *at() calls on the entry itself.
  std::pair<UniqueFd, std::string> OpenParent(const std::string& rel) const;
  // Like OpenParent, but an invalid fd (errno set) instead of throwing.
  std::pair<UniqueFd, std::string> TryOpenParent(const std::string& rel) const;

  // mkdir -p beneath the directory: missing components are created with
  // `mode`; an existing component that is a link or not a directory is an
  // error.
  void MakeDirectories(const std::string& rel, mode_t mode) const;

  // "<path>/<rel>", for messages.
  std::string Describe(const std::string& rel) const;

  // Tests: use the O_NOFOLLOW walk even where the kernel has openat2, as on
  // kernels before 5.6.
  static void UseWalkOnlyForTesting(bool walk_only);

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace pgvault
