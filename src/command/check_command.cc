#include "command/check_command.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "pg/connection.h"
#include "repo/repository.h"
#include "storage/storage.h"
#include "wal/wal_archive.h"

namespace pgvault {

bool CheckResult::ok() const {
  for (const auto& f : findings)
    if (f.level == "error") return false;
  return true;
}

CheckResult RunCheck(const CheckOptions& options) {
  if (options.conninfo.empty()) throw UsageError("--pg is required: a libpq connection string to the server");
  CheckResult result;
  auto add = [&](const char* level, std::string message) { result.findings.push_back({level, std::move(message)}); };
  auto repo = Repository::Open(OpenStorage(options.repo));
  PgConnection conn(options.conninfo);
  auto setting = [&](const char* name) { return conn.QueryValue(fmt::format("SELECT current_setting('{}')", name)); };

  uint64_t sysid = std::stoull(conn.QueryValue("SELECT system_identifier::text FROM pg_control_system()"));
  auto bound = repo->config().system_identifier;
  if (bound && *bound != sysid)
    add("error", fmt::format("the server's system identifier is {}, but repository {} belongs to cluster {}", sysid,
                             repo->Describe(), *bound));
  else
    add("ok", fmt::format("system identifier {} {}", sysid, bound ? "matches the repository" : "(repository not yet bound)"));

  std::string wal_level = setting("wal_level");
  if (wal_level == "minimal")
    add("error", "wal_level is minimal: set wal_level = replica (or logical) and restart; WAL cannot be archived");
  else
    add("ok", "wal_level = " + wal_level);

  bool in_recovery = conn.QueryValue("SELECT pg_is_in_recovery()::text") == "true";
  std::string archive_mode = setting("archive_mode");
  if (archive_mode == "off" || (in_recovery && archive_mode != "always"))
    add(in_recovery ? "warning" : "error",
        fmt::format("archive_mode = {}: {}", archive_mode,
                    in_recovery ? "this standby does not archive; the primary must (or set archive_mode = always)"
                                : "set archive_mode = on and restart"));
  else
    add("ok", "archive_mode = " + archive_mode);

  std::string archive_command = setting("archive_command");
  if (archive_command.find("wal-push") == std::string::npos)
    add("error", fmt::format("archive_command ('{}') does not run pgvault wal-push: set archive_command = 'pgvault "
                             "wal-push --repo {} %p'",
                             archive_command, repo->Describe()));
  else if (archive_command.find(repo->Describe()) == std::string::npos)
    add("warning", fmt::format("archive_command ('{}') does not name this repository ({})", archive_command,
                               repo->Describe()));
  else
    add("ok", "archive_command = '" + archive_command + "'");

  int archive_timeout = std::stoi(conn.QueryValue("SELECT setting FROM pg_settings WHERE name = 'archive_timeout'"));
  if (archive_timeout == 0)
    add("warning", fmt::format("archive_timeout = 0: on a quiet server a segment may wait indefinitely before it is "
                               "archived; set archive_timeout to at most {}s for an RPO under {} minutes",
                               options.rpo_seconds, options.rpo_seconds / 60));
  else if (archive_timeout > options.rpo_seconds)
    add("warning", fmt::format("archive_timeout = {}s: the RPO on a quiet server exceeds {} minutes", archive_timeout,
                               options.rpo_seconds / 60));
  else
    add("ok", fmt::format("archive_timeout = {}s", archive_timeout));

  if (!result.ok()) return result;
  if (in_recovery) {
    add("warning", "this server is a standby: cannot force a WAL switch to test archiving; run check on the primary");
    return result;
  }
  // The real test: a segment switch must reach the repository.
  // A switch with nothing written since the last one does nothing and names
  // an old segment: write a record first.
  conn.Query("SELECT pg_logical_emit_message(false, 'pgvault', 'check')");
  std::string segment = conn.QueryValue("SELECT pg_walfile_name(pg_switch_wal())");
  WalArchive archive(repo->storage(), sysid);
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + std::chrono::seconds(options.timeout_seconds);
  while (!archive.Stat(segment)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string failure;
      auto rows = conn.Query("SELECT coalesce(last_failed_wal, ''), coalesce(last_failed_time::text, '') FROM "
                             "pg_stat_archiver");
      if (!rows.empty() && !rows[0][0].value_or("").empty())
        failure = fmt::format(" (pg_stat_archiver: last failure {} at {}; see the server log)", *rows[0][0],
                              rows[0][1].value_or(""));
      add("error", fmt::format("segment {} did not arrive in {} within {}s after pg_switch_wal(){}", segment,
                               repo->Describe(), options.timeout_seconds, failure));
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  add("ok", fmt::format("segment {} archived into {} {:.1f}s after pg_switch_wal()", segment, repo->Describe(), seconds));
  return result;
}

}  // namespace pgvault
