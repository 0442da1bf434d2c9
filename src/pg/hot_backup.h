// The hot-backup protocol on a running server, written once for the
// repository backup (command/backup_command.cc) and the volume-snapshot
// backup (command/snapshot_backup_command.cc):
//
//   1. a temporary physical replication slot on the backup's session keeps
//      every WAL segment from the start on until the backup has what it
//      needs, however busy the server is; it vanishes with the session, even
//      if pgvault is killed;
//   2. Start: pg_backup_start (pg_start_backup before PostgreSQL 15, in its
//      non-exclusive form), which ends with a checkpoint;
//   3. the caller copies or snapshots the files;
//   4. Stop: pg_backup_stop (pg_stop_backup), which hands back the
//      backup_label and tablespace_map the copy must hold;
//   5. the caller waits for the last segment in the archive
//      (WalArchive::WaitUntilArchived) and drops the slot.
//
// The session must stay open from Start to Stop: a non-exclusive backup
// ends with its session.
#pragma once

#include <string>

#include "pg/lsn.h"
#include "pg/server_version.h"

namespace pgvault {

class PgConnection;

class HotBackup {
 public:
  // Refuses a server of an unsupported version (CheckSupportedServer) and
  // creates the slot. `conn` must outlive this object.
  explicit HotBackup(PgConnection& conn);

  const ServerVersion& version() const { return version_; }
  const std::string& slot() const { return slot_; }

  // Starts the backup; `fast` asks for an immediate checkpoint instead of a
  // spread one. Returns the start LSN.
  Lsn Start(const std::string& label, bool fast);

  struct Stopped {
    Lsn lsn = 0;
    std::string backup_label;
    std::string tablespace_map;
  };
  // Ends the backup. `wait_for_archive`: the server waits until its last
  // segment is archived (a primary only; a standby never waits).
  Stopped Stop(bool wait_for_archive);

  // Drops the slot once the backup has the WAL it needs (the end of the
  // session would, too).
  void DropSlot();

 private:
  PgConnection& conn_;
  ServerVersion version_;
  std::string slot_;
};

}  // namespace pgvault
