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

std::string LockPath(const AsyncArchiveOptions& o) { return o.spool + "/worker.lock"; }
std::string DonePath(const AsyncArchiveOptions& o, const std::string& name) { return o.spool + "/done/" + name; }
std::string ErrorPath(const AsyncArchiveOptions& o, const std::string& name) { return o.spool + "/error/" + name; }

void PrepareSpool(const AsyncArchiveOptions& o) {
  std::error_code ec;
  for (const char* sub : {"done", "error"}) {
    fs::create_directories(o.spool + "/" + sub, ec);
    if (ec) throw Error(fmt::format("cannot create the spool directory {}/{}: {}", o.spool, sub, ec.message()));
  }
}

void EnsureWorker(const AsyncArchiveOptions& o) {
  StartDetachedUnlessRunning(LockPath(o), o.spool + "/worker.log", [&] { RunAsyncArchiveWorker(o); });
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

  auto last_work = Clock::now();
  for (;;) {
    std::vector<std::string> ready;
    std::error_code ec;
    for (auto it = fs::directory_iterator(o.wal_dir + "/archive_status", ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      std::string f = it->path().filename().string();
      if (f.ends_with(".ready")) ready.push_back(f.substr(0, f.size() - 6));
    }
    std::sort(ready.begin(), ready.end());
    size_t unacknowledged = 0;
    for (auto it = fs::directory_iterator(o.spool + "/done", ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
      ++unacknowledged;
    {
      std::lock_guard lock(mutex);
      for (const auto& name : ready) {
        if (in_flight.count(name) || pushed.count(name) || !ClassifyWalFileName(name)) continue;
        auto f = failed.find(name);
        if (f != failed.end() && Clock::now() - f->second < kRetryFailedAfter) continue;
        // The bounded queue: never run further ahead of PostgreSQL than this.
        if (unacknowledged + in_flight.size() >= static_cast<size_t>(o.queue_max)) break;
        in_flight.insert(name);
        queue.push_back(name);
        last_work = Clock::now();
      }
      if (!in_flight.empty()) last_work = Clock::now();
    }
    wake.notify_all();
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
