// Stopping and starting one PostgreSQL instance of a cluster: pg_ctl as the
// instance's OS user, or its systemd unit. Also reads pg_controldata.
#pragma once

#include <map>
#include <string>

#include "cluster/cluster_spec.h"

namespace pgvault {

// <pgBinDir>/<tool>, by default /usr/lib/postgresql/<PG_VERSION>/bin/<tool>.
std::string PgTool(const InstanceSpec& instance, const std::string& tool);

// Whether a postmaster runs on the data directory (pg_ctl status).
bool InstanceRunning(const InstanceSpec& instance);

// A clean stop (fast mode: sessions are disconnected, a shutdown checkpoint
// is written). Already stopped is fine. Throws when the instance does not
// stop within its stop timeout or is not cleanly shut down afterwards.
void StopInstance(const InstanceSpec& instance);

// Starts the instance (already running is fine) and waits until it accepts
// connections and, when it is a standby (standby.signal), until its WAL
// receiver streams again. `interruptible`: an interrupt (SIGTERM) aborts the
// wait with InterruptedError; cleanup paths pass false.
void StartInstance(const InstanceSpec& instance, bool interruptible);

// pg_controldata as key -> value ("Latest checkpoint's REDO location" ->
// "0/5000028"), for the snapshot's metadata.
std::map<std::string, std::string> ReadControlData(const InstanceSpec& instance);

}  // namespace pgvault
