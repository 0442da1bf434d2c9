// Real PostgreSQL servers for tests: initdb --data-checksums, a free
// loopback port, a private socket directory; a primary and streaming
// standbys; pgbench. Servers are stopped (immediate) when the object dies,
// so a failing test never leaves one running. PostgreSQL 15 is Debian's;
// the other majors are the npm registry's server binaries that scripts/setup
// installs (scripts/postgres-servers): they have no client tools, and
// Debian's 15 (psql, pgbench, libpq) talk to all of them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "support/subprocess.h"

namespace pgvault::test {

std::string PgBin(const std::string& tool);  // /usr/lib/postgresql/15/bin/<tool>
// initdb, pg_ctl or postgres of PostgreSQL `major` (14 to 18).
std::string PgServerBin(int major, const std::string& tool);
// Whether the server binaries of `major` are installed here.
bool HavePgServer(int major);
int FreePort();

class PgCluster {
 public:
  // Creates (initdb) a new cluster in `datadir`, not started.
  static std::unique_ptr<PgCluster> Create(const std::string& datadir, const std::vector<std::string>& extra_conf = {},
                                           bool data_checksums = true, int major = 15);
  // Adopts an existing data directory (e.g. a restored one) with a new port.
  static std::unique_ptr<PgCluster> Adopt(const std::string& datadir, int major = 15);
  // A streaming standby of `primary` (pg_basebackup -R), started.
  // `tablespace_mapping`: "OLDDIR=NEWDIR" entries (a standby on the same host
  // needs its own tablespace directories).
  // `extra_args`: more pg_basebackup arguments (e.g. "--waldir=DIR").
  static std::unique_ptr<PgCluster> CreateStandby(PgCluster& primary, const std::string& datadir,
                                                  const std::vector<std::string>& tablespace_mapping = {},
                                                  const std::vector<std::string>& extra_args = {});
  ~PgCluster();

  void Start();
  void Stop(const std::string& mode = "fast");
  bool running() const { return running_; }
  const std::string& datadir() const { return datadir_; }
  int port() const { return port_; }
  int major() const { return major_; }
  std::string Conninfo(const std::string& db = "postgres") const;
  std::string LogPath() const { return datadir_ + ".log"; }
  std::string Log() const;

  std::vector<SqlRow> Query(const std::string& sql, const std::string& db = "postgres");
  std::string Value(const std::string& sql, const std::string& db = "postgres");
  void Exec(const std::string& sql, const std::string& db = "postgres") { Query(sql, db); }

  void PgbenchInit(int scale);
  // pgbench TPC-B load for `seconds` in the background.
  std::unique_ptr<BackgroundProcess> StartPgbenchLoad(int seconds, int clients = 2);
  // Waits until a standby has replayed everything the primary has written.
  void WaitForReplay(PgCluster& standby);

 private:
  PgCluster(std::string datadir, int port, int major = 15)
      : datadir_(std::move(datadir)), port_(port), major_(major) {}
  void AppendConf(const std::vector<std::string>& lines);
  std::string ServerBin(const std::string& tool) const { return PgServerBin(major_, tool); }
  std::string datadir_;
  std::string socket_dir_;
  int port_;
  int major_;
  bool running_ = false;
};

// Content checksum of a table: row count and an order-independent 64-bit
// hash sum over every row's text form.
std::string TableChecksum(PgCluster& pg, const std::string& table, const std::string& db = "postgres");

}  // namespace pgvault::test
