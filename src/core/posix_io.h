// Thin, error-checked wrappers over POSIX file calls. They throw pgvault::Error
// with the path and errno text so that callers never lose context.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/unique_fd.h"

namespace pgvault {

UniqueFd OpenOrThrow(const std::string& path, int flags, mode_t mode = 0600);
// Reads up to `length` bytes at `offset`; returns fewer only at end of file.
size_t PreadFull(int fd, void* buffer, size_t length, uint64_t offset, const std::string& path);
void PwriteFull(int fd, const void* buffer, size_t length, uint64_t offset, const std::string& path);
void WriteFull(int fd, const void* buffer, size_t length, const std::string& path);
void FsyncOrThrow(int fd, const std::string& path);
// fsync of a directory, so that a rename or create inside it is durable.
void FsyncDirectory(const std::string& path);
std::string ReadWholeFile(const std::string& path);
// Writes `data` to `path` through a temporary file, fsync, rename and fsync of
// the directory: readers see either the old file or the complete new one.
// With `durable` false, the fsyncs are skipped: still atomic, not crash-safe.
void WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode = 0600, bool durable = true);
std::string ErrnoText(int err);
// Creates `path` and its missing parents with mode 0700 whatever the umask
// (directories that exist keep theirs): for spools that hold WAL and the
// messages about it. Throws Error naming the level that failed.
void CreatePrivateDirectories(const std::string& path);

}  // namespace pgvault
