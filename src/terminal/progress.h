// Progress of a long operation on a terminal: bytes done, rate, ETA, redrawn
// in place on stderr a few times a second. Silent when stderr is not a
// terminal (cron, CI, archive_command), so logs stay clean.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace pgvault {

class ProgressReporter {
 public:
  // `enabled` false: never prints. Otherwise prints only to a terminal.
  ProgressReporter(std::string label, uint64_t total_bytes, bool enabled);
  ~ProgressReporter();  // stops and clears the line

  void Add(uint64_t bytes) { done_.fetch_add(bytes, std::memory_order_relaxed); }
  void SetTotal(uint64_t total) { total_.store(total); }
  void Finish();

 private:
  void Draw(bool final_line);
  std::string label_;
  std::atomic<uint64_t> total_;
  std::atomic<uint64_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  bool active_ = false;
  bool finished_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace pgvault
