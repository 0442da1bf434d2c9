#include "command/restore_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/aligned_buffer.h"
#include "core/error.h"
#include "core/os_user.h"
#include "core/parallel.h"
#include "core/posix_io.h"
#include "core/rooted_directory.h"
#include "core/test_pause.h"
#include "command/restored_archiving.h"
#include "repo/chunk_index.h"
#include "repo/chunk_reader.h"
#include "repo/chunk_relocator.h"
#include "repo/repository.h"
#include "wal/wal_archive.h"
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

// Hands out the work items of a restore so that two workers write the same
// file at once only when nothing else is left. Filesystems serialise buffered
// writes to one inode (ext4 and XFS take the inode lock), and the waiting writer
// spins on it, burning CPU that another worker needs for decompression and
// hashing; measured here, that spinning cost a third of the restore time.
class WriteScheduler {
 public:
  struct Range {
    size_t file;
    uint64_t first, count;
  };
  // `files` in the order they should start (largest first), each a list of ranges.
  explicit WriteScheduler(std::vector<std::vector<Range>> files)
      : files_(std::move(files)), next_(files_.size(), 0), active_(files_.size(), 0) {}

  // The next range to write; call Done() with its group when written.
  std::pair<size_t, Range> Claim() {
    std::lock_guard lock(mutex_);
    while (first_open_ < files_.size() && next_[first_open_] == files_[first_open_].size()) ++first_open_;
    size_t pick = files_.size(), busiest = files_.size();
    for (size_t g = first_open_; g < files_.size(); ++g) {
      if (next_[g] == files_[g].size()) continue;
      if (active_[g] == 0) {
        pick = g;
        break;
      }
      if (busiest == files_.size() || files_[g].size() - next_[g] > files_[busiest].size() - next_[busiest])
        busiest = g;
    }
    if (pick == files_.size()) pick = busiest;
    if (pick == files_.size()) throw std::logic_error("WriteScheduler: no work left");
    ++active_[pick];
    return {pick, files_[pick][next_[pick]++]};
  }
  void Done(size_t group) {
    std::lock_guard lock(mutex_);
    --active_[group];
  }

 private:
  std::mutex mutex_;
  std::vector<std::vector<Range>> files_;
  std::vector<size_t> next_;
  std::vector<int> active_;
  size_t first_open_ = 0;
};

class RestoreRun {
 public:
  explicit RestoreRun(const RestoreOptions& options) : options_(options) {}
  RestoreResult Run();

 private:
  std::string Destination(const std::string& rel) const;
  // Where an entry goes: the root it is written beneath (the target, or a
  // tablespace's destination) and its path there. Every write goes through
  // the root, never through a link.
  struct Place {
    const RootedDirectory* root;
    std::string rel;
    std::string Describe() const { return root->Describe(rel); }
  };
  Place Locate(const std::string& rel) const;
  // Writes chunks [first_chunk, first_chunk+count) of `file`. A file handled
  // by one item (`whole`) is created, sized and finished here, with a single
  // open; larger files are created before and finished after the workers.
  struct WorkerBuffers {
    explicit WorkerBuffers(size_t chunk_size) : chunk(chunk_size) {}
    AlignedBuffer chunk;    // decompressed chunk, aligned for O_DIRECT
    std::string existing;   // --delta: the bytes already in the target
  };
  void RestoreRange(const FileEntry& file, uint64_t first_chunk, uint64_t count, bool existed, bool whole,
                    WorkerBuffers& buffers, ChunkReader& reader);
  // Owner of `name` in `dirfd` (the entry itself, never what a link points
  // to); "" for `dirfd` itself.
  void ApplyOwnership(int dirfd, const std::string& name, const std::string& display, const FileEntry& e);
  void FinishFile(int fd, const std::string& path, const FileEntry& e);

  const RestoreOptions& options_;
  std::unique_ptr<Repository> repo_;
  BackupManifest manifest_;
  std::string target_;
  std::map<std::string, std::string> tablespace_dest_;  // "pg_tblspc/<oid>" -> directory
  std::map<std::string, std::unique_ptr<RootedDirectory>> rooted_;  // target and destinations, by path
  std::unique_ptr<ChunkIndex> index_;
  // restore takes no lock: gc may remove packs meanwhile (chunk_relocator.h).
  std::unique_ptr<ChunkRelocator> relocator_;
  std::unique_ptr<ProgressReporter> progress_;
  std::mutex result_mutex_;
  RestoreResult result_;
  std::set<std::string> changed_;
  bool as_root_ = ::geteuid() == 0;
  std::atomic<bool> use_direct_io_{true};
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

RestoreRun::Place RestoreRun::Locate(const std::string& rel) const {
  if (rel.starts_with("pg_tblspc/")) {
    size_t slash = rel.find('/', 10);
    if (slash != std::string::npos) {
      auto it = tablespace_dest_.find(rel.substr(0, slash));
      if (it != tablespace_dest_.end()) return {rooted_.at(it->second).get(), rel.substr(slash + 1)};
    }
  }
  return {rooted_.at(target_).get(), rel};
}

void RestoreRun::FinishFile(int fd, const std::string& path, const FileEntry& e) {
  // No set-user/group-id bits: PostgreSQL never has them, and a file written
  // as root with them would be a way in.
  if (::fchmod(fd, e.mode & 0777) != 0) throw Error(fmt::format("cannot chmod {}: {}", path, ErrnoText(errno)));
  ApplyOwnership(fd, "", path, e);
  struct timespec times[2] = {{e.mtime, 0}, {e.mtime, 0}};
  ::futimens(fd, times);
}

// Fresh files are written with O_DIRECT where the filesystem allows it: the
// restored bytes go from the decompression buffer to the device without a
// copy into the page cache. Measured here, that copy (and the memory it
// touches) was half of a restore's CPU time, and the server that starts on
// the restored directory gains nothing from a page cache full of it. The
// unaligned tail of a file, and files of a --delta restore (which are read
// back first), use ordinary buffered writes.
void RestoreRun::RestoreRange(const FileEntry& file, uint64_t first_chunk, uint64_t count, bool existed, bool whole,
                              WorkerBuffers& buffers, ChunkReader& reader) {
  Place place = Locate(file.path);
  std::string path = place.Describe();
  UniqueFd fd = place.root->Open(place.rel, whole ? O_RDWR | O_CREAT : O_RDWR, file.mode & 0777);
  if (whole && ::ftruncate(fd.get(), static_cast<off_t>(file.size)) != 0)
    throw Error(fmt::format("cannot size {}: {}", path, ErrnoText(errno)));
  UniqueFd direct;
  if (!existed && use_direct_io_.load(std::memory_order_relaxed)) {
    direct = place.root->TryOpen(place.rel, O_WRONLY | O_DIRECT);
    if (!direct.valid() && errno == EINVAL) use_direct_io_ = false;  // the filesystem has no O_DIRECT
  }
  uint32_t chunk_size = manifest_.chunk_size;
  bool wrote = false;
  uint64_t bytes = 0;
  for (uint64_t c = first_chunk; c < first_chunk + count; ++c) {
    uint64_t offset = c * chunk_size;
    uint64_t length = std::min<uint64_t>(chunk_size, file.size - offset);
    if (existed) {
      // --delta: a chunk whose bytes already hash to the stored id is kept.
      buffers.existing.resize(length);
      if (PreadFull(fd.get(), buffers.existing.data(), length, offset, path) == length &&
          Sha256(buffers.existing) == file.chunks[c]) {
        progress_->Add(length);
        continue;
      }
    }
    size_t got;
    try {
      got = reader.ReadInto(file.chunks[c], buffers.chunk.data(), buffers.chunk.capacity());
    } catch (const IntegrityError& e) {
      throw IntegrityError(DescribeDamage(manifest_.id, file.path, e.what()));
    }
    if (got != length)
      throw IntegrityError(DescribeDamage(manifest_.id, file.path, "chunk size does not match the file list"));
    // Direct I/O takes whole blocks; the remainder goes through the page cache.
    uint64_t aligned = direct.valid() ? length / kDirectIoAlignment * kDirectIoAlignment : 0;
    if (aligned > 0) {
      ssize_t n = ::pwrite(direct.get(), buffers.chunk.data(), aligned, static_cast<off_t>(offset));
      if (n < 0 && errno == EINVAL) {
        // Some filesystems accept O_DIRECT at open and refuse it at write.
        use_direct_io_ = false;
        direct.Reset();
        aligned = 0;
      } else if (n != static_cast<ssize_t>(aligned)) {
        PwriteFull(direct.get(), buffers.chunk.data() + std::max<ssize_t>(n, 0), aligned - std::max<ssize_t>(n, 0),
                   offset + std::max<ssize_t>(n, 0), path);
      }
    }
    if (aligned < length) PwriteFull(fd.get(), buffers.chunk.data() + aligned, length - aligned, offset + aligned, path);
    wrote = true;
    bytes += length;
    progress_->Add(length);
  }
  // Start writeback of what went through the page cache now, without
  // waiting, so that the final syncfs finds little left to write.
  if (wrote && !direct.valid())
    ::sync_file_range(fd.get(), static_cast<off_t>(first_chunk * chunk_size), static_cast<off_t>(bytes),
                      SYNC_FILE_RANGE_WRITE);
  if (whole) FinishFile(fd.get(), path, file);
  std::lock_guard lock(result_mutex_);
  result_.bytes_written += bytes;
  if (wrote) changed_.insert(file.path);
}

void RestoreRun::ApplyOwnership(int dirfd, const std::string& name, const std::string& display, const FileEntry& e) {
  if (!as_root_) return;
  uid_t uid = UserId(e.user).value_or(e.uid);
  gid_t gid = GroupId(e.group).value_or(e.gid);
  if (::fchownat(dirfd, name.c_str(), uid, gid, name.empty() ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW) != 0)
    throw Error(fmt::format("cannot set owner of {}: {}", display, ErrnoText(errno)));
}

RestoreResult RestoreRun::Run() {
  auto started = std::chrono::steady_clock::now();
  if (options_.target.empty()) throw UsageError("--target is required: the directory to restore into");
  if (options_.delta && options_.force) throw UsageError("--delta and --force exclude each other: choose one");
  for (const auto& m : options_.tablespace_map) {
    auto eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
      throw UsageError(fmt::format("invalid --tablespace-map '{}': expected OID=DIR or NAME=DIR", m));
  }
  RecoveryTarget recovery = ParseRecoveryTarget(options_.recovery);
  ArchiveMode archive_mode = ParseArchiveMode(options_.archive_mode);
  result_.archive_mode = ArchiveModeName(archive_mode);
  repo_ = Repository::Open(OpenStorage(options_.repo));
  if (recovery.requested()) {
    WalArchive archive(repo_->storage(), repo_->config().system_identifier.value_or(0));
    manifest_ = ChooseBackupForTarget(*repo_, archive, recovery, options_.backup);
    result_.recovery_target = recovery.Describe();
  } else {
    manifest_ = repo_->LoadBackup(options_.backup);
  }
  result_.backup_id = manifest_.id;
  std::vector<FileEntry> files = repo_->LoadFileList(manifest_);
  target_ = fs::absolute(options_.target).lexically_normal().string();
  while (target_.size() > 1 && target_.back() == '/') target_.pop_back();

  // Tablespace destinations: --tablespace-map OID=DIR or NAME=DIR, else the
  // original location.
  std::map<std::string, std::string> requested;
  for (const auto& m : options_.tablespace_map) {
    auto eq = m.find('=');
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
    if (!used.count(key)) throw UsageError(fmt::format("--tablespace-map {}: backup {} has no tablespace with that oid or name", key, manifest_.id));

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
  // --delta/--force may rewrite a tablespace directory only if it is the
  // target's own: restoring a copy on the source's host without
  // --tablespace-map would otherwise rewrite the live source's tablespace,
  // and no postmaster.pid there would warn us.
  if (options_.delta || options_.force) {
    for (const auto& [link, dir] : tablespace_dest_) {
      if (DirectoryIsEmpty(dir)) continue;
      std::error_code ec;
      fs::path ours = fs::read_symlink(target_ + "/" + link, ec);
      bool owned = !ec && fs::equivalent(ours, dir, ec) && !ec;
      if (!owned)
        throw Error(fmt::format("tablespace directory {} is not empty and is not the restore target's own ({}/{} does "
                                "not point to it): it may be the tablespace of a running cluster; move it with "
                                "--tablespace-map {}=NEWDIR",
                                dir, target_, link, link.substr(10)));
    }
  }
  index_ = std::make_unique<ChunkIndex>(ChunkIndex::Load(repo_->storage(), false));
  relocator_ = std::make_unique<ChunkRelocator>(repo_->storage());
  for (const auto& f : files)
    for (const auto& c : f.chunks)
      if (!index_->Find(c))
        throw IntegrityError(DescribeDamage(manifest_.id, f.path,
                                            fmt::format("chunk {} is missing from the repository", DigestHex(c))));
  TestPausePoint("restore-index-loaded");

  for (const auto& root : roots) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) throw Error(fmt::format("cannot create {}: {}", root, ec.message()));
    if (!rooted_.count(root)) rooted_[root] = std::make_unique<RootedDirectory>(root);
  }

  // A restore that fails part-way leaves no pg_control (it is written last),
  // so the half-written directory cannot be started by mistake; with --delta
  // too, where the old one would make a mix of old and new files look valid.
  // A link in its way (global -> elsewhere) is not followed: it is removed
  // below with everything else the backup does not have.
  {
    Place control = Locate(kControlFile);
    auto [dir, name] = control.root->TryOpenParent(control.rel);
    if (dir.valid() && ::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT)
      throw Error(fmt::format("cannot remove {}: {}", control.Describe(), ErrnoText(errno)));
  }

  // Remove what the backup does not have (only with --delta/--force), and
  // anything whose type differs from the backup's: a symbolic link where the
  // backup has a file or a directory would otherwise be followed.
  std::map<std::string, FileType> wanted;
  for (const auto& f : files) wanted[Destination(f.path)] = f.type;
  for (const auto& [link, dir] : tablespace_dest_) wanted[dir] = FileType::kDirectory;
  if (options_.delta || options_.force) {
    for (const auto& root : roots) {
      std::error_code ec;
      if (!fs::exists(root, ec)) continue;
      std::vector<fs::path> doomed;
      for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        std::string p = it->path().string();
        auto w = wanted.find(p);
        bool keep = false;
        if (w != wanted.end()) {
          bool link = it->is_symlink();
          keep = w->second == FileType::kSymlink ? link
                 : w->second == FileType::kDirectory ? !link && it->is_directory()
                                                     : !link && it->is_regular_file();
        }
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
  for (const auto& f : files) {
    Place place = Locate(f.path);
    std::string path = place.Describe();
    if (f.type == FileType::kDirectory) {
      place.root->MakeDirectories(place.rel, 0700);
      UniqueFd fd = place.root->Open(place.rel, O_RDONLY | O_DIRECTORY);
      if (::fchmod(fd.get(), f.mode & 03777) != 0)
        throw Error(fmt::format("cannot chmod {}: {}", path, ErrnoText(errno)));
      ApplyOwnership(fd.get(), "", path, f);
    } else if (f.type == FileType::kSymlink) {
      std::string link_target = f.link_target;
      auto ts = tablespace_dest_.find(f.path);
      if (ts != tablespace_dest_.end()) {
        link_target = ts->second;
        const RootedDirectory& dest = *rooted_.at(link_target);
        if (::fchmod(dest.fd(), 0700) != 0) { /* keep going: PostgreSQL reports it */ }
        ApplyOwnership(dest.fd(), "", link_target, f);
      }
      auto [dir, name] = place.root->OpenParent(place.rel);
      char current[4096];
      ssize_t n = ::readlinkat(dir.get(), name.c_str(), current, sizeof current - 1);
      if (n >= 0 && std::string(current, n) == link_target) continue;
      if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT)
        throw Error(fmt::format("cannot remove {}: {}", path, ErrnoText(errno)));
      if (::symlinkat(link_target.c_str(), dir.get(), name.c_str()) != 0)
        throw Error(fmt::format("cannot create link {} -> {}: {}", path, link_target, ErrnoText(errno)));
      ApplyOwnership(dir.get(), name, path, f);
    }
  }

  // Files: create them at their final size, then fill chunk ranges in parallel.
  std::vector<std::vector<WriteScheduler::Range>> groups;
  size_t item_count = 0;
  std::vector<bool> existed(files.size(), false);
  std::vector<size_t> split_files;  // more than one work item
  uint64_t total = 0;
  std::optional<size_t> control;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    if (f.type != FileType::kFile) continue;
    ++result_.files_total;
    Place place = Locate(f.path);
    struct stat st;
    // In a target that was empty nothing can exist yet: skip the lstat.
    bool exists = false;
    if (!fresh_target) {
      auto [dir, name] = place.root->OpenParent(place.rel);
      exists = ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
      if (exists && !options_.delta) ::unlinkat(dir.get(), name.c_str(), 0);
    }
    existed[i] = exists && options_.delta;
    if (!existed[i] || static_cast<uint64_t>(st.st_size) != f.size) changed_.insert(f.path);
    if (f.path == kControlFile) {
      control = i;
      continue;
    }
    total += f.size;
    if (f.chunks.size() > kChunksPerWorkItem) {
      UniqueFd fd = place.root->Open(place.rel, O_WRONLY | O_CREAT, f.mode & 0777);
      if (::ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0)
        throw Error(fmt::format("cannot size {}: {}", place.Describe(), ErrnoText(errno)));
      split_files.push_back(i);
    }
    auto& ranges = groups.emplace_back();
    uint64_t c = 0;
    do {
      ranges.push_back({i, c, std::min<uint64_t>(kChunksPerWorkItem, f.chunks.size() - c)});
      c += kChunksPerWorkItem;
    } while (c < f.chunks.size());
    item_count += ranges.size();
  }
  if (!control) throw IntegrityError(fmt::format("backup {} has no global/pg_control", manifest_.id));

  // Twice the cores by default: with direct I/O a worker waits for the device
  // after each chunk, and a second worker per core keeps the CPU busy meanwhile.
  size_t jobs = options_.jobs ? options_.jobs : 2 * std::max(1u, std::thread::hardware_concurrency());
  struct WorkerState {
    explicit WorkerState(size_t chunk_size) : buffers(chunk_size) {}
    std::unique_ptr<ChunkReader> reader;
    WorkerBuffers buffers;
  };
  std::vector<WorkerState> workers;
  workers.reserve(jobs);
  for (size_t w = 0; w < jobs; ++w) {
    workers.emplace_back(manifest_.chunk_size);
    workers.back().reader = std::make_unique<ChunkReader>(repo_->storage(), *index_, relocator_.get());
  }
  progress_ = std::make_unique<ProgressReporter>("restore", total, options_.progress);
  std::stable_sort(groups.begin(), groups.end(), [&](const auto& a, const auto& b) {
    return files[a.front().file].size > files[b.front().file].size;
  });
  WriteScheduler scheduler(std::move(groups));
  ParallelFor(jobs, item_count, [&](size_t w, size_t i) {
    auto [group, item] = scheduler.Claim();
    bool whole = files[item.file].chunks.size() <= kChunksPerWorkItem;
    RestoreRange(files[item.file], item.first, item.count, existed[item.file], whole, workers[w].buffers,
                 *workers[w].reader);
    scheduler.Done(group);
    if (i == item_count / 2) TestPausePoint("restore-copying");
  });
  progress_->Finish();

  // pg_control last, then backup_label and tablespace_map.
  {
    for (size_t i : split_files) {
      Place place = Locate(files[i].path);
      UniqueFd fd = place.root->Open(place.rel, O_RDWR);
      FinishFile(fd.get(), place.Describe(), files[i]);
    }
    const FileEntry& f = files[*control];
    RestoreRange(f, 0, f.chunks.size(), false, true, workers[0].buffers, *workers[0].reader);
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
    if (root_entry) ApplyOwnership(rooted_.at(target_)->fd(), name, path, *root_entry);
  }

  if (recovery.requested()) WriteRecoveryConfiguration(target_, options_.repo, recovery, manifest_);
  if (archive_mode == ArchiveMode::kOff) {
    WriteArchiveModeOff(target_, manifest_.id);
  } else if (target_ != manifest_.source_pgdata) {
    // A copy, not the source's data directory restored in place (a disaster
    // recovery whose result is the new primary and keeps archiving).
    result_.archive_warning = WarnIfArchivingIntoRepository(target_, options_.repo);
    if (!result_.archive_warning.empty()) spdlog::warn("{}", result_.archive_warning);
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
