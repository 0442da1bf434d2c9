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

}  // namespace pgvault
