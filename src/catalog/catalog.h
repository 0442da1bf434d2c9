// The catalog: pgvault's own state (backups taken through a cluster file,
// volume snapshots, fences, events) in an embedded SQLite database,
// <state dir>/catalog.db. Every change is one transaction, so a crash leaves
// either the old or the new state. The repository and the snapshots' own
// metadata files stay the source of truth for data: the catalog can be lost
// and every snapshot is still restorable from the JSON beside it.
//
// Records are JSON objects shaped like the CloudNativePG resources they
// mirror (Backup, VolumeSnapshot); a few columns are copied out for queries.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace pgvault {

// --state-dir / PGVAULT_STATE_DIR, else /var/lib/pgvault as root, else
// $XDG_STATE_HOME/pgvault (~/.local/state/pgvault).
std::string DefaultStateDirectory();

struct FenceRecord {
  std::string cluster;
  std::string instance;
  std::string reason;       // "backup NAME" or "fence on"
  std::string since;        // RFC 3339
  int64_t owner_pid = 0;    // 0: set by `fence on` (held until `fence off`)
  uint64_t owner_start = 0; // the owner's start time in clock ticks (/proc/PID/stat), against pid reuse
  std::string owner_host;
};

struct EventRecord {
  int64_t id = 0;
  std::string at;            // RFC 3339
  std::string object_kind;   // Backup, Cluster, Instance
  std::string object_name;
  std::string type;          // Normal | Warning
  std::string reason;        // FencePod, UnfencePod, ...
  std::string message;
};

// A declarative object (Cluster, VolumeSnapshotClass, ScheduledBackup) as
// applied: `object` holds apiVersion, kind, metadata and spec; `status` is
// written by pgvault (the controller) and survives re-applies.
struct ResourceRecord {
  std::string kind;
  std::string name;
  nlohmann::json object;
  nlohmann::json status = nlohmann::json::object();
  int64_t generation = 0;   // +1 each time the applied object changes
  std::string created_at;   // RFC 3339
  std::string updated_at;
};

class Catalog {
 public:
  // Opens (creating and migrating) <state_dir>/catalog.db.
  static std::unique_ptr<Catalog> Open(const std::string& state_dir);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  const std::string& path() const { return path_; }

  // Backups (CNPG Backup objects: metadata, spec, status).
  void SaveBackup(const nlohmann::json& backup);
  std::optional<nlohmann::json> LoadBackup(const std::string& name);
  std::vector<nlohmann::json> ListBackups();
  void DeleteBackup(const std::string& name);
  // Takes a pending backup for the process `owner` ({host, pid, startTicks}):
  // atomically moves it from pending to started. False when it is not
  // pending any more (another process claimed it, or it failed).
  bool ClaimBackup(const std::string& name, const nlohmann::json& owner);
  // When the backup entered its current phase (RFC 3339), "" if unknown:
  // kept by SaveBackup, for the phase deadlines.
  std::string BackupPhaseSince(const std::string& name);

  // Declarative objects (kinds other than Backup).
  std::optional<ResourceRecord> LoadResource(const std::string& kind, const std::string& name);
  std::vector<ResourceRecord> ListResources(const std::string& kind);
  // Stores `object` (its kind and metadata.name) keeping the status; returns
  // "created", "configured" (changed) or "unchanged", as kubectl says.
  std::string SaveResource(const nlohmann::json& object);
  void SaveResourceStatus(const std::string& kind, const std::string& name, const nlohmann::json& status);
  bool DeleteResource(const std::string& kind, const std::string& name);

  // One transaction for several changes (BEGIN IMMEDIATE: a writer at a
  // time); rolled back unless Commit() is called. Not nestable, and not
  // around AddFence, which has its own.
  class Transaction {
   public:
    explicit Transaction(Catalog& catalog);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void Commit();

   private:
    Catalog& catalog_;
    bool done_ = false;
  };

  // Volume snapshots (the metadata record of each snapshot).
  void SaveSnapshot(const nlohmann::json& snapshot);
  std::optional<nlohmann::json> LoadSnapshot(const std::string& name);
  std::vector<nlohmann::json> ListSnapshots();
  void DeleteSnapshot(const std::string& name);

  // Fences. AddFence fails (returns the existing record) when the instance
  // is fenced already.
  std::optional<FenceRecord> AddFence(const FenceRecord& fence);
  std::optional<FenceRecord> LoadFence(const std::string& instance);
  std::vector<FenceRecord> ListFences();
  void RemoveFence(const std::string& instance);

  void AddEvent(const std::string& object_kind, const std::string& object_name, const std::string& type,
                const std::string& reason, const std::string& message);
  std::vector<EventRecord> Events(const std::string& object_kind, const std::string& object_name);
  std::vector<EventRecord> AllEvents();

 private:
  Catalog(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  void Migrate();
  void Exec(const std::string& sql);
  sqlite3* db_;
  std::string path_;
};

}  // namespace pgvault
