#include "catalog/catalog.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/timestamp.h"

namespace pgvault {
namespace {

using nlohmann::json;

// Schema migrations, applied in order; PRAGMA user_version counts how many
// have run. Never edit a step that has shipped: append a new one.
const char* const kMigrations[] = {
    R"sql(
      CREATE TABLE backups (
        name        TEXT PRIMARY KEY,
        cluster     TEXT NOT NULL,
        method      TEXT NOT NULL,
        phase       TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        object      TEXT NOT NULL
      );
      CREATE TABLE volume_snapshots (
        name        TEXT PRIMARY KEY,
        cluster     TEXT NOT NULL,
        backup      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        object      TEXT NOT NULL
      );
      CREATE INDEX volume_snapshots_backup ON volume_snapshots(backup);
      CREATE TABLE fences (
        instance    TEXT PRIMARY KEY,
        cluster     TEXT NOT NULL,
        reason      TEXT NOT NULL,
        since       TEXT NOT NULL,
        owner_pid   INTEGER NOT NULL,
        owner_start INTEGER NOT NULL,
        owner_host  TEXT NOT NULL
      );
      CREATE TABLE events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        object_kind TEXT NOT NULL,
        object_name TEXT NOT NULL,
        type        TEXT NOT NULL,
        reason      TEXT NOT NULL,
        message     TEXT NOT NULL
      );
      CREATE INDEX events_object ON events(object_kind, object_name);
    )sql",
    // 2: the declarative API (apply -f) and phase deadlines.
    R"sql(
      CREATE TABLE resources (
        kind        TEXT NOT NULL,
        name        TEXT NOT NULL,
        object      TEXT NOT NULL,
        status      TEXT NOT NULL DEFAULT '{}',
        generation  INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (kind, name)
      );
      ALTER TABLE backups ADD COLUMN phase_since TEXT NOT NULL DEFAULT '';
    )sql",
};

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw Error(fmt::format("catalog: cannot prepare '{}': {}", sql, sqlite3_errmsg(db)));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // True while there is a row.
  bool Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(fmt::format("catalog {}: {} (in: {})", sqlite3_db_filename(db_, "main"), sqlite3_errmsg(db_),
                            sqlite3_sql(stmt_)));
  }
  std::string Text(int col) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

std::string Now() { return FormatTimestamp(std::chrono::system_clock::now()); }

std::string BackupPhase(const json& b) { return b.value("/status/phase"_json_pointer, std::string("pending")); }

FenceRecord ReadFence(Statement& s) {
  FenceRecord f;
  f.instance = s.Text(0);
  f.cluster = s.Text(1);
  f.reason = s.Text(2);
  f.since = s.Text(3);
  f.owner_pid = s.Int(4);
  f.owner_start = static_cast<uint64_t>(s.Int(5));
  f.owner_host = s.Text(6);
  return f;
}

const char* kFenceColumns = "instance, cluster, reason, since, owner_pid, owner_start, owner_host";

}  // namespace

std::string DefaultStateDirectory() {
  if (const char* env = std::getenv("PGVAULT_STATE_DIR"); env && *env) return env;
  if (::geteuid() == 0) return "/var/lib/pgvault";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::string(xdg) + "/pgvault";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/pgvault";
  return "/tmp/pgvault-state";
}

std::unique_ptr<Catalog> Catalog::Open(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec)
    throw Error(fmt::format("cannot create the state directory {} (--state-dir / PGVAULT_STATE_DIR): {}", state_dir,
                            ec.message()));
  std::string path = state_dir + "/catalog.db";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw Error(fmt::format("cannot open the catalog {}: {}", path, message));
  }
  std::unique_ptr<Catalog> catalog(new Catalog(db, path));
  // Several pgvault processes (a backup, `fence off`, `get`) share the file.
  sqlite3_busy_timeout(db, 30000);
  catalog->Exec("PRAGMA journal_mode=WAL");
  catalog->Exec("PRAGMA synchronous=FULL");
  catalog->Migrate();
  return catalog;
}

Catalog::~Catalog() { sqlite3_close(db_); }

void Catalog::Exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error(fmt::format("catalog {}: {}", path_, text));
  }
}

void Catalog::Migrate() {
  Exec("BEGIN IMMEDIATE");
  try {
    Statement version(db_, "PRAGMA user_version");
    version.Step();
    int64_t done = version.Int(0);
    int64_t known = static_cast<int64_t>(std::size(kMigrations));
    if (done > known)
      throw Error(fmt::format("catalog {} has schema version {}, newer than this pgvault knows ({}): upgrade pgvault",
                              path_, done, known));
    for (int64_t i = done; i < known; ++i) Exec(kMigrations[i]);
    if (done != known) Exec(fmt::format("PRAGMA user_version = {}", known));
    Exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Catalog::SaveBackup(const json& b) {
  std::string name = b.at("/metadata/name"_json_pointer).get<std::string>();
  // phase_since moves only when the phase does: the deadline of a phase runs
  // from its start, however often the object is saved meanwhile.
  Statement s(db_,
              "INSERT INTO backups(name, cluster, method, phase, created_at, object, phase_since) "
              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
              "ON CONFLICT(name) DO UPDATE SET object = excluded.object, "
              "phase_since = CASE WHEN backups.phase = excluded.phase THEN backups.phase_since "
              "ELSE excluded.phase_since END, phase = excluded.phase");
  s.Bind(1, name)
      .Bind(2, b.value("/spec/cluster/name"_json_pointer, std::string()))
      .Bind(3, b.value("/spec/method"_json_pointer, std::string()))
      .Bind(4, BackupPhase(b))
      .Bind(5, b.value("/metadata/creationTimestamp"_json_pointer, Now()))
      .Bind(6, b.dump())
      .Bind(7, Now());
  s.Step();
}

std::optional<json> Catalog::LoadBackup(const std::string& name) {
  Statement s(db_, "SELECT object FROM backups WHERE name = ?1");
  s.Bind(1, name);
  if (!s.Step()) return std::nullopt;
  return json::parse(s.Text(0));
}

std::vector<json> Catalog::ListBackups() {
  Statement s(db_, "SELECT object FROM backups ORDER BY created_at, name");
  std::vector<json> out;
  while (s.Step()) out.push_back(json::parse(s.Text(0)));
  return out;
}

void Catalog::DeleteBackup(const std::string& name) {
  Statement s(db_, "DELETE FROM backups WHERE name = ?1");
  s.Bind(1, name);
  s.Step();
}

bool Catalog::ClaimBackup(const std::string& name, const json& owner) {
  Transaction t(*this);
  auto b = LoadBackup(name);
  if (!b || BackupPhase(*b) != "pending") return false;
  (*b)["status"]["phase"] = "started";
  (*b)["status"]["owner"] = owner;
  SaveBackup(*b);
  t.Commit();
  return true;
}

std::string Catalog::BackupPhaseSince(const std::string& name) {
  Statement s(db_, "SELECT phase_since FROM backups WHERE name = ?1");
  s.Bind(1, name);
  return s.Step() ? s.Text(0) : std::string();
}

namespace {
ResourceRecord ReadResource(Statement& s) {
  ResourceRecord r;
  r.kind = s.Text(0);
  r.name = s.Text(1);
  r.object = json::parse(s.Text(2));
  r.status = json::parse(s.Text(3));
  r.generation = s.Int(4);
  r.created_at = s.Text(5);
  r.updated_at = s.Text(6);
  return r;
}
const char* kResourceColumns = "kind, name, object, status, generation, created_at, updated_at";
}  // namespace

std::optional<ResourceRecord> Catalog::LoadResource(const std::string& kind, const std::string& name) {
  Statement s(db_, fmt::format("SELECT {} FROM resources WHERE kind = ?1 AND name = ?2", kResourceColumns));
  s.Bind(1, kind).Bind(2, name);
  if (!s.Step()) return std::nullopt;
  return ReadResource(s);
}

std::vector<ResourceRecord> Catalog::ListResources(const std::string& kind) {
  Statement s(db_, fmt::format("SELECT {} FROM resources WHERE kind = ?1 ORDER BY name", kResourceColumns));
  s.Bind(1, kind);
  std::vector<ResourceRecord> out;
  while (s.Step()) out.push_back(ReadResource(s));
  return out;
}

std::string Catalog::SaveResource(const json& object) {
  std::string kind = object.at("kind").get<std::string>();
  std::string name = object.at("/metadata/name"_json_pointer).get<std::string>();
  auto existing = LoadResource(kind, name);
  if (existing && existing->object == object) return "unchanged";
  std::string now = Now();
  Statement s(db_,
              "INSERT INTO resources(kind, name, object, status, generation, created_at, updated_at) "
              "VALUES(?1, ?2, ?3, '{}', 1, ?4, ?4) "
              "ON CONFLICT(kind, name) DO UPDATE SET object = excluded.object, generation = resources.generation + 1, "
              "updated_at = excluded.updated_at");
  s.Bind(1, kind).Bind(2, name).Bind(3, object.dump()).Bind(4, now);
  s.Step();
  return existing ? "configured" : "created";
}

void Catalog::SaveResourceStatus(const std::string& kind, const std::string& name, const json& status) {
  Statement s(db_, "UPDATE resources SET status = ?3 WHERE kind = ?1 AND name = ?2");
  s.Bind(1, kind).Bind(2, name).Bind(3, status.dump());
  s.Step();
}

bool Catalog::DeleteResource(const std::string& kind, const std::string& name) {
  Statement s(db_, "DELETE FROM resources WHERE kind = ?1 AND name = ?2");
  s.Bind(1, kind).Bind(2, name);
  s.Step();
  return sqlite3_changes(db_) > 0;
}

Catalog::Transaction::Transaction(Catalog& catalog) : catalog_(catalog) { catalog_.Exec("BEGIN IMMEDIATE"); }

Catalog::Transaction::~Transaction() {
  if (!done_) sqlite3_exec(catalog_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Catalog::Transaction::Commit() {
  catalog_.Exec("COMMIT");
  done_ = true;
}

void Catalog::SaveSnapshot(const json& snap) {
  Statement s(db_,
              "INSERT INTO volume_snapshots(name, cluster, backup, created_at, object) VALUES(?1, ?2, ?3, ?4, ?5) "
              "ON CONFLICT(name) DO UPDATE SET object = excluded.object");
  s.Bind(1, snap.at("/metadata/name"_json_pointer).get<std::string>())
      .Bind(2, snap.value("/spec/cluster"_json_pointer, std::string()))
      .Bind(3, snap.value("/spec/backup"_json_pointer, std::string()))
      .Bind(4, snap.value("/status/creationTime"_json_pointer, Now()))
      .Bind(5, snap.dump());
  s.Step();
}

std::optional<json> Catalog::LoadSnapshot(const std::string& name) {
  Statement s(db_, "SELECT object FROM volume_snapshots WHERE name = ?1");
  s.Bind(1, name);
  if (!s.Step()) return std::nullopt;
  return json::parse(s.Text(0));
}

std::vector<json> Catalog::ListSnapshots() {
  Statement s(db_, "SELECT object FROM volume_snapshots ORDER BY created_at, name");
  std::vector<json> out;
  while (s.Step()) out.push_back(json::parse(s.Text(0)));
  return out;
}

void Catalog::DeleteSnapshot(const std::string& name) {
  Statement s(db_, "DELETE FROM volume_snapshots WHERE name = ?1");
  s.Bind(1, name);
  s.Step();
}

std::optional<FenceRecord> Catalog::AddFence(const FenceRecord& f) {
  Exec("BEGIN IMMEDIATE");
  try {
    Statement check(db_, fmt::format("SELECT {} FROM fences WHERE instance = ?1", kFenceColumns));
    check.Bind(1, f.instance);
    if (check.Step()) {
      FenceRecord existing = ReadFence(check);
      Exec("ROLLBACK");
      return existing;
    }
    Statement s(db_, "INSERT INTO fences(instance, cluster, reason, since, owner_pid, owner_start, owner_host) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    s.Bind(1, f.instance)
        .Bind(2, f.cluster)
        .Bind(3, f.reason)
        .Bind(4, f.since)
        .Bind(5, f.owner_pid)
        .Bind(6, static_cast<int64_t>(f.owner_start))
        .Bind(7, f.owner_host);
    s.Step();
    Exec("COMMIT");
    return std::nullopt;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::optional<FenceRecord> Catalog::LoadFence(const std::string& instance) {
  Statement s(db_, fmt::format("SELECT {} FROM fences WHERE instance = ?1", kFenceColumns));
  s.Bind(1, instance);
  if (!s.Step()) return std::nullopt;
  return ReadFence(s);
}

std::vector<FenceRecord> Catalog::ListFences() {
  Statement s(db_, fmt::format("SELECT {} FROM fences ORDER BY instance", kFenceColumns));
  std::vector<FenceRecord> out;
  while (s.Step()) out.push_back(ReadFence(s));
  return out;
}

void Catalog::RemoveFence(const std::string& instance) {
  Statement s(db_, "DELETE FROM fences WHERE instance = ?1");
  s.Bind(1, instance);
  s.Step();
}

void Catalog::AddEvent(const std::string& object_kind, const std::string& object_name, const std::string& type,
                       const std::string& reason, const std::string& message) {
  Statement s(db_, "INSERT INTO events(at, object_kind, object_name, type, reason, message) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  s.Bind(1, Now()).Bind(2, object_kind).Bind(3, object_name).Bind(4, type).Bind(5, reason).Bind(6, message);
  s.Step();
}

namespace {
std::vector<EventRecord> ReadEvents(Statement& s) {
  std::vector<EventRecord> out;
  while (s.Step()) {
    EventRecord e;
    e.id = s.Int(0);
    e.at = s.Text(1);
    e.object_kind = s.Text(2);
    e.object_name = s.Text(3);
    e.type = s.Text(4);
    e.reason = s.Text(5);
    e.message = s.Text(6);
    out.push_back(std::move(e));
  }
  return out;
}
}  // namespace

std::vector<EventRecord> Catalog::Events(const std::string& object_kind, const std::string& object_name) {
  Statement s(db_, "SELECT id, at, object_kind, object_name, type, reason, message FROM events "
                   "WHERE object_kind = ?1 AND object_name = ?2 ORDER BY id");
  s.Bind(1, object_kind).Bind(2, object_name);
  return ReadEvents(s);
}

std::vector<EventRecord> Catalog::AllEvents() {
  Statement s(db_, "SELECT id, at, object_kind, object_name, type, reason, message FROM events ORDER BY id");
  return ReadEvents(s);
}

}  // namespace pgvault
