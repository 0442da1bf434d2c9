#include "core/interruption.h"

#include <signal.h>
#include <string.h>

#include <atomic>

#include <fmt/format.h>

namespace pgvault {
namespace {

std::atomic<int> g_signal{0};

void OnSignal(int sig) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
}

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

int InterruptSignal() { return g_signal.load(); }

void ThrowIfInterrupted(const char* doing) {
  int sig = g_signal.load();
  if (sig != 0) throw InterruptedError(sig, fmt::format("interrupted by SIG{} while {}", sigabbrev_np(sig), doing));
}

}  // namespace pgvault
