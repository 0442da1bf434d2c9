#include "wal/wal_prefetcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/decimal_number.h"
#include "core/detached_process.h"
#include "core/error.h"
#include "core/posix_io.h"
#include "pg/wal_segment_size.h"
#include "pg/lsn.h"
#include "pg/wal_segment.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Long enough to span PostgreSQL replaying a slow segment between calls; on
// leaving, the prefetcher removes what it spooled, so that a recovery that
// ended leaves no copies of WAL behind in pg_wal.
constexpr auto kIdleExit = std::chrono::seconds(30);
constexpr auto kScanInterval = std::chrono::milliseconds(10);
// A segment not archived yet (the end of the archive) is asked for again
// after this long, for a standby that follows the archive.
constexpr auto kRetryMissingAfter = std::chrono::seconds(1);
constexpr auto kRetryFailedAfter = std::chrono::seconds(5);
// Temporary files of a killed prefetcher older than this are removed.
constexpr auto kStaleTemporary = std::chrono::minutes(1);
// Parallel fetches, at most: beyond this, decompression competes with replay.
constexpr int kMaxThreads = 8;

std::string PrefetchDir(const PrefetchOptions& o) { return o.spool + "/prefetch"; }
std::string WantPath(const PrefetchOptions& o) { return o.spool + "/prefetch.want"; }

struct Want {
  std::string name;
  uint32_t segment_size = 0;
  std::string repo;
};

std::optional<Want> ReadWant(const PrefetchOptions& o) {
  std::string text;
  try {
    text = ReadWholeFile(WantPath(o));
  } catch (const Error&) {
    return std::nullopt;
  }
  std::istringstream in(text);
  Want w;
  std::string size;
  if (!std::getline(in, w.name) || !std::getline(in, size) || !std::getline(in, w.repo)) return std::nullopt;
  auto segment_size = ParseDecimal(size, std::numeric_limits<uint32_t>::max());
  if (!segment_size) return std::nullopt;
  w.segment_size = static_cast<uint32_t>(*segment_size);
  if (!IsWalSegmentName(w.name) || !IsValidWalSegmentSize(w.segment_size))
    return std::nullopt;
  return w;
}

}  // namespace

std::optional<uint64_t> TakePrefetchedSegment(const PrefetchOptions& o, const std::string& name,
                                              uint64_t system_identifier, const std::string& destination) {
  std::string path = PrefetchDir(o) + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  // The prefetcher verified the content against the archive; this guards
  // against a spool left behind by something else (another cluster restored
  // into this directory, a hand-made file).
  try {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw Error(ErrnoText(errno));
    std::string head(kWalPageSize, '\0');
    head.resize(PreadFull(fd.get(), head.data(), head.size(), 0, path));
    WalLongPageHeader h = ParseLongPageHeader(head, path);
    if (h.system_identifier != system_identifier || static_cast<uint64_t>(st.st_size) != h.segment_size)
      throw Error("another cluster's or a truncated segment");
    CheckSegmentHeader(head, path, ParseWalSegmentName(name, h.segment_size).segment_number, h.segment_size);
    fd.Reset();
    if (::rename(path.c_str(), destination.c_str()) != 0) {
      if (errno != EXDEV) throw Error(fmt::format("cannot move it to {}: {}", destination, ErrnoText(errno)));
      WriteFileAtomically(destination, ReadWholeFile(path), 0600, /*durable=*/false);
      ::unlink(path.c_str());
    }
    return h.segment_size;
  } catch (const Error&) {
    // Not usable: fetch from the repository instead.
    ::unlink(path.c_str());
    return std::nullopt;
  }
}

void PrefetchAfter(const PrefetchOptions& o, const std::string& name, uint64_t segment_size) {
  if (o.depth <= 0) return;
  CreatePrivateDirectories(PrefetchDir(o));
  std::error_code ec;
  if (auto old = ReadWant(o); old && old->repo != o.repo) {
    // Spooled segments of another repository: not ours to hand out.
    for (auto it = fs::directory_iterator(PrefetchDir(o), ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      ::unlink(it->path().c_str());
  }
  WriteFileAtomically(WantPath(o), fmt::format("{}\n{}\n{}\n", name, segment_size, o.repo), 0600,
                      /*durable=*/false);
  StartDetachedUnlessRunning(o.spool + "/prefetch.lock", o.spool + "/prefetch.log", [&] { RunWalPrefetcher(o); });
}

void RunWalPrefetcher(const PrefetchOptions& o) {
  auto repo = Repository::Open(OpenStorage(o.repo));
  WalArchive archive(repo->storage(), repo->config().system_identifier.value_or(0));
  const std::string dir = PrefetchDir(o);

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> queue;
  std::set<std::string> in_flight;
  std::map<std::string, Clock::time_point> missing, failed;
  bool stop = false;

  std::vector<std::thread> threads;
  for (int i = 0; i < std::clamp(o.depth, 1, kMaxThreads); ++i) {
    threads.emplace_back([&] {
      std::unique_lock lock(mutex);
      for (;;) {
        wake.wait(lock, [&] { return stop || !queue.empty(); });
        if (queue.empty()) return;
        std::string name = queue.front();
        queue.pop_front();
        lock.unlock();
        enum { kStored, kMissing, kFailed } outcome;
        try {
          std::optional<std::string> content = archive.Fetch(name);  // verified
          if (content) {
            WriteFileAtomically(dir + "/" + name, *content, 0600, /*durable=*/false);
            outcome = kStored;
          } else {
            outcome = kMissing;
          }
        } catch (const std::exception& e) {
          // wal-fetch will meet the same problem directly and report it to
          // PostgreSQL; this log is for whoever looks at the spool.
          std::fprintf(stderr, "pgvault prefetch %s: %s\n", name.c_str(), e.what());
          std::fflush(stderr);
          outcome = kFailed;
        }
        lock.lock();
        in_flight.erase(name);
        if (outcome == kMissing) missing[name] = Clock::now();
        if (outcome == kFailed) failed[name] = Clock::now();
      }
    });
  }

  std::string last_want;
  auto last_activity = Clock::now();
  for (;;) {
    std::optional<Want> want = ReadWant(o);
    if (!want || want->repo != o.repo) break;  // restore_command now names another repository
    if (want->name != last_want) {
      last_want = want->name;
      last_activity = Clock::now();
    }
    // The window: the wanted segment (being taken now) and the depth after it.
    WalSegmentId id = ParseWalSegmentName(want->name, want->segment_size);
    std::vector<std::string> window;
    for (int i = 1; i <= o.depth; ++i)
      window.push_back(WalSegmentName(id.timeline, id.segment_number + i, want->segment_size));
    std::set<std::string> keep(window.begin(), window.end());
    keep.insert(want->name);

    std::set<std::string> present;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string f = it->path().filename().string();
      if (f.starts_with(".tmp-")) {
        std::error_code mec;
        auto age = fs::file_time_type::clock::now() - fs::last_write_time(it->path(), mec);
        if (!mec && age > kStaleTemporary) ::unlink(it->path().c_str());
        continue;
      }
      if (keep.count(f)) present.insert(f);
      else ::unlink(it->path().c_str());  // PostgreSQL has moved past it
    }
    {
      std::lock_guard lock(mutex);
      auto now = Clock::now();
      for (const auto& name : window) {
        if (present.count(name) || in_flight.count(name)) continue;
        if (auto m = missing.find(name); m != missing.end() && now - m->second < kRetryMissingAfter) break;
        if (auto f = failed.find(name); f != failed.end() && now - f->second < kRetryFailedAfter) continue;
        in_flight.insert(name);
        queue.push_back(name);
      }
    }
    wake.notify_all();
    if (Clock::now() - last_activity > kIdleExit) break;
    std::this_thread::sleep_for(kScanInterval);
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
    queue.clear();
  }
  wake.notify_all();
  for (auto& t : threads) t.join();
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    ::unlink(it->path().c_str());
}

}  // namespace pgvault
