// Crash-point hooks for tests. When PGVAULT_TEST_PAUSE_AT names `point`,
// pgvault prints "pgvault: paused at <point>" to stderr and stops itself
// (SIGSTOP), so a test can kill -9 it at exactly that step of a commit
// protocol, or change the world and resume it with SIGCONT. Without the
// variable this is one getenv per call and nothing else.
#pragma once

namespace pgvault {

void TestPausePoint(const char* point);

// Test-only slow storage: sleeps PGVAULT_TEST_STORAGE_DELAY_MS milliseconds
// (when set) before an object is committed, so that tests can show what a
// slow object store does to archiving.
void TestStorageDelay();

// Test-only slow removal: sleeps PGVAULT_TEST_REMOVE_DELAY_MS milliseconds
// (when set) before each object a directory repository removes, so that
// bench/fault-campaign's kills land between the removals of `wal expire`
// and `repo gc` (on a fast disk they finish before any kill could).
void TestRemoveDelay();

}  // namespace pgvault
