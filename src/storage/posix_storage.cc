#include "storage/posix_storage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/test_pause.h"
#include "core/posix_io.h"

namespace pgvault {

namespace fs = std::filesystem;

namespace {

// Temporary files carry this prefix; List() never returns them, so an object
// that was never committed is invisible even if a crash left its bytes behind.
constexpr std::string_view kTempPrefix = ".tmp-";

class PosixObjectWriter : public ObjectWriter {
 public:
  PosixObjectWriter(PosixStorage& storage, std::string final_path) : final_path_(std::move(final_path)) {
    fs::path p(final_path_);
    dir_ = p.parent_path().string();
    storage.EnsureDirectory(dir_);
    std::random_device rd;
    temp_path_ = fmt::format("{}/{}{}-{:08x}{:08x}", dir_, kTempPrefix, p.filename().string(), rd(), rd());
    // gc and WAL expiry remove empty directories (RemoveEmptyDirectories), so
    // one this process made or saw earlier may be gone; once the temporary
    // file exists the directory is not empty and stays.
    for (int attempt = 1;; ++attempt) {
      try {
        fd_ = OpenOrThrow(temp_path_, O_WRONLY | O_CREAT | O_EXCL, storage.file_mode());
        break;
      } catch (const NotFoundError&) {
        if (attempt == 3) throw;
        storage.EnsureDirectoryAgain(dir_);
      }
    }
    // open() took the mode minus the umask; the file gets exactly its mode.
    if (::fchmod(fd_.get(), storage.file_mode()) != 0)
      throw Error(fmt::format("cannot set the mode of {} to {:04o}: {}", temp_path_, storage.file_mode(),
                              ErrnoText(errno)));
  }
  ~PosixObjectWriter() override {
    if (!committed_) {
      fd_.Reset();
      ::unlink(temp_path_.c_str());
    }
  }
  void Append(std::string_view data) override {
    WriteFull(fd_.get(), data.data(), data.size(), temp_path_);
    written_ += data.size();
  }
  void Commit() override {
    TestStorageDelay();
    FsyncOrThrow(fd_.get(), temp_path_);
    fd_.Reset();
    if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
      throw Error(fmt::format("cannot rename {} to {}: {}", temp_path_, final_path_, ErrnoText(errno)));
    committed_ = true;
    FsyncDirectory(dir_);
  }
  bool CommitIfAbsent() override {
    TestStorageDelay();
    FsyncOrThrow(fd_.get(), temp_path_);
    fd_.Reset();
    // link() fails with EEXIST instead of replacing, unlike rename().
    if (::link(temp_path_.c_str(), final_path_.c_str()) != 0) {
      int err = errno;
      ::unlink(temp_path_.c_str());
      committed_ = true;  // nothing left to clean up
      if (err == EEXIST) return false;
      throw Error(fmt::format("cannot link {} to {}: {}", temp_path_, final_path_, ErrnoText(err)));
    }
    committed_ = true;
    ::unlink(temp_path_.c_str());
    FsyncDirectory(dir_);
    return true;
  }
  uint64_t BytesWritten() const override { return written_; }

 private:
  std::string final_path_, temp_path_, dir_;
  UniqueFd fd_;
  uint64_t written_ = 0;
  bool committed_ = false;
};

class PosixLock : public StorageLock {
 public:
  explicit PosixLock(UniqueFd fd) : fd_(std::move(fd)) {}
  ~PosixLock() override {
    // Clear the holder note before releasing, so a later reader of a free lock
    // does not see a stale holder.
    if (::ftruncate(fd_.get(), 0) != 0) { /* best effort */ }
    ::flock(fd_.get(), LOCK_UN);
  }

 private:
  UniqueFd fd_;
};

}  // namespace

PosixStorage::PosixStorage(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string PosixStorage::FullPath(const std::string& path) const { return root_ + "/" + path; }

void PosixStorage::EnsureDirectory(const std::string& dir) {
  std::lock_guard lock(directories_mutex_);
  if (durable_directories_.count(dir)) return;
  // The levels to handle, deepest first: every level inside the root, then the
  // root and its ancestors only while they are missing (an existing root's
  // own entry belongs to whoever made it).
  std::vector<fs::path> levels;
  for (fs::path level(dir); !level.empty() && !durable_directories_.count(level.string());
       level = level.parent_path()) {
    fs::path relative = level.lexically_relative(root_);
    bool inside = !relative.empty() && relative != "." && *relative.begin() != "..";
    struct stat st;
    if (!inside && ::stat(level.c_str(), &st) == 0) break;
    levels.push_back(level);
    if (!level.has_relative_path()) break;  // "/"
  }
  for (auto level = levels.rbegin(); level != levels.rend(); ++level) {
    // Created now, or found existing (made by an earlier, maybe killed,
    // process): either way the parent is fsynced once, so the entry is on disk
    // before any object inside it is reported committed.
    if (::mkdir(level->c_str(), directory_mode_) == 0) {
      // mkdir() took the mode minus the umask; the directory gets exactly its
      // mode. One that existed keeps its own: it may not be ours to change.
      if (::chmod(level->c_str(), directory_mode_) != 0)
        throw Error(fmt::format("cannot set the mode of directory {} to {:04o}: {}", level->string(),
                                directory_mode_, ErrnoText(errno)));
    } else if (errno != EEXIST) {
      throw Error(fmt::format("cannot create directory {}: {}", level->string(), ErrnoText(errno)));
    }
    FsyncDirectory(level->has_parent_path() ? level->parent_path().string() : ".");
    durable_directories_.insert(level->string());
  }
  durable_directories_.insert(dir);  // also when it is the existing root
}

void PosixStorage::EnsureDirectoryAgain(const std::string& dir) {
  {
    std::lock_guard lock(directories_mutex_);
    durable_directories_.erase(dir);
  }
  EnsureDirectory(dir);
}

bool PosixStorage::Exists(const std::string& path) {
  struct stat st;
  return ::stat(FullPath(path).c_str(), &st) == 0;
}

std::string PosixStorage::Read(const std::string& path) { return ReadWholeFile(FullPath(path)); }

std::shared_ptr<UniqueFd> PosixStorage::ReadDescriptor(const std::string& full_path) {
  {
    std::lock_guard lock(fd_cache_mutex_);
    auto it = fd_cache_.find(full_path);
    if (it != fd_cache_.end()) return it->second;
  }
  auto fd = std::make_shared<UniqueFd>(OpenOrThrow(full_path, O_RDONLY));
  std::lock_guard lock(fd_cache_mutex_);
  if (fd_cache_.size() >= 256) fd_cache_.clear();  // bound open descriptors
  fd_cache_.emplace(full_path, fd);
  return fd;
}

std::string PosixStorage::ReadRange(const std::string& path, uint64_t offset, uint64_t length) {
  std::string full = FullPath(path);
  auto fd = ReadDescriptor(full);
  std::string out(length, '\0');
  size_t n = PreadFull(fd->get(), out.data(), length, offset, full);
  if (n != length)
    throw IntegrityError(fmt::format("{} is truncated: wanted {} bytes at offset {}, found {}", full, length, offset, n));
  return out;
}

uint64_t PosixStorage::Size(const std::string& path) {
  struct stat st;
  std::string full = FullPath(path);
  if (::stat(full.c_str(), &st) != 0) {
    if (errno == ENOENT) throw NotFoundError(fmt::format("{}: no such file", full));
    throw Error(fmt::format("cannot stat {}: {}", full, ErrnoText(errno)));
  }
  return static_cast<uint64_t>(st.st_size);
}

std::unique_ptr<ObjectWriter> PosixStorage::Create(const std::string& path) {
  return std::make_unique<PosixObjectWriter>(*this, FullPath(path));
}

std::vector<ObjectInfo> PosixStorage::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string base = prefix.empty() ? root_ : FullPath(prefix);
  // Walked one directory at a time rather than with recursive_directory_iterator:
  // readers take no lock, so gc, delete-backup or WAL expiry may remove files
  // and directories during the walk. What vanished is skipped, as in a listing
  // taken a moment later; any other error is reported.
  auto vanished = [](const std::error_code& ec) { return ec == std::errc::no_such_file_or_directory; };
  std::vector<fs::path> pending{base};
  while (!pending.empty()) {
    fs::path dir = std::move(pending.back());
    pending.pop_back();
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const fs::directory_entry& entry = *it;
      std::string name = entry.path().filename().string();
      std::error_code entry_ec;
      // Not into symbolic links to directories (as before), but links to files count.
      if (entry.is_directory(entry_ec) && !entry.is_symlink(entry_ec)) {
        pending.push_back(entry.path());
        continue;
      }
      if (!entry.is_regular_file(entry_ec) || name.starts_with(kTempPrefix)) continue;
      uint64_t size = entry.file_size(entry_ec);
      if (entry_ec) {
        if (vanished(entry_ec)) continue;
        throw Error(fmt::format("cannot stat {}: {}", entry.path().string(), entry_ec.message()));
      }
      out.push_back({fs::relative(entry.path(), root_).generic_string(), size});
    }
    if (ec && !vanished(ec)) throw Error(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  }
  return out;
}

void PosixStorage::Remove(const std::string& path) { RemoveObjects({path}); }

void PosixStorage::RemoveObjects(const std::vector<std::string>& paths) {
  std::set<std::string> directories;
  for (const auto& path : paths) {
    std::string full = FullPath(path);
    TestRemoveDelay();
    {
      std::lock_guard lock(fd_cache_mutex_);
      fd_cache_.erase(full);
    }
    if (::unlink(full.c_str()) != 0 && errno != ENOENT)
      throw Error(fmt::format("cannot remove {}: {}", full, ErrnoText(errno)));
    // Also when it was already gone: a killed process may have unlinked it
    // without making that durable.
    directories.insert(fs::path(full).parent_path().string());
  }
  // Once per directory: an unlink is durable when its directory is fsynced.
  for (const auto& dir : directories) {
    try {
      FsyncDirectory(dir);
    } catch (const NotFoundError&) {
      // Removed as a whole meanwhile: nothing of it is left to make durable.
    }
  }
}

void PosixStorage::RemoveEmptyDirectories(const std::string& prefix) {
  std::string base = FullPath(prefix);
  std::error_code ec;
  std::vector<fs::path> directories;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code entry_ec;
    if (it->is_directory(entry_ec) && !it->is_symlink(entry_ec)) directories.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw Error(fmt::format("cannot list {}: {}", base, ec.message()));
  // Deepest first, so that a directory whose subdirectories were all empty
  // goes too. rmdir() refuses a directory that is not empty, which is what
  // keeps a directory a writer has just put a file into.
  std::sort(directories.begin(), directories.end(),
            [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
  for (const auto& dir : directories) {
    if (::rmdir(dir.c_str()) != 0) {
      if (errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT) continue;
      throw Error(fmt::format("cannot remove directory {}: {}", dir.string(), ErrnoText(errno)));
    }
    {
      std::lock_guard lock(directories_mutex_);
      durable_directories_.erase(dir.string());
    }
    FsyncDirectory(dir.parent_path().string());
  }
}

size_t PosixStorage::RemoveUncommitted(const std::string& prefix) {
  std::string base = FullPath(prefix);
  std::error_code ec;
  if (!fs::exists(base, ec)) return 0;
  std::vector<fs::path> leftovers;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename().string().starts_with(kTempPrefix))
      leftovers.push_back(it->path());
  }
  if (ec) throw Error(fmt::format("cannot list {}: {}", base, ec.message()));
  for (const auto& path : leftovers)
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw Error(fmt::format("cannot remove {}: {}", path.string(), ErrnoText(errno)));
  return leftovers.size();
}

size_t PosixStorage::RemoveAbandoned(const std::string& prefix, std::chrono::seconds min_age) {
  std::string base = FullPath(prefix);
  // Writers work here meanwhile: their temporary files appear and are renamed
  // or linked away under the walk, and empty directories go. What vanished
  // is skipped.
  auto vanished = [](const std::error_code& ec) { return ec == std::errc::no_such_file_or_directory; };
  auto now = std::chrono::system_clock::now();
  size_t removed = 0;
  std::vector<fs::path> pending{base};
  while (!pending.empty()) {
    fs::path dir = std::move(pending.back());
    pending.pop_back();
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::error_code entry_ec;
      if (it->is_directory(entry_ec) && !it->is_symlink(entry_ec)) {
        pending.push_back(it->path());
        continue;
      }
      if (!it->path().filename().string().starts_with(kTempPrefix)) continue;
      struct stat st;
      if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      // The last write: a writer appends, then fsyncs and renames or links.
      auto modified = std::chrono::system_clock::from_time_t(st.st_mtime);
      if (now - modified < min_age) continue;
      if (::unlink(it->path().c_str()) != 0) {
        if (errno == ENOENT) continue;
        throw Error(fmt::format("cannot remove {}: {}", it->path().string(), ErrnoText(errno)));
      }
      ++removed;
    }
    if (ec && !vanished(ec)) throw Error(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  }
  return removed;
}

std::unique_ptr<StorageLock> PosixStorage::Lock(const std::string& name, const std::string& holder_info) {
  // flock: the kernel drops the lock when the process dies, even by kill -9, so
  // a crashed backup never leaves the repository locked.
  std::string path = FullPath(name);
  UniqueFd fd = OpenOrThrow(path, O_RDWR | O_CREAT, file_mode_);
  // Made now (the umask narrowed its mode) or by an earlier pgvault (0640):
  // the repository's mode, when the lock file is ours to change.
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & 07777) != file_mode_ &&
      ::fchmod(fd.get(), file_mode_) != 0)
    throw Error(fmt::format("cannot set the mode of {} to {:04o}: {}", path, file_mode_, ErrnoText(errno)));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      std::string holder;
      try {
        holder = ReadWholeFile(path);
      } catch (const Error&) {
      }
      while (!holder.empty() && holder.back() == '\n') holder.pop_back();
      throw LockHeldError(fmt::format("repository {} is locked by another pgvault process ({}); wait for it to finish",
                                      root_, holder.empty() ? "holder unknown" : holder),
                          holder);
    }
    throw Error(fmt::format("cannot lock {}: {}", path, ErrnoText(errno)));
  }
  if (::ftruncate(fd.get(), 0) == 0) {
    std::string note = holder_info + "\n";
    PwriteFull(fd.get(), note.data(), note.size(), 0, path);
  }
  return std::make_unique<PosixLock>(std::move(fd));
}

void PosixStorage::SetGroupAccess(bool group_access) {
  directory_mode_ = group_access ? 0750 : 0700;
  file_mode_ = group_access ? 0640 : 0600;
}

void PosixStorage::RestrictRoot() {
  struct stat st;
  if (::stat(root_.c_str(), &st) != 0) {
    if (errno == ENOENT) return;  // EnsureDirectory() makes it with the mode
    throw Error(fmt::format("cannot stat {}: {}", root_, ErrnoText(errno)));
  }
  if (!S_ISDIR(st.st_mode)) throw Error(fmt::format("{} is not a directory", root_));
  if ((st.st_mode & 07777) == directory_mode_) return;
  if (::chmod(root_.c_str(), directory_mode_) != 0)
    throw Error(fmt::format("cannot set the mode of the repository directory {} to {:04o} (it is {:04o}): {}; give "
                            "a directory owned by the user that runs pgvault, or one that does not exist yet",
                            root_, directory_mode_, st.st_mode & 07777, ErrnoText(errno)));
}

}  // namespace pgvault
