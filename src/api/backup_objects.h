// Backup and ScheduledBackup objects in CloudNativePG's own form
// (apiVersion postgresql.cnpg.io/v1), as `pgvault apply -f` accepts them:
// checked field by field (errors name the field path), unknown fields
// refused, CloudNativePG's defaults filled in, so that what is stored is
// what `get -o yaml` shows.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace pgvault {

inline constexpr const char* kCnpgApiVersion = "postgresql.cnpg.io/v1";

// Annotations pgvault reads on a Backup (a ScheduledBackup copies its own to
// every Backup it makes):
//   pgvault.io/keep: "true"              retention never deletes this backup
//   pgvault.io/deadline.<phase>: "30m"   how long the backup may stay in that
//                                        phase (pending, started, running,
//                                        finalizing) before it fails
inline constexpr const char* kKeepAnnotation = "pgvault.io/keep";
inline constexpr const char* kDeadlineAnnotationPrefix = "pgvault.io/deadline.";

// Labels a ScheduledBackup puts on its Backups (CloudNativePG's).
inline constexpr const char* kClusterLabel = "cnpg.io/cluster";
inline constexpr const char* kScheduledBackupLabel = "cnpg.io/scheduled-backup";
inline constexpr const char* kImmediateBackupLabel = "cnpg.io/immediateBackup";

// A checked Backup: {apiVersion, kind, metadata: {name, labels, annotations},
// spec: {cluster: {name}, method, target?, online?, onlineConfiguration?}}.
// `where` prefixes errors ("backup.yaml (document 2)").
nlohmann::json ReadBackupManifest(const nlohmann::json& document, const std::string& where);
// A checked ScheduledBackup (the schedule is parsed, see cron_schedule.h).
nlohmann::json ReadScheduledBackupManifest(const nlohmann::json& document, const std::string& where);

// barmanObjectStore (CloudNativePG's default, here: the cluster's
// repository) and its alias repository.
bool IsRepositoryMethod(const std::string& method);

// How long `backup` may stay in `phase`: its annotation, else the default
// (pending 1h, started 10m, running 24h, finalizing 2h).
std::chrono::seconds PhaseDeadline(const nlohmann::json& backup, const std::string& phase);

// True when the Backup carries pgvault.io/keep: "true".
bool BackupKept(const nlohmann::json& backup);

}  // namespace pgvault
