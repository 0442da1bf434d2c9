// libFuzzer target: ParseRecoveryTarget, restore's --target-* options. Fields cut at NUL: time, lsn, xid, name, timeline, action, then a flags byte (immediate, exclusive).
#include "command/recovery_target.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = pgvault::fuzz::Fields(data, size, 7);
  pgvault::RecoveryTargetOptions options;
  options.time = f[0];
  options.lsn = f[1];
  options.xid = f[2];
  options.name = f[3];
  options.timeline = f[4];
  options.action = f[5];
  options.immediate = !f[6].empty() && (f[6][0] & 1);
  options.exclusive = !f[6].empty() && (f[6][0] & 2);
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::ParseRecoveryTarget(options); });
  return 0;
}
