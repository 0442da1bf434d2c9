#include "command/backup_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "compress/codec.h"
#include "core/error.h"
#include "core/os_user.h"
#include "core/parallel.h"
#include "core/posix_io.h"
#include "core/test_pause.h"
#include "core/timestamp.h"
#include "pg/backup_label.h"
#include "pg/connection.h"
#include "pg/control_file.h"
#include "pg/data_directory.h"
#include "pg/hot_backup.h"
#include "pg/lsn.h"
#include "pg/page_checksum.h"
#include "pg/server_version.h"
#include "pg/wal_segment.h"
#include "repo/chunk_index.h"
#include "repo/chunk_reuse_check.h"
#include "repo/pack_writer.h"
#include "repo/repository.h"
#include "wal/wal_archive.h"
#include "terminal/progress.h"

namespace pgvault {

namespace {

constexpr uint32_t kChunksPerWorkItem = 64;  // a big file is split so workers share it
constexpr const char* kControlFile = "global/pg_control";

// One contiguous run of chunks of one file, handled by one worker.
struct WorkItem {
  size_t file = 0;  // index into the scanned entries
  uint64_t first_chunk = 0;
  uint64_t chunk_count = 0;
};

struct WorkResult {
  std::vector<Digest> chunks;
  uint64_t bytes = 0;
  bool short_read = false;  // file ended (was truncated) inside this range
  bool vanished = false;
};

// Per-worker state: each worker owns a pack, so workers never share one.
struct Worker {
  Worker(Storage& storage, uint64_t pack_size, Codec codec, int level, uint32_t chunk_size)
      : packs(storage, pack_size), compressor(codec, level), buffer(chunk_size, '\0') {}
  PackWriter packs;
  Compressor compressor;
  std::string buffer;
  std::string compressed;
  uint64_t new_chunks = 0;
};

// The set of chunks stored by this backup so far, on top of the repository
// index (read-only while workers run). A chunk is stored by whichever worker
// claims it first.
class ChunkClaims {
 public:
  explicit ChunkClaims(ChunkReuseCheck& reuse) : reuse_(reuse) {}
  bool Claim(const Digest& id) {
    if (reuse_.Reusable(id)) return false;
    std::lock_guard lock(mutex_);
    return claimed_.insert(id).second;
  }

 private:
  ChunkReuseCheck& reuse_;
  std::mutex mutex_;
  std::unordered_set<Digest, DigestHash> claimed_;
};

// How far a chunk the repository already has is checked before this backup
// reuses it (chunk_reuse_check.h).
ChunkReuseCheck::Depth ReuseDepth(const BackupOptions& options) {
  if (options.reuse_check == "pack") return ChunkReuseCheck::Depth::kPack;
  if (options.reuse_check == "read") return ChunkReuseCheck::Depth::kStoredBytes;
  if (options.reuse_check != "auto")
    throw UsageError(fmt::format("--reuse-check '{}': expected auto, pack or read", options.reuse_check));
  bool object_store = options.repo.find("://") != std::string::npos;
  return object_store ? ChunkReuseCheck::Depth::kPack : ChunkReuseCheck::Depth::kStoredBytes;
}

struct ChecksumFailureLog {
  std::mutex mutex;
  std::vector<PageChecksumFailure> failures;
};

class BackupRun {
 public:
  BackupRun(const BackupOptions& options) : options_(options) {}
  BackupManifest Run();

 private:
  void StoreChunk(Worker& worker, std::string_view data, std::vector<Digest>& out);
  void VerifyPages(Worker& worker, const SourceEntry& entry, int fd, uint64_t offset, size_t length);
  void ProcessItem(Worker& worker, const WorkItem& item, WorkResult& result);
  std::string ResolveRelation(const std::string& path);
  void CheckSameServer();
  // "" when the stop segment is archived (or archiving is not in use); else
  // what went wrong, for the warning and the error.
  std::string WaitForArchive(const BackupManifest& m, Lsn stop_lsn);
  std::vector<FileEntry> CopyWal(Worker& worker, const BackupLabel& label, Lsn stop_lsn, const SourceEntry& wal_dir);

  const BackupOptions& options_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<PgConnection> conn_;
  std::unique_ptr<ChunkIndex> index_;
  std::unique_ptr<ChunkReuseCheck> reuse_;
  std::unique_ptr<ChunkClaims> claims_;
  std::vector<SourceEntry> entries_;
  ChecksumFailureLog checksum_failures_;
  std::unique_ptr<ProgressReporter> progress_;
  Lsn start_lsn_ = 0;
  uint32_t chunk_size_ = 0;
  uint32_t segment_size_ = 16 << 20;
  // Pages carry checksums only in clusters initialised with them (initdb -k
  // or pg_checksums --enable); elsewhere the field is zero or stale.
  bool data_checksums_ = false;
  bool in_recovery_ = false;
};

std::string BackupRun::WaitForArchive(const BackupManifest& m, Lsn stop_lsn) {
  if (!options_.wait_for_archive) return "";
  std::string archive_command = conn_->QueryValue("SELECT current_setting('archive_command')");
  std::string archive_mode = conn_->QueryValue("SELECT current_setting('archive_mode')");
  WalArchive archive(repo_->storage(), m.system_identifier);
  bool in_use = (archive_mode != "off" && archive_command.find("wal-push") != std::string::npos) ||
                !repo_->storage().List("wal").empty();
  if (!in_use) return "";
  std::string segment = WalSegmentName(m.timeline, SegmentNumber(stop_lsn - 1, segment_size_), segment_size_);
  spdlog::info("waiting for WAL segment {} to be archived (up to {}s)", segment, options_.archive_timeout_seconds);
  if (archive.WaitUntilArchived(segment, std::chrono::seconds(options_.archive_timeout_seconds))) return "";
  std::string failure;
  try {
    auto rows = conn_->Query("SELECT coalesce(last_failed_wal, ''), coalesce(last_failed_time::text, ''), "
                             "coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    if (!rows.empty() && !rows[0][0].value_or("").empty())
      failure = fmt::format("; pg_stat_archiver on {}: last failure {} at {}, last archived {}", conn_->server(),
                            *rows[0][0], rows[0][1].value_or(""), rows[0][2].value_or("none"));
  } catch (const Error&) {
  }
  return fmt::format("WAL segment {} (end of backup {}) was not archived into {} within {}s: check archive_mode "
                     "('{}') and archive_command ('{}') on {}{}{}; --no-wait-for-archive skips this wait",
                     segment, m.id, repo_->Describe(), options_.archive_timeout_seconds, archive_mode,
                     archive_command, in_recovery_ ? "the primary (this server is a standby)" : conn_->server(),
                     in_recovery_ ? ", and its archive_timeout: a standby cannot force a segment switch" : "",
                     failure);
}

void BackupRun::StoreChunk(Worker& worker, std::string_view data, std::vector<Digest>& out) {
  Digest id = Sha256(data);
  out.push_back(id);
  if (!claims_->Claim(id)) return;
  Codec used = worker.compressor.Compress(data, worker.compressed);
  worker.packs.Add(id, used, worker.compressed, static_cast<uint32_t>(data.size()));
  ++worker.new_chunks;
}

// Checks every page in the buffer. A page that fails is read again (it may
// have been torn by a concurrent write); a page written since the backup
// started is skipped, because WAL replay overwrites it from a full-page image.
void BackupRun::VerifyPages(Worker& worker, const SourceEntry& entry, int fd, uint64_t offset, size_t length) {
  auto* data = reinterpret_cast<uint8_t*>(worker.buffer.data());
  for (size_t pos = 0; pos + kPageSize <= length; pos += kPageSize) {
    uint64_t block_in_file = (offset + pos) / kPageSize;
    uint32_t block = static_cast<uint32_t>(entry.segment_number * kBlocksPerSegment + block_in_file);
    uint8_t* page = data + pos;
    if (CheckPage(page, block) != PageState::kInvalid) continue;
    if (PageLsn(page) >= start_lsn_) continue;
    // Re-read: the copy we store is the re-read one.
    if (PreadFull(fd, page, kPageSize, offset + pos, entry.absolute) == kPageSize &&
        (CheckPage(page, block) != PageState::kInvalid || PageLsn(page) >= start_lsn_))
      continue;
    std::lock_guard lock(checksum_failures_.mutex);
    checksum_failures_.failures.push_back({entry.path, "", block_in_file});
  }
}

void BackupRun::ProcessItem(Worker& worker, const WorkItem& item, WorkResult& result) {
  const SourceEntry& entry = entries_[item.file];
  UniqueFd fd;
  try {
    fd = OpenOrThrow(entry.absolute, O_RDONLY);
  } catch (const NotFoundError&) {
    result.vanished = true;  // dropped by PostgreSQL during the backup; WAL replay agrees
    return;
  }
  for (uint64_t c = 0; c < item.chunk_count; ++c) {
    uint64_t offset = (item.first_chunk + c) * chunk_size_;
    uint64_t want = std::min<uint64_t>(chunk_size_, entry.size - offset);
    size_t n = PreadFull(fd.get(), worker.buffer.data(), want, offset, entry.absolute);
    if (n > 0 && entry.checksummed && data_checksums_) VerifyPages(worker, entry, fd.get(), offset, n);
    if (n > 0) StoreChunk(worker, std::string_view(worker.buffer.data(), n), result.chunks);
    result.bytes += n;
    progress_->Add(n);
    if (n < want) {
      result.short_read = true;
      return;
    }
  }
}

// A standby has its primary's system identifier, so that check alone would let
// `--pgdata <standby> --pg <primary>` copy one server's files under the other's
// backup. The server must be running in --pgdata: same path, or (when paths
// differ, e.g. in a container) the same postmaster start time and port in
// postmaster.pid.
void BackupRun::CheckSameServer() {
  std::error_code ec;
  auto mine = std::filesystem::canonical(options_.pgdata, ec);
  try {
    std::string theirs = conn_->QueryValue("SELECT current_setting('data_directory')");
    auto theirs_canonical = std::filesystem::canonical(theirs, ec);
    if (!ec && theirs_canonical == mine) return;
  } catch (const Error&) {
    // No privilege to read data_directory: fall through to postmaster.pid.
  }
  std::string pid_file;
  try {
    pid_file = ReadWholeFile(options_.pgdata + "/postmaster.pid");
  } catch (const Error&) {
    throw Error(fmt::format("--pgdata {} is not the data directory of the running server at {} (no postmaster.pid): "
                            "point --pgdata at that server's data directory",
                            options_.pgdata, conn_->server()));
  }
  std::vector<std::string> lines;
  for (size_t start = 0, end; start < pid_file.size(); start = end + 1) {
    end = pid_file.find('\n', start);
    if (end == std::string::npos) end = pid_file.size();
    lines.push_back(pid_file.substr(start, end - start));
  }
  auto row = conn_->Query(
      "SELECT extract(epoch FROM date_trunc('second', pg_postmaster_start_time()))::bigint::text, "
      "current_setting('port')");
  if (lines.size() >= 4 && row.size() == 1 && lines[2] == row[0][0].value_or("") && lines[3] == row[0][1].value_or(""))
    return;
  throw Error(fmt::format("--pgdata {} is not the data directory of the server at {} (another server runs there): "
                          "point --pgdata at that server's data directory",
                          options_.pgdata, conn_->server()));
}

std::string BackupRun::ResolveRelation(const std::string& path) {
  // base/<db>/<filenode>, global/<filenode>, pg_tblspc/<spc>/<ver>/<db>/<filenode>
  std::vector<std::string> parts;
  for (size_t start = 0, end; start <= path.size(); start = end + 1) {
    end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
  }
  std::string file = parts.back();
  std::string filenode = file.substr(0, file.find_first_of("._"));
  std::string db, spc = "0";
  if (parts[0] == "base" && parts.size() == 3) db = parts[1];
  else if (parts[0] == "global") { db = "0"; spc = "1664"; }
  else if (parts[0] == "pg_tblspc" && parts.size() == 5) { spc = parts[1]; db = parts[3]; }
  try {
    std::string current_db = conn_->QueryValue("SELECT oid::text FROM pg_database WHERE datname = current_database()");
    if (db == current_db || db == "0") {
      auto rows = conn_->Query("SELECT pg_filenode_relation($1::oid, $2::oid)::regclass::text", {spc, filenode});
      if (!rows.empty() && rows[0][0]) return *rows[0][0];
    }
  } catch (const Error&) {
  }
  return fmt::format("relfilenode {} in database oid {}", filenode, db);
}

std::vector<FileEntry> BackupRun::CopyWal(Worker& worker, const BackupLabel& label, Lsn stop_lsn,
                                          const SourceEntry& wal_dir) {
  std::vector<FileEntry> out;
  std::string wal_path = options_.pgdata + "/pg_wal";
  uint64_t first = SegmentNumber(label.start_lsn, segment_size_);
  uint64_t last = SegmentNumber(stop_lsn - 1, segment_size_);
  for (uint64_t seg = first; seg <= last; ++seg) {
    std::string name = WalSegmentName(label.start_timeline, seg, segment_size_);
    std::string data;
    try {
      data = ReadWholeFile(wal_path + "/" + name);
    } catch (const NotFoundError&) {
      // A standby promoted mid-backup continues on a later timeline.
      bool found = false;
      for (uint32_t tli = label.start_timeline + 1; tli < label.start_timeline + 16 && !found; ++tli) {
        std::string other = WalSegmentName(tli, seg, segment_size_);
        try {
          data = ReadWholeFile(wal_path + "/" + other);
          name = other;
          found = true;
        } catch (const NotFoundError&) {
        }
      }
      if (!found)
        throw Error(fmt::format("WAL segment {} needed by the backup is missing from {}", name, wal_path));
    }
    if (data.size() != segment_size_)
      throw Error(fmt::format("WAL segment {} in {} has {} bytes, expected {}", name, wal_path, data.size(),
                              segment_size_));
    CheckSegmentHeader(data, name, seg, segment_size_);
    if (seg == last) {
      // Cut the copy at the backup's end: recovery then stops exactly at the
      // consistency point instead of replaying whatever the server wrote after.
      uint64_t end = stop_lsn - seg * segment_size_;
      std::memset(data.data() + end, 0, data.size() - end);
    }
    FileEntry f;
    f.path = "pg_wal/" + name;
    f.type = FileType::kFile;
    f.size = data.size();
    f.mode = 0600;
    f.mtime = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    f.uid = wal_dir.uid;
    f.gid = wal_dir.gid;
    f.user = UserName(f.uid);
    f.group = GroupName(f.gid);
    for (uint64_t off = 0; off < data.size(); off += chunk_size_)
      StoreChunk(worker, std::string_view(data).substr(off, chunk_size_), f.chunks);
    f.checksum = FileChecksum(f.chunks);
    progress_->Add(data.size());
    out.push_back(std::move(f));
  }
  return out;
}

FileEntry ToFileEntry(const SourceEntry& e) {
  FileEntry f;
  f.path = e.path;
  f.type = e.kind == SourceEntry::Kind::kFile        ? FileType::kFile
           : e.kind == SourceEntry::Kind::kDirectory ? FileType::kDirectory
                                                     : FileType::kSymlink;
  f.size = e.size;
  f.mode = e.mode;
  f.mtime = e.mtime;
  f.uid = e.uid;
  f.gid = e.gid;
  f.user = UserName(e.uid);
  f.group = GroupName(e.gid);
  f.link_target = e.link_target;
  return f;
}

BackupManifest BackupRun::Run() {
  auto wall_start = std::chrono::steady_clock::now();
  // Validate everything that can be validated before anything is written.
  if (options_.pgdata.empty()) throw UsageError("--pgdata is required: the data directory of the server to back up");
  if (options_.conninfo.empty()) throw UsageError("--pg is required: a libpq connection string to the server");
  Codec codec = CodecFromName(options_.compress);
  repo_ = Repository::Open(OpenStorage(options_.repo));
  chunk_size_ = repo_->config().chunk_size;
  uint64_t file_sysid = ReadSystemIdentifier(options_.pgdata);

  conn_ = std::make_unique<PgConnection>(options_.conninfo);
  CheckSupportedServer(ServerVersion{conn_->server_version()}, conn_->server());
  uint64_t server_sysid = std::stoull(conn_->QueryValue("SELECT system_identifier::text FROM pg_control_system()"));
  if (server_sysid != file_sysid)
    throw Error(fmt::format("--pgdata {} belongs to the cluster with system identifier {}, but the server at {} has {}: "
                            "point --pgdata at that server's data directory",
                            options_.pgdata, file_sysid, conn_->server(), server_sysid));
  CheckSameServer();
  bool in_recovery = conn_->QueryValue("SELECT pg_is_in_recovery()::text") == "true";
  in_recovery_ = in_recovery;
  data_checksums_ = conn_->QueryValue("SELECT current_setting('data_checksums')") == "on";
  if (!data_checksums_)
    spdlog::info("{} has no data checksums: pages cannot be verified during the backup", conn_->server());
  segment_size_ = static_cast<uint32_t>(
      std::stoul(conn_->QueryValue("SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'")));

  // Held until Run() returns, i.e. from before the chunk index is loaded
  // until after the manifest is committed: repo gc relies on it (a chunk this
  // backup finds in the index must not be removed before its manifest
  // references it; garbage_collector.h).
  auto lock = repo_->LockForWrite("backup");
  repo_->BindSystemIdentifier(server_sysid);
  index_ = std::make_unique<ChunkIndex>(ChunkIndex::Load(repo_->storage(), /*adopt_orphans=*/true));
  reuse_ = std::make_unique<ChunkReuseCheck>(repo_->storage(), *index_, ReuseDepth(options_));
  claims_ = std::make_unique<ChunkClaims>(*reuse_);

  BackupManifest m;
  m.tool_version = PGVAULT_VERSION;
  m.system_identifier = server_sysid;
  m.pg_version = conn_->server_version();
  m.compression = options_.compress;
  m.chunk_size = chunk_size_;
  m.wal_segment_size = segment_size_;
  m.source_pgdata = std::filesystem::absolute(options_.pgdata).lexically_normal().string();
  m.source_host = conn_->server();
  m.source_conninfo = RedactConninfo(options_.conninfo);
  for (const auto& row : conn_->Query("SELECT oid::text, spcname, pg_tablespace_location(oid) FROM pg_tablespace "
                                      "WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid"))
    m.tablespaces.push_back({static_cast<uint32_t>(std::stoul(*row[0])), *row[1], *row[2]});

  HotBackup hot_backup(*conn_);  // its slot holds WAL from here on (pg/hot_backup.h)
  auto start_time = std::chrono::system_clock::now();
  std::string label_text = options_.label.empty() ? "pgvault " + FormatBackupIdTime(start_time) : options_.label;
  spdlog::info("starting backup on {} ({}), {} checkpoint", conn_->server(), in_recovery ? "standby" : "primary",
               options_.fast_checkpoint ? "fast" : "spread");
  start_lsn_ = hot_backup.Start(label_text, options_.fast_checkpoint);
  m.id = repo_->NewBackupId(FormatBackupIdTime(start_time));
  m.start_time = FormatTimestamp(start_time);
  if (options_.on_phase) options_.on_phase("running");
  TestPausePoint("backup-started");

  entries_ = ScanDataDirectory(options_.pgdata);
  TestPausePoint("backup-scanned");
  // pg_control goes last: on a standby its minRecoveryPoint must cover
  // everything copied before it.
  std::optional<size_t> control_index;
  const SourceEntry* wal_dir = nullptr;
  std::vector<WorkItem> items;
  uint64_t total_bytes = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (e.path == "pg_wal") wal_dir = &e;
    if (e.kind != SourceEntry::Kind::kFile) continue;
    if (e.path == kControlFile) {
      control_index = i;
      continue;
    }
    total_bytes += e.size;
    uint64_t chunks = (e.size + chunk_size_ - 1) / chunk_size_;
    for (uint64_t c = 0; c < chunks; c += kChunksPerWorkItem)
      items.push_back({i, c, std::min<uint64_t>(kChunksPerWorkItem, chunks - c)});
  }
  if (!control_index) throw Error(fmt::format("{}/global/pg_control is missing", options_.pgdata));
  // Largest items first: keeps all workers busy until the end.
  std::stable_sort(items.begin(), items.end(), [](const WorkItem& a, const WorkItem& b) {
    return a.chunk_count > b.chunk_count;
  });

  size_t jobs = options_.jobs ? options_.jobs : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t i = 0; i < jobs; ++i)
    workers.push_back(std::make_unique<Worker>(repo_->storage(), repo_->config().pack_size, codec,
                                               options_.compress_level, chunk_size_));
  progress_ = std::make_unique<ProgressReporter>("backup", total_bytes + 2 * segment_size_, options_.progress);
  std::vector<WorkResult> results(items.size());
  ParallelFor(jobs, items.size(), [&](size_t worker, size_t item) {
    ProcessItem(*workers[worker], items[item], results[item]);
    if (item == items.size() / 2) TestPausePoint("backup-copying");
  });

  // Assemble file entries in scan order from their ranges.
  std::vector<std::vector<size_t>> ranges_of_file(entries_.size());
  for (size_t i = 0; i < items.size(); ++i) ranges_of_file[items[i].file].push_back(i);
  std::vector<FileEntry> files;
  {
    // The data directory itself, so restore can give it the same mode/owner.
    struct stat st;
    if (::stat(options_.pgdata.c_str(), &st) != 0)
      throw Error(fmt::format("cannot stat {}: {}", options_.pgdata, ErrnoText(errno)));
    SourceEntry root;
    root.path = ".";
    root.kind = SourceEntry::Kind::kDirectory;
    root.mode = st.st_mode & 07777;
    root.mtime = st.st_mtime;
    root.uid = st.st_uid;
    root.gid = st.st_gid;
    files.push_back(ToFileEntry(root));
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (i == *control_index) continue;
    FileEntry f = ToFileEntry(e);
    if (e.kind == SourceEntry::Kind::kFile) {
      auto& ranges = ranges_of_file[i];
      std::sort(ranges.begin(), ranges.end(),
                [&](size_t a, size_t b) { return items[a].first_chunk < items[b].first_chunk; });
      bool vanished = false;
      f.size = 0;
      for (size_t r : ranges) {
        const WorkResult& res = results[r];
        if (res.vanished) { vanished = true; break; }
        f.chunks.insert(f.chunks.end(), res.chunks.begin(), res.chunks.end());
        f.size += res.bytes;
        if (res.short_read) break;  // truncated meanwhile: WAL replay restores it
      }
      if (vanished) continue;
      f.checksum = FileChecksum(f.chunks);
    }
    files.push_back(std::move(f));
  }

  // pg_control, then stop the backup.
  Worker& main_worker = *workers[0];
  {
    const SourceEntry& e = entries_[*control_index];
    std::string data = ReadWholeFile(e.absolute);
    FileEntry f = ToFileEntry(e);
    f.size = data.size();
    StoreChunk(main_worker, data, f.chunks);
    f.checksum = FileChecksum(f.chunks);
    files.push_back(std::move(f));
  }
  // Not waiting for the archive here: the backup copies its WAL from
  // pg_wal (held by the slot), and WaitForArchive waits below with a
  // timeout and a message, where the server would wait without either.
  HotBackup::Stopped stopped = hot_backup.Stop(/*wait_for_archive=*/false);
  auto stop_time = std::chrono::system_clock::now();
  if (options_.on_phase) options_.on_phase("finalizing");
  Lsn stop_lsn = stopped.lsn;
  // For choosing a backup for an --target-xid restore later (no xid is assigned by this).
  m.stop_next_xid = std::stoull(conn_->QueryValue("SELECT txid_snapshot_xmax(txid_current_snapshot())::text"));
  m.backup_label = stopped.backup_label;
  m.tablespace_map = stopped.tablespace_map;
  BackupLabel label = ParseBackupLabel(m.backup_label);

  if (!wal_dir) throw Error(fmt::format("{}/pg_wal is missing", options_.pgdata));
  auto wal_files = CopyWal(main_worker, label, stop_lsn, *wal_dir);
  hot_backup.DropSlot();
  files.insert(files.end(), wal_files.begin(), wal_files.end());

  // Packs, then the index that lists them, then the manifest.
  std::vector<PackRecord> new_packs = index_->adopted();
  uint64_t stored = 0, new_chunks = 0;
  // Packs adopted from an interrupted run become this backup's to account for.
  for (const auto& p : new_packs) stored += p.size;
  for (auto& w : workers) {
    w->packs.Flush();
    new_packs.insert(new_packs.end(), w->packs.records().begin(), w->packs.records().end());
    stored += w->packs.stored_bytes();
    new_chunks += w->new_chunks;
  }
  TestPausePoint("backup-packs-written");
  stored += ChunkIndex::WriteIndexFile(repo_->storage(), new_packs);
  TestPausePoint("backup-index-written");
  // Its packs are listed again now, by the index file just written.
  repo_->QuarantineIndexFiles(index_->damaged_index_files());
  progress_->Finish();

  m.start_lsn = FormatLsn(label.start_lsn);
  m.checkpoint_lsn = FormatLsn(label.checkpoint_lsn);
  m.stop_lsn = FormatLsn(stop_lsn);
  m.timeline = label.start_timeline;
  m.start_wal = label.start_wal;
  m.stop_wal = wal_files.empty() ? label.start_wal : wal_files.back().path.substr(7);
  m.stop_time = FormatTimestamp(stop_time);
  m.backup_from = label.backup_from.empty() ? (in_recovery ? "standby" : "primary") : label.backup_from;
  for (const auto& f : files) {
    if (f.type != FileType::kFile) continue;
    m.size += f.size;
    m.chunk_count += f.chunks.size();
  }
  m.file_count = files.size();
  m.stored_size = stored;
  for (auto& failure : checksum_failures_.failures) {
    failure.relation = ResolveRelation(failure.path);
    m.warnings.push_back(fmt::format("page checksum failure in {} ({}), block {}", failure.path, failure.relation,
                                     failure.block));
  }
  m.checksum_failures = checksum_failures_.failures;
  if (!m.warnings.empty()) m.status = "warning";
  m.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::string archive_problem = WaitForArchive(m, stop_lsn);
  if (!archive_problem.empty()) {
    m.warnings.push_back(archive_problem);
    m.status = "warning";
  }
  lock->CheckHeld();  // never commit a backup whose writes may have raced another writer's
  repo_->CommitBackup(m, files);
  if (!archive_problem.empty())
    throw Error(fmt::format("{}; backup {} itself is complete and kept (it restores on its own)", archive_problem,
                            m.id));
  spdlog::debug("backup {}: {} new chunks", m.id, new_chunks);
  return m;
}

}  // namespace

BackupManifest RunBackup(const BackupOptions& options) {
  BackupRun run(options);
  return run.Run();
}

}  // namespace pgvault
