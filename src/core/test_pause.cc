#include "core/test_pause.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pgvault {

void TestPausePoint(const char* point) {
  const char* wanted = std::getenv("PGVAULT_TEST_PAUSE_AT");
  if (wanted == nullptr || std::strcmp(wanted, point) != 0) return;
  std::fprintf(stderr, "pgvault: paused at %s\n", point);
  std::fflush(stderr);
  ::raise(SIGSTOP);
}

void TestStorageDelay() {
  const char* ms = std::getenv("PGVAULT_TEST_STORAGE_DELAY_MS");
  if (ms != nullptr && std::atoi(ms) > 0) ::usleep(static_cast<useconds_t>(std::atoi(ms)) * 1000);
}

void TestRemoveDelay() {
  const char* ms = std::getenv("PGVAULT_TEST_REMOVE_DELAY_MS");
  if (ms != nullptr && std::atoi(ms) > 0) ::usleep(static_cast<useconds_t>(std::atoi(ms)) * 1000);
}

}  // namespace pgvault
