// Runs `jobs` workers over a shared work counter. The first exception thrown by
// any worker stops the others (they check `stop`) and is rethrown to the caller,
// so a failed chunk never leaves threads running behind a returned error.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pgvault {

// Calls `work(worker_index, item_index)` for every item in [0, count), spread
// over `jobs` threads. Items are handed out in order.
inline void ParallelFor(size_t jobs, size_t count, const std::function<void(size_t, size_t)>& work) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto run = [&](size_t worker) {
    for (;;) {
      if (stop.load()) return;
      size_t item = next.fetch_add(1);
      if (item >= count) return;
      try {
        work(worker, item);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
        return;
      }
    }
  };
  if (jobs <= 1) {
    run(0);
  } else {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < jobs; ++i) threads.emplace_back(run, i);
    for (auto& t : threads) t.join();
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace pgvault
