#include "command/restore_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/os_user.h"
#include "core/parallel.h"
#include "core/posix_io.h"
#include "core/test_pause.h"
#include "repo/chunk_index.h"
#include "repo/chunk_reader.h"
#include "repo/repository.h"
#include "terminal/progress.h"

namespace pgvault {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kChunksPerWorkItem = 64;
constexpr const char* kControlFile = "global/pg_control";

bool DirectoryIsEmpty(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("restore target {} exists and is not a directory", dir));
  return fs::directory_iterator(dir, ec) == fs::directory_iterator();
}

void RefuseRunningServer(const std::string& dir) {
  std::string pidfile = dir + "/postmaster.pid";
  std::string text;
  try {
    text = ReadWholeFile(pidfile);
  } catch (const Error&) {
    return;
  }
  pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
  if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM))
    throw Error(fmt::format("a PostgreSQL server (pid {}) is running in {}: stop it before restoring over it", pid,
                            dir));
}

// Finds which files of a backup use a damaged chunk, for messages that say
// what is lost rather than only which bytes.
std::string DescribeDamage(const std::string& backup_id, const std::string& path, const std::string& what) {
  return fmt::format("backup {} is damaged: file {}: {}", backup_id, path, what);
}

class RestoreRun {
 public:
  explicit RestoreRun(const RestoreOptions& options) : options_(options) {}
  RestoreResult Run();

 private:
  std::string Destination(const std::string& rel) const;
  // Writes chunks [first_chunk, first_chunk+count) of `file`. A file handled
  // by one item (`whole`) is created, sized and finished here, with a single
  // open; larger files are created before and finished after the workers.
  void RestoreRange(const FileEntry& file, uint64_t first_chunk, uint64_t count, bool existed, bool whole,
                    std::string& buffer, std::string& existing, ChunkReader& reader);
  void ApplyOwnership(const std::string& path, const FileEntry& e, bool is_link);
  void FinishFile(int fd, const std::string& path, const FileEntry& e);

  const RestoreOptions& options_;
  std::unique_ptr<Repository> repo_;
  BackupManifest manifest_;
  std::string target_;
  std::map<std::string, std::string> tablespace_dest_;  // "pg_tblspc/<oid>" -> directory
  std::unique_ptr<ChunkIndex> index_;
  std::unique_ptr<ProgressReporter> progress_;
  std::mutex result_mutex_;
  RestoreResult result_;
  std::set<std::string> changed_;
  bool as_root_ = ::geteuid() == 0;
};

std::string RestoreRun::Destination(const std::string& rel) const {
  if (rel == ".") return target_;
  if (rel.starts_with("pg_tblspc/")) {
    size_t slash = rel.find('/', 10);
    if (slash != std::string::npos) {
      auto it = tablespace_dest_.find(rel.substr(0, slash));
      if (it != tablespace_dest_.end()) return it->second + rel.substr(slash);
    }
  }
  return target_ + "/" + rel;
}

void RestoreRun::FinishFile(int fd, const std::string& path, const FileEntry& e) {
  if (::fchmod(fd, e.mode) != 0) throw Error(fmt::format("cannot chmod {}: {}", path, ErrnoText(errno)));
  if (as_root_) {
    uid_t uid = UserId(e.user).value_or(e.uid);
    gid_t gid = GroupId(e.group).value_or(e.gid);
    if (::fchown(fd, uid, gid) != 0) throw Error(fmt::format("cannot set owner of {}: {}", path, ErrnoText(errno)));
  }
  struct timespec times[2] = {{e.mtime, 0}, {e.mtime, 0}};
  ::futimens(fd, times);
}

void RestoreRun::RestoreRange(const FileEntry& file, uint64_t first_chunk, uint64_t count, bool existed, bool whole,
                              std::string& buffer, std::string& existing, ChunkReader& reader) {
  std::string path = Destination(file.path);
  UniqueFd fd = OpenOrThrow(path, whole ? O_RDWR | O_CREAT : O_RDWR, file.mode);
  if (whole && ::ftruncate(fd.get(), static_cast<off_t>(file.size)) != 0)
    throw Error(fmt::format("cannot size {}: {}", path, ErrnoText(errno)));
  uint32_t chunk_size = manifest_.chunk_size;
  bool wrote = false;
  uint64_t bytes = 0;
  for (uint64_t c = first_chunk; c < first_chunk + count; ++c) {
    uint64_t offset = c * chunk_size;
    uint64_t length = std::min<uint64_t>(chunk_size, file.size - offset);
    if (existed) {
      // --delta: a chunk whose bytes already hash to the stored id is kept.
      existing.resize(length);
      if (PreadFull(fd.get(), existing.data(), length, offset, path) == length && Sha256(existing) == file.chunks[c]) {
        progress_->Add(length);
        continue;
      }
    }
    try {
      reader.Read(file.chunks[c], buffer);
    } catch (const IntegrityError& e) {
      throw IntegrityError(DescribeDamage(manifest_.id, file.path, e.what()));
    }
    if (buffer.size() != length)
      throw IntegrityError(DescribeDamage(manifest_.id, file.path, "chunk size does not match the file list"));
    PwriteFull(fd.get(), buffer.data(), buffer.size(), offset, path);
    wrote = true;
    bytes += length;
    progress_->Add(length);
  }
  if (whole) FinishFile(fd.get(), path, file);
  std::lock_guard lock(result_mutex_);
  result_.bytes_written += bytes;
  if (wrote) changed_.insert(file.path);
}

void RestoreRun::ApplyOwnership(const std::string& path, const FileEntry& e, bool is_link) {
  if (!as_root_) return;
  uid_t uid = UserId(e.user).value_or(e.uid);
  gid_t gid = GroupId(e.group).value_or(e.gid);
  if (::lchown(path.c_str(), uid, gid) != 0)
    throw Error(fmt::format("cannot set owner of {}: {}", path, ErrnoText(errno)));
}

RestoreResult RestoreRun::Run() {
  auto started = std::chrono::steady_clock::now();
  if (options_.target.empty()) throw Error("--target is required: the directory to restore into");
  if (options_.delta && options_.force) throw Error("--delta and --force exclude each other: choose one");
  repo_ = Repository::Open(OpenStorage(options_.repo));
  manifest_ = repo_->LoadBackup(options_.backup);
  result_.backup_id = manifest_.id;
  std::vector<FileEntry> files = repo_->LoadFileList(manifest_);
  target_ = fs::absolute(options_.target).lexically_normal().string();
  while (target_.size() > 1 && target_.back() == '/') target_.pop_back();

  // Tablespace destinations: --tablespace-map OID=DIR or NAME=DIR, else the
  // original location.
  std::map<std::string, std::string> requested;
  for (const auto& m : options_.tablespace_map) {
    auto eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
      throw Error(fmt::format("invalid --tablespace-map '{}': expected OID=DIR or NAME=DIR", m));
    requested[m.substr(0, eq)] = fs::absolute(m.substr(eq + 1)).lexically_normal().string();
  }
  std::set<std::string> used;
  for (const auto& t : manifest_.tablespaces) {
    std::string oid = std::to_string(t.oid);
    std::string dest = t.location;
    if (requested.count(oid)) dest = requested[oid], used.insert(oid);
    else if (requested.count(t.name)) dest = requested[t.name], used.insert(t.name);
    tablespace_dest_["pg_tblspc/" + oid] = dest;
  }
  for (const auto& [key, dir] : requested)
    if (!used.count(key)) throw Error(fmt::format("--tablespace-map {}: backup {} has no tablespace with that oid or name", key, manifest_.id));

  // Refuse before writing anything.
  std::vector<std::string> roots = {target_};
  for (const auto& [link, dir] : tablespace_dest_) roots.push_back(dir);
  bool fresh_target = true;
  for (const auto& root : roots) {
    RefuseRunningServer(root);
    if (!DirectoryIsEmpty(root)) fresh_target = false;
    if (!options_.delta && !options_.force && !DirectoryIsEmpty(root)) {
      throw Error(fmt::format("restore target {} is not empty: restore into an empty directory, or pass --delta to reuse "
                              "matching files or --force to overwrite it{}",
                              root, root == target_ ? "" : " (or move the tablespace with --tablespace-map OID=DIR)"));
    }
  }
  index_ = std::make_unique<ChunkIndex>(ChunkIndex::Load(repo_->storage(), false));
  for (const auto& f : files)
    for (const auto& c : f.chunks)
      if (!index_->Find(c))
        throw IntegrityError(DescribeDamage(manifest_.id, f.path,
                                            fmt::format("chunk {} is missing from the repository", DigestHex(c))));

  // Remove what the backup does not have (only with --delta/--force).
  std::set<std::string> wanted;
  for (const auto& f : files) wanted.insert(Destination(f.path));
  for (const auto& [link, dir] : tablespace_dest_) wanted.insert(dir);
  if (options_.delta || options_.force) {
    for (const auto& root : roots) {
      std::error_code ec;
      if (!fs::exists(root, ec)) continue;
      std::vector<fs::path> doomed;
      for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        std::string p = it->path().string();
        bool keep = wanted.count(p) > 0;
        if (it->is_symlink()) it.disable_recursion_pending();
        if (!keep) {
          doomed.push_back(it->path());
          it.disable_recursion_pending();
        } else if (it->is_symlink() || !it->is_directory()) {
          // a regular file or link that stays
        }
      }
      for (const auto& p : doomed) {
        fs::remove_all(p, ec);
        if (ec) throw Error(fmt::format("cannot remove {}: {}", p.string(), ec.message()));
        ++result_.files_removed;
      }
    }
  }

  // Directories (parents sort first), then links, then files.
  std::sort(files.begin(), files.end(), [](const FileEntry& a, const FileEntry& b) {
    if (a.path == ".") return b.path != ".";
    if (b.path == ".") return false;
    return a.path < b.path;
  });
  for (const auto& root : roots) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) throw Error(fmt::format("cannot create {}: {}", root, ec.message()));
  }
  for (const auto& f : files) {
    std::string path = Destination(f.path);
    if (f.type == FileType::kDirectory) {
      std::error_code ec;
      fs::create_directories(path, ec);
      if (ec) throw Error(fmt::format("cannot create {}: {}", path, ec.message()));
      if (::chmod(path.c_str(), f.mode) != 0) throw Error(fmt::format("cannot chmod {}: {}", path, ErrnoText(errno)));
      ApplyOwnership(path, f, false);
    } else if (f.type == FileType::kSymlink) {
      std::string link_target = f.link_target;
      auto ts = tablespace_dest_.find(f.path);
      if (ts != tablespace_dest_.end()) {
        link_target = ts->second;
        std::error_code ec;
        fs::create_directories(link_target, ec);
        if (::chmod(link_target.c_str(), 0700) != 0) { /* keep going: PostgreSQL reports it */ }
        ApplyOwnership(link_target, f, false);
      }
      struct stat st;
      if (::lstat(path.c_str(), &st) == 0) {
        char current[4096];
        ssize_t n = ::readlink(path.c_str(), current, sizeof current - 1);
        if (n >= 0 && std::string(current, n) == link_target) continue;
        ::unlink(path.c_str());
      }
      if (::symlink(link_target.c_str(), path.c_str()) != 0)
        throw Error(fmt::format("cannot create link {} -> {}: {}", path, link_target, ErrnoText(errno)));
      ApplyOwnership(path, f, true);
    }
  }

  // Files: create them at their final size, then fill chunk ranges in parallel.
  struct Item {
    size_t file;
    uint64_t first, count;
  };
  std::vector<Item> items;
  std::vector<bool> existed(files.size(), false);
  std::vector<size_t> split_files;  // more than one work item
  uint64_t total = 0;
  std::optional<size_t> control;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    if (f.type != FileType::kFile) continue;
    ++result_.files_total;
    std::string path = Destination(f.path);
    struct stat st;
    // In a target that was empty nothing can exist yet: skip the lstat.
    bool exists = !fresh_target && ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    existed[i] = exists && options_.delta;
    if (exists && !options_.delta) ::unlink(path.c_str());
    if (!existed[i] || static_cast<uint64_t>(st.st_size) != f.size) changed_.insert(f.path);
    if (f.path == kControlFile) {
      control = i;
      continue;
    }
    total += f.size;
    if (f.chunks.size() > kChunksPerWorkItem) {
      UniqueFd fd = OpenOrThrow(path, O_WRONLY | O_CREAT, f.mode);
      if (::ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0)
        throw Error(fmt::format("cannot size {}: {}", path, ErrnoText(errno)));
      split_files.push_back(i);
    }
    uint64_t c = 0;
    do {
      items.push_back({i, c, std::min<uint64_t>(kChunksPerWorkItem, f.chunks.size() - c)});
      c += kChunksPerWorkItem;
    } while (c < f.chunks.size());
  }
  if (!control) throw IntegrityError(fmt::format("backup {} has no global/pg_control", manifest_.id));
  // A restore that fails part-way leaves no pg_control (it is written last),
  // so the half-written directory cannot be started by mistake.
  if (!existed[*control] || options_.force) ::unlink(Destination(kControlFile).c_str());

  size_t jobs = options_.jobs ? options_.jobs : std::max(1u, std::thread::hardware_concurrency());
  struct WorkerState {
    std::unique_ptr<ChunkReader> reader;
    std::string buffer, existing;
  };
  std::vector<WorkerState> workers(jobs);
  for (auto& w : workers) w.reader = std::make_unique<ChunkReader>(repo_->storage(), *index_);
  progress_ = std::make_unique<ProgressReporter>("restore", total, options_.progress);
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.count > b.count; });
  ParallelFor(jobs, items.size(), [&](size_t w, size_t i) {
    const Item& item = items[i];
    bool whole = files[item.file].chunks.size() <= kChunksPerWorkItem;
    RestoreRange(files[item.file], item.first, item.count, existed[item.file], whole, workers[w].buffer,
                 workers[w].existing, *workers[w].reader);
    if (i == items.size() / 2) TestPausePoint("restore-copying");
  });
  progress_->Finish();

  // pg_control last, then backup_label and tablespace_map.
  {
    for (size_t i : split_files) {
      std::string path = Destination(files[i].path);
      UniqueFd fd = OpenOrThrow(path, O_RDWR);
      FinishFile(fd.get(), path, files[i]);
    }
    const FileEntry& f = files[*control];
    RestoreRange(f, 0, f.chunks.size(), false, true, workers[0].buffer, workers[0].existing, *workers[0].reader);
  }
  const FileEntry* root_entry = nullptr;
  for (const auto& f : files)
    if (f.path == ".") root_entry = &f;
  std::string tablespace_map;
  for (const auto& t : manifest_.tablespaces)
    tablespace_map += fmt::format("{} {}\n", t.oid, tablespace_dest_["pg_tblspc/" + std::to_string(t.oid)]);
  std::vector<std::pair<std::string, std::string>> extra = {{"backup_label", manifest_.backup_label}};
  if (!tablespace_map.empty()) extra.push_back({"tablespace_map", tablespace_map});
  for (const auto& [name, content] : extra) {
    std::string path = target_ + "/" + name;
    WriteFileAtomically(path, content, 0600);
    if (root_entry) ApplyOwnership(path, *root_entry, false);
  }

  // Make it all durable: one syncfs per filesystem instead of an fsync per file.
  for (const auto& root : roots) {
    UniqueFd fd = OpenOrThrow(root, O_RDONLY | O_DIRECTORY);
    if (::syncfs(fd.get()) != 0) throw Error(fmt::format("cannot sync {}: {}", root, ErrnoText(errno)));
  }
  result_.files_written = changed_.size();
  result_.files_unchanged = result_.files_total - result_.files_written;
  result_.written_paths.assign(changed_.begin(), changed_.end());
  result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result_;
}

}  // namespace

RestoreResult RunRestore(const RestoreOptions& options) {
  RestoreRun run(options);
  return run.Run();
}

}  // namespace pgvault
