#include "pg/hot_backup.h"

#include <unistd.h>

#include <random>

#include <fmt/format.h>

#include "core/error.h"
#include "pg/connection.h"

namespace pgvault {

HotBackup::HotBackup(PgConnection& conn) : conn_(conn), version_{conn.server_version()} {
  CheckSupportedServer(version_, conn_.server());
  std::random_device rd;
  slot_ = fmt::format("pgvault_{}_{:08x}", getpid(), rd());
  try {
    conn_.Query("SELECT pg_create_physical_replication_slot($1, true, true)", {slot_});
  } catch (const Error& e) {
    throw Error(fmt::format("cannot create a temporary replication slot on {} to hold WAL during the backup ({}): set "
                            "max_replication_slots to at least 1 more than in use",
                            conn_.server(), e.what()));
  }
}

Lsn HotBackup::Start(const std::string& label, bool fast) {
  std::string sql = version_.has_pg_backup_start() ? "SELECT pg_backup_start($1, $2)::text"
                                                   : "SELECT pg_start_backup($1, $2, false)::text";
  return ParseLsn(conn_.QueryValue(sql, {label, fast ? "true" : "false"}));
}

HotBackup::Stopped HotBackup::Stop(bool wait_for_archive) {
  std::string sql = version_.has_pg_backup_start()
                        ? "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop($1)"
                        : "SELECT lsn::text, labelfile, spcmapfile FROM pg_stop_backup(false, $1)";
  auto rows = conn_.Query(sql, {wait_for_archive ? "true" : "false"});
  if (rows.size() != 1 || rows[0].size() != 3 || !rows[0][0] || !rows[0][1])
    throw Error(fmt::format("{}: the backup stop function returned no stop LSN or backup_label", conn_.server()));
  return {ParseLsn(*rows[0][0]), *rows[0][1], rows[0][2].value_or("")};
}

void HotBackup::DropSlot() { conn_.Query("SELECT pg_drop_replication_slot($1)", {slot_}); }

}  // namespace pgvault
