// The metadata record of one volume snapshot (CloudNativePG's "persistence of
// volume snapshot objects"): a JSON document shaped like a Kubernetes
// VolumeSnapshot, written beside the snapshot as <snapshot>.json and stored
// in the catalog. It carries everything a restore needs (the backup's
// elements and their paths, pg_controldata, backup_label, tablespace_map,
// the cluster's manifest), so a snapshot restores even when the catalog is
// lost. The file is written after the snapshot is complete: a snapshot
// directory without its .json is not a backup. Layout: docs/volume-snapshots.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/cluster_spec.h"

namespace pgvault {

inline constexpr const char* kSnapshotRecordVersion = "pgvault.io/v1";

// The directory snapshots of `volume` go to: the class's snapshotDir
// parameter, else <parent of volume>/.snapshots.
std::string SnapshotDirectoryFor(const std::string& volume, const VolumeSnapshotClass& snapshot_class);

// <snapshot path>.json
std::string SnapshotRecordPath(const std::string& snapshot_path);
void WriteSnapshotRecord(const nlohmann::json& record);
nlohmann::json ReadSnapshotRecord(const std::string& record_path);

// Finds the record of snapshot `name` without the catalog: `name` may be the
// path of a record or of a snapshot; else the snapshot directories of every
// volume and class in `config` (when given) are searched.
std::optional<nlohmann::json> FindSnapshotRecord(const std::string& name, const ClusterConfig* config);

}  // namespace pgvault
