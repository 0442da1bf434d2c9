#include "terminal/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "core/byte_size.h"
#include "core/timestamp.h"

namespace pgvault {

ProgressReporter::ProgressReporter(std::string label, uint64_t total_bytes, bool enabled)
    : label_(std::move(label)), total_(total_bytes), start_(std::chrono::steady_clock::now()) {
  active_ = enabled && ::isatty(STDERR_FILENO);
  if (!active_) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!finished_) {
      wake_.wait_for(lock, std::chrono::milliseconds(250));
      if (!finished_) Draw(false);
    }
  });
}

ProgressReporter::~ProgressReporter() { Finish(); }

void ProgressReporter::Finish() {
  if (!active_) return;
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
  }
  wake_.notify_all();
  thread_.join();
  Draw(true);
}

void ProgressReporter::Draw(bool final_line) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  uint64_t done = done_.load(), total = total_.load();
  double rate = elapsed > 0 ? done / elapsed : 0;
  std::string eta = "--";
  if (rate > 0 && total > done) eta = FormatDuration((total - done) / rate);
  double percent = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  std::string line = fmt::format("{}: {} / {} ({:.0f}%)  {}/s  ETA {}", label_, FormatBytes(done), FormatBytes(total),
                                 percent > 100 ? 100.0 : percent, FormatBytes(static_cast<uint64_t>(rate)), eta);
  if (final_line) line = fmt::format("{}: {} in {} ({}/s)", label_, FormatBytes(done), FormatDuration(elapsed),
                                     FormatBytes(static_cast<uint64_t>(rate)));
  std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace pgvault
