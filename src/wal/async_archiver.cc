#include "wal/async_archiver.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/detached_process.h"
#include "core/error.h"
#include "core/posix_io.h"
#include "core/unique_fd.h"
#include "pg/wal_segment.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kIdleExit = std::chrono::seconds(3);
constexpr auto kScanInterval = std::chrono::milliseconds(20);
constexpr auto kRetryFailedAfter = std::chrono::seconds(5);
// A segment pushed, its marker gone (acknowledged) but still .ready this long
// later: the archive_command that took the marker did not get its success to
// PostgreSQL (killed after the unlink). Pushed again so that the retried
// call finds a marker.
constexpr auto kRepushUnclaimedAfter = std::chrono::seconds(5);
// How often a long-running worker looks for abandoned temporary files in the
// repository's wal/ area (it also does at its start).
constexpr auto kAbandonedWalWritesInterval = std::chrono::hours(1);
// A temporary file in the spool is written and renamed in microseconds; one
// this old was left by a killed process.
constexpr auto kAbandonedSpoolTemporary = std::chrono::hours(1);

std::string LockPath(const AsyncArchiveOptions& o) { return o.spool + "/worker.lock"; }
std::string DonePath(const AsyncArchiveOptions& o, const std::string& name) { return o.spool + "/done/" + name; }
std::string ErrorPath(const AsyncArchiveOptions& o, const std::string& name) { return o.spool + "/error/" + name; }

void PrepareSpool(const AsyncArchiveOptions& o) {
  for (const char* sub : {"done", "error"}) CreatePrivateDirectories(o.spool + "/" + sub);
}

void EnsureWorker(const AsyncArchiveOptions& o) {
  StartDetachedUnlessRunning(LockPath(o), o.spool + "/worker.log", [&] { RunAsyncArchiveWorker(o); });
}

// The files PostgreSQL has yet to archive (pg_wal/archive_status/*.ready),
// in the order its archiver takes them (PostgreSQL 15, pgarch.c): timeline
// history files first, then by name, oldest first.
std::vector<std::string> ReadyFiles(const AsyncArchiveOptions& o) {
  std::vector<std::string> ready;
  std::error_code ec;
  for (auto it = fs::directory_iterator(o.wal_dir + "/archive_status", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string f = it->path().filename().string();
    if (f.ends_with(".ready")) ready.push_back(f.substr(0, f.size() - 6));
  }
  auto history = [](const std::string& name) { return ClassifyWalFileName(name) == WalFileKind::kHistory; };
  std::sort(ready.begin(), ready.end(), [&](const std::string& a, const std::string& b) {
    if (history(a) != history(b)) return history(a);
    return a < b;
  });
  return ready;
}

// The markers in `dir` (done/ or error/) for files PostgreSQL still has to
// archive; removes the others. A marker is written only for a file that was
// .ready, and PostgreSQL turns .ready into .done only once an archive_command
// for it succeeded, never back: a marker whose file is no longer .ready is
// for a file PostgreSQL is done with (archived by a synchronous wal-push
// while archive_command was switched, or acknowledged and the marker's
// removal lost) and will never ask about again. Left alone, such markers
// would count against --async-queue-max for good. `ready` must be read
// before the directory is, so that a file acknowledged in between counts as
// done. Temporary files of killed processes go once old.
std::set<std::string> SweepMarkers(const std::string& dir, const std::set<std::string>& ready) {
  std::set<std::string> live;
  size_t removed = 0;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with(".tmp-")) {
      std::error_code time_ec;
      auto modified = it->last_write_time(time_ec);
      if (!time_ec && now - modified > kAbandonedSpoolTemporary) ::unlink(it->path().c_str());
      continue;
    }
    if (ready.count(name)) {
      live.insert(name);
    } else if (::unlink(it->path().c_str()) == 0) {
      ++removed;
    }
  }
  if (removed > 0)
    spdlog::info("removed {} marker(s) in {} for WAL files PostgreSQL has already archived", removed, dir);
  return live;
}

void RemoveAbandonedWalWrites(Repository& repo) {
  try {
    if (size_t n = repo.RemoveAbandonedWalWrites(); n > 0)
      spdlog::info("removed {} temporary file(s) left in the WAL area of {} by interrupted pushes", n,
                   repo.Describe());
  } catch (const Error& e) {
    spdlog::warn("cannot remove temporary files left by interrupted WAL pushes: {}", e.what());
  }
}

}  // namespace

void AsyncPushAndWait(const AsyncArchiveOptions& o, const std::string& name) {
  PrepareSpool(o);
  auto deadline = Clock::now() + std::chrono::seconds(o.wait_seconds);
  auto next_worker_check = Clock::now();
  for (;;) {
    if (::unlink(DonePath(o, name).c_str()) == 0) return;  // durable: acknowledge
    std::string error;
    try {
      error = ReadWholeFile(ErrorPath(o, name));
    } catch (const Error&) {
    }
    if (!error.empty()) {
      ::unlink(ErrorPath(o, name).c_str());
      throw Error(error);
    }
    if (Clock::now() >= next_worker_check) {
      EnsureWorker(o);
      next_worker_check = Clock::now() + std::chrono::milliseconds(500);
    }
    if (Clock::now() >= deadline)
      throw Error(fmt::format("{} was not archived by the asynchronous worker within {}s (see {}/worker.log); "
                              "PostgreSQL will retry",
                              name, o.wait_seconds, o.spool));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void RunAsyncArchiveWorker(const AsyncArchiveOptions& o) {
  auto repo = Repository::Open(OpenStorage(o.repo));
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> queue;
  std::set<std::string> in_flight, pushed;
  std::map<std::string, Clock::time_point> failed;
  bool stop = false;
  std::mutex bind_mutex;

  auto push_one = [&](const std::string& name) {
    try {
      std::string content = ReadWholeFile(o.wal_dir + "/" + name);
      uint64_t sysid;
      {
        // The first segment binds an unbound repository under its writer
        // lock: one thread at a time, or the others find the lock taken.
        std::lock_guard bind_lock(bind_mutex);
        sysid = BindRepositoryForWal(*repo, name, content);
      }
      WalArchive archive(repo->storage(), sysid);
      archive.Push(name, content, o.codec, o.compress_level);
      // Only now, with the commit returned, may PostgreSQL hear of it.
      WriteFileAtomically(DonePath(o, name), "", 0600, /*durable=*/false);
      return true;
    } catch (const std::exception& e) {
      WriteFileAtomically(ErrorPath(o, name), e.what(), 0600, /*durable=*/false);
      return false;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, o.jobs); ++i) {
    threads.emplace_back([&] {
      std::unique_lock lock(mutex);
      for (;;) {
        wake.wait(lock, [&] { return stop || !queue.empty(); });
        if (queue.empty()) return;
        std::string name = queue.front();
        queue.pop_front();
        lock.unlock();
        bool ok = push_one(name);
        lock.lock();
        in_flight.erase(name);
        if (ok) pushed.insert(name);
        else failed[name] = Clock::now();
      }
    });
  }

  RemoveAbandonedWalWrites(*repo);
  auto last_wal_sweep = Clock::now();
  std::map<std::string, Clock::time_point> unclaimed;  // pushed, marker taken, still .ready: since when
  auto last_work = Clock::now();
  for (;;) {
    std::vector<std::string> ready = ReadyFiles(o);
    std::set<std::string> ready_set(ready.begin(), ready.end());
    std::set<std::string> done = SweepMarkers(o.spool + "/done", ready_set);
    SweepMarkers(o.spool + "/error", ready_set);
    {
      std::lock_guard lock(mutex);
      // Forget what PostgreSQL is done with; push again what was
      // acknowledged but is still .ready long after (see kRepushUnclaimedAfter).
      for (auto it = pushed.begin(); it != pushed.end();) {
        if (!ready_set.count(*it)) {
          unclaimed.erase(*it);
          it = pushed.erase(it);
          continue;
        }
        if (done.count(*it)) {
          unclaimed.erase(*it);
        } else if (auto [u, fresh] = unclaimed.emplace(*it, Clock::now());
                   !fresh && Clock::now() - u->second > kRepushUnclaimedAfter) {
          unclaimed.erase(u);
          it = pushed.erase(it);
          continue;
        }
        ++it;
      }
      for (auto it = failed.begin(); it != failed.end();)
        it = ready_set.count(it->first) ? std::next(it) : failed.erase(it);
      // The first file not yet pushed is the one PostgreSQL asks about now
      // (or next): it goes whatever the queue holds, or a file that failed
      // once, with later ones pushed meanwhile up to the limit, would wait
      // behind markers PostgreSQL only claims after it.
      bool first = true;
      for (const auto& name : ready) {
        if (done.count(name) || pushed.count(name)) continue;
        if (in_flight.count(name)) {
          first = false;
          continue;
        }
        if (!ClassifyWalFileName(name)) continue;
        auto f = failed.find(name);
        if (f != failed.end() && Clock::now() - f->second < kRetryFailedAfter) {
          first = false;
          continue;
        }
        // The bounded queue: never run further ahead of PostgreSQL than this.
        if (!first && done.size() + in_flight.size() >= static_cast<size_t>(o.queue_max)) break;
        first = false;
        in_flight.insert(name);
        queue.push_back(name);
        last_work = Clock::now();
      }
      if (!in_flight.empty()) last_work = Clock::now();
    }
    wake.notify_all();
    if (Clock::now() - last_wal_sweep > kAbandonedWalWritesInterval) {
      RemoveAbandonedWalWrites(*repo);
      last_wal_sweep = Clock::now();
    }
    if (Clock::now() - last_work > kIdleExit) break;
    std::this_thread::sleep_for(kScanInterval);
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  wake.notify_all();
  for (auto& t : threads) t.join();
}

}  // namespace pgvault
