// The cluster file: the interface contract's example parses with CNPG's
// defaults; every mistake names its field path; target selection follows
// CloudNativePG's order.
#include <gtest/gtest.h>

#include "api/yaml_json.h"
#include "cluster/backup_target.h"
#include "cluster/cluster_spec.h"
#include "core/error.h"

namespace pgvault {
namespace {

const char* kContractExample = R"(apiVersion: pgvault.io/v1
kind: Cluster
metadata: {name: echo-postgresql}
spec:
  repository: /var/lib/pgvault/repo      # WAL archive and repository backups
  instances:
    - name: echo-postgresql-1
      conninfo: "host=127.0.0.1 port=5432 user=postgres"
      pgdata: /srv/vol1/data             # a btrfs subvolume for the btrfs driver
      walDir: /srv/vol1wal/pg_wal        # optional: pg_wal on a volume of its own
      osUser: postgres                   # optional
  backup:
    target: prefer-standby
    volumeSnapshot: {className: btrfs-local, online: false}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: btrfs-local}
driver: btrfs                            # btrfs | reflink
deletionPolicy: Delete
parameters: {}                           # optional
)";

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseClusterConfig(yaml, "c.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

TEST(ClusterSpec, TheContractExampleParsesWithCnpgDefaults) {
  ClusterConfig c = ParseClusterConfig(kContractExample, "c.yaml");
  ASSERT_EQ(c.clusters.size(), 1u);
  const ClusterSpec& cluster = c.Cluster("");
  EXPECT_EQ(cluster.name, "echo-postgresql");
  EXPECT_EQ(cluster.repository, "/var/lib/pgvault/repo");
  ASSERT_EQ(cluster.instances.size(), 1u);
  EXPECT_EQ(cluster.instances[0].wal_dir, "/srv/vol1wal/pg_wal");
  EXPECT_EQ(cluster.instances[0].os_user, "postgres");
  EXPECT_EQ(cluster.backup.target, "prefer-standby");
  const auto& vs = cluster.backup.volume_snapshot;
  EXPECT_TRUE(vs.configured);
  EXPECT_FALSE(vs.online);
  EXPECT_TRUE(vs.online_configuration.wait_for_archive);        // CNPG default
  EXPECT_FALSE(vs.online_configuration.immediate_checkpoint);   // CNPG default
  EXPECT_EQ(c.SnapshotClass("btrfs-local").driver, "btrfs");
  EXPECT_EQ(c.SnapshotClass("").name, "btrfs-local");  // the only class is the default
  EXPECT_EQ(&c.ClusterOfInstance("echo-postgresql-1"), &cluster);
}

TEST(ClusterSpec, DefaultsWhenBackupIsAbsent) {
  ClusterConfig c = ParseClusterConfig(
      "apiVersion: pgvault.io/v1\nkind: Cluster\nmetadata: {name: a}\nspec:\n  instances:\n"
      "    - {name: a-1, conninfo: 'port=1', pgdata: /d}\n",
      "c.yaml");
  EXPECT_EQ(c.clusters[0].backup.target, "prefer-standby");
  EXPECT_FALSE(c.clusters[0].backup.volume_snapshot.configured);
  EXPECT_TRUE(c.clusters[0].backup.volume_snapshot.online);
}

TEST(ClusterSpec, EveryMistakeNamesItsFieldPath) {
  std::string base = kContractExample;
  EXPECT_NE(ErrorOf(Replace(base, "walDir:", "waldir:")).find("spec.instances[0].waldir: unknown field"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "target: prefer-standby", "target: standby")).find("spec.backup.target"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "online: false", "online: maybe")).find("spec.backup.volumeSnapshot.online"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "className: btrfs-local", "className: nope")).find("no VolumeSnapshotClass named 'nope'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "pgdata: /srv/vol1/data", "pgdata: srv/data")).find("spec.instances[0].pgdata"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "driver: btrfs ", "driver: zfs ")).find("not available yet"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "driver: btrfs ", "driver: ext4 ")).find("driver"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "kind: Cluster", "kind: Clusterr")).find("kind"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "deletionPolicy: Delete", "deletionPolicy: Keep")).find("deletionPolicy"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "    - name: echo-postgresql-1\n", "    - name: Echo_1\n")).find("not a valid name"),
            std::string::npos);
  EXPECT_NE(ErrorOf("a: [1, 2\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(base, "metadata: {name: echo-postgresql}", "metadata: {name: echo-postgresql, nme: x}"))
                .find("metadata.nme: unknown field"),
            std::string::npos);
}

TEST(YamlJson, ScalarsAndQuotes) {
  auto docs = ParseYamlDocuments("a: true\nb: 'true'\nc: 12\nd: \"12\"\ne: ~\nf: 1.5\ng: text\n---\n", "t");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0]["a"], true);
  EXPECT_EQ(docs[0]["b"], "true");
  EXPECT_EQ(docs[0]["c"], 12);
  EXPECT_EQ(docs[0]["d"], "12");
  EXPECT_TRUE(docs[0]["e"].is_null());
  EXPECT_EQ(docs[0]["f"], 1.5);
  EXPECT_EQ(docs[0]["g"], "text");
  // Round trip through ToYaml keeps types.
  auto back = ParseYamlDocuments(ToYaml(docs[0]), "t2");
  EXPECT_EQ(back[0], docs[0]);
}

InstanceStatus Standby(const std::string& name, Lsn received, Lsn replayed, const std::string& receiver = "streaming") {
  InstanceStatus s;
  s.name = name;
  s.reachable = true;
  s.in_recovery = true;
  s.received = received;
  s.replayed = replayed;
  s.wal_receiver = receiver;
  return s;
}

InstanceStatus Primary(const std::string& name) {
  InstanceStatus s;
  s.name = name;
  s.reachable = true;
  s.received = s.replayed = 1000;
  return s;
}

TEST(BackupTarget, PreferStandbyOrdersByReceivedThenReplayedThenName) {
  EXPECT_EQ(ChooseBackupTarget({Primary("p"), Standby("a", 100, 90), Standby("b", 200, 10)}, "prefer-standby").instance,
            "b");
  EXPECT_EQ(ChooseBackupTarget({Primary("p"), Standby("a", 200, 90), Standby("b", 200, 10)}, "prefer-standby").instance,
            "a");
  EXPECT_EQ(ChooseBackupTarget({Primary("p"), Standby("b", 200, 90), Standby("a", 200, 90)}, "prefer-standby").instance,
            "a");
  EXPECT_EQ(ChooseBackupTarget({Primary("p"), Standby("a", 200, 90)}, "primary").instance, "p");
}

TEST(BackupTarget, UnhealthyStandbysAreSkippedAndThePrimaryIsTheFallback) {
  auto not_streaming = Standby("a", 900, 900, "");
  auto fenced = Standby("b", 900, 900);
  fenced.fenced = true;
  InstanceStatus down;
  down.name = "c";
  down.error = "connection refused";
  auto choice = ChooseBackupTarget({Primary("p"), not_streaming, fenced, down}, "prefer-standby");
  EXPECT_EQ(choice.instance, "p");
  EXPECT_TRUE(choice.is_primary);
  EXPECT_NE(choice.reason.find("falling back to the primary"), std::string::npos);
  EXPECT_NE(choice.reason.find("connection refused"), std::string::npos);
  EXPECT_THROW(ChooseBackupTarget({down}, "prefer-standby"), Error);
  EXPECT_THROW(ChooseBackupTarget({Standby("a", 1, 1)}, "primary"), Error);
  EXPECT_THROW(ChooseBackupTarget({Primary("p"), Primary("q")}, "prefer-standby"), Error);  // split brain
}

}  // namespace
}  // namespace pgvault

namespace pgvault {
namespace {

TEST(ClusterSpec, AnObjectStoreRepositoryWithItsCredentialsFile) {
  ClusterConfig c = ParseClusterConfig(R"(apiVersion: pgvault.io/v1
kind: Cluster
metadata: {name: c1}
spec:
  repository: s3://backups/prod/c1
  repositoryCredentials: /etc/pgvault/s3.env
  instances: [{name: i1, conninfo: "host=127.0.0.1", pgdata: /srv/data}]
)",
                                       "c.yaml");
  EXPECT_EQ(c.Cluster("").repository, "s3://backups/prod/c1");
  EXPECT_EQ(c.Cluster("").repository_credentials, "/etc/pgvault/s3.env");
  try {
    ParseClusterConfig(R"(apiVersion: pgvault.io/v1
kind: Cluster
metadata: {name: c1}
spec:
  repository: s3://backups/prod/c1
  repositoryCredentials: s3.env
  instances: [{name: i1, conninfo: "host=127.0.0.1", pgdata: /srv/data}]
)",
                       "c.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("spec.repositoryCredentials"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pgvault
