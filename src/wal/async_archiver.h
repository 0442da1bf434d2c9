// Asynchronous, parallel WAL archiving (wal-push --async), in the manner of
// pgBackRest's archive-async and CloudNativePG's wal.maxParallel.
//
// PostgreSQL calls archive_command once per segment and waits for it. With a
// slow store that serialises archiving at one round trip per segment. Here a
// background worker pushes every segment PostgreSQL has marked ready
// (pg_wal/archive_status/*.ready) with several threads, and records each
// one that is durable in the repository in a spool directory:
//
//   <spool>/worker.lock      flock held by the running worker
//   <spool>/done/<name>      durable in the repository; not yet acknowledged
//   <spool>/error/<name>     the worker failed on it: the message
//
// Markers for files no longer .ready (PostgreSQL archived them some other
// way, e.g. while archive_command was synchronous) are removed by the worker:
// PostgreSQL will never ask about them, and they must not fill the queue.
//
// The archive_command call for a segment starts the worker if none runs,
// then waits for done/<name>, removes it and returns success. It never
// acknowledges a segment the worker has not committed: done/ is written only
// after the repository's commit returned. If the worker dies, the next call
// starts another one; pushing a segment twice is harmless (same content).
#pragma once

#include <string>

#include "compress/codec.h"

namespace pgvault {

struct AsyncArchiveOptions {
  std::string repo;
  std::string spool;     // the spool directory
  std::string wal_dir;   // pg_wal of the server (where archive_status is)
  Codec codec = Codec::kZstd;
  int compress_level = 1;
  int jobs = 4;          // parallel pushes
  int queue_max = 64;    // segments pushed ahead and not yet acknowledged, at most
  int wait_seconds = 60; // how long archive_command waits for its segment
};

// archive_command side: returns once `name` is durable in the repository,
// throws Error when the worker reported a failure for it or it did not
// arrive in time (PostgreSQL retries the call later).
void AsyncPushAndWait(const AsyncArchiveOptions& options, const std::string& name);

// The worker's main loop (runs in the detached child); returns when there
// has been nothing to do for a while.
void RunAsyncArchiveWorker(const AsyncArchiveOptions& options);

}  // namespace pgvault
