// The cluster definition: which PostgreSQL instances make up a cluster, where
// their volumes are, how to stop and start them, and how backups of it are
// taken (CloudNativePG's Cluster.spec.backup). Read from a multi-document YAML
// file (--config / PGVAULT_CONFIG); the declarative API stores the same
// documents.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgvault {

inline constexpr const char* kClusterApiVersion = "pgvault.io/v1";
inline constexpr const char* kSnapshotApiVersion = "snapshot.storage.k8s.io/v1";

struct InstanceSpec {
  std::string name;
  std::string conninfo;
  std::string pgdata;
  std::string wal_dir;                              // "" = pg_wal inside pgdata
  std::map<std::string, std::string> tablespaces;  // tablespace name -> directory
  std::string os_user = "postgres";                 // pg_ctl runs as this user
  std::string systemd_unit;                         // when set: systemctl stop/start instead of pg_ctl
  std::string pg_bin_dir;                           // "" = /usr/lib/postgresql/<PG_VERSION>/bin
  std::string log_file;                             // pg_ctl -l; "" = <pgdata>/log/pgvault-pg_ctl.log
  // Seconds to wait for the instance to stop, and after a start to accept
  // connections and (a standby) to stream again.
  int stop_timeout_seconds = 120;
  int start_timeout_seconds = 300;
};

struct OnlineConfiguration {
  bool wait_for_archive = true;       // pg_backup_stop(wait_for_archive)
  bool immediate_checkpoint = false;  // pg_backup_start(fast)
};

struct VolumeSnapshotConfiguration {
  bool configured = false;  // spec.backup.volumeSnapshot is present
  std::string class_name;
  std::string wal_class_name;                                // "" = class_name
  std::map<std::string, std::string> tablespace_class_name;  // missing = class_name
  bool online = true;
  OnlineConfiguration online_configuration;
  std::map<std::string, std::string> labels, annotations;
};

// spec.backup.retentionPolicy (CloudNativePG's recovery window: 30d, 4w,
// 6m) and spec.backup.keep (a count), applied to repository backups and to
// volume snapshot backups alike (src/retention/).
struct RetentionConfiguration {
  int window_count = 0;   // 0: no recovery window
  char window_unit = 'd';  // d, w or m (calendar months)
  int keep = 0;           // 0: no count
  bool configured() const { return window_count > 0 || keep > 0; }
  std::string WindowText() const { return window_count ? std::to_string(window_count) + window_unit : ""; }
};

struct BackupConfiguration {
  std::string target = "prefer-standby";  // or "primary"
  VolumeSnapshotConfiguration volume_snapshot;
  RetentionConfiguration retention;
};

struct ClusterSpec {
  std::string name;
  std::string repository;  // "" = none (snapshots only); a directory or an object-store URL
  // spec.repositoryCredentials: a credentials file (NAME=value lines, see
  // storage_settings.h) for an object-store repository; "" = environment only.
  std::string repository_credentials;
  // Makes repository_credentials the file storage reads (sets
  // PGVAULT_REPO_CREDENTIALS) unless --repo-credentials or the environment
  // already named one: call before opening the cluster's repository.
  void UseRepositoryCredentials() const;
  std::vector<InstanceSpec> instances;
  BackupConfiguration backup;
  nlohmann::json manifest;  // the document as given, recorded with each snapshot

  const InstanceSpec& Instance(const std::string& name) const;  // throws naming the known ones
};

struct VolumeSnapshotClass {
  std::string name;
  std::string driver;                  // btrfs | reflink (lvm, zfs, csi: later)
  std::string deletion_policy = "Delete";  // Delete | Retain
  std::map<std::string, std::string> parameters;
  bool is_default = false;  // annotation snapshot.storage.kubernetes.io/is-default-class: "true"
  nlohmann::json manifest;
};

struct ClusterConfig {
  std::string origin;  // the file
  std::vector<ClusterSpec> clusters;
  std::vector<VolumeSnapshotClass> classes;

  // `name` "" picks the only cluster; errors name the known clusters.
  const ClusterSpec& Cluster(const std::string& name) const;
  // The class called `name`; "" the default class (the only one, or the one
  // annotated as default).
  const VolumeSnapshotClass& SnapshotClass(const std::string& name) const;
  // The cluster an instance belongs to; throws when no cluster has it.
  const ClusterSpec& ClusterOfInstance(const std::string& instance) const;
};

ClusterConfig ParseClusterConfig(const std::string& yaml_text, const std::string& origin);
// The same from documents already parsed (the catalog's, or a manifest's):
// every document checked, then the rules between them (unique instance
// names, snapshot classes that exist). `where` names each document in
// errors (default "<origin> (document N)").
ClusterConfig ClusterConfigFromDocuments(const std::vector<nlohmann::json>& documents, const std::string& origin,
                                         const std::vector<std::string>& where = {});
// Reads `path`; the error names the file and PGVAULT_CONFIG when it is missing.
ClusterConfig LoadClusterConfig(const std::string& path);

}  // namespace pgvault
