// libFuzzer target: CronSchedule::Parse (and Next), a ScheduledBackup's schedule. Byte 0 picks the zone from a fixed list (a zone name is not untrusted path data here), the rest is the expression.
#include "controller/cron_schedule.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* kZones[] = {"", "UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"};
  std::string zone = kZones[data[0] % (sizeof(kZones) / sizeof(kZones[0]))];
  std::string expression(reinterpret_cast<const char*>(data + 1), size - 1);
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] {
    auto schedule = pgvault::CronSchedule::Parse(expression, zone);
    schedule.Next(std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 56));
  });
  return 0;
}
