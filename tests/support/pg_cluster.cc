#include "support/pg_cluster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.h"

namespace pgvault::test {

std::string PgBin(const std::string& tool) { return "/usr/lib/postgresql/15/bin/" + tool; }

std::string PgServerBin(int major, const std::string& tool) {
  if (major == 15) return PgBin(tool);
  return std::string(PGVAULT_SOURCE_DIR) + "/scripts/postgres-servers/node_modules/pg" + std::to_string(major) +
         "/native/bin/" + tool;
}

bool HavePgServer(int major) { return ::access(PgServerBin(major, "postgres").c_str(), X_OK) == 0; }

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

void PgCluster::AppendConf(const std::vector<std::string>& lines) {
  std::ofstream conf(datadir_ + "/postgresql.auto.conf", std::ios::app);
  for (const auto& l : lines) conf << l << "\n";
}

std::unique_ptr<PgCluster> PgCluster::Create(const std::string& datadir, const std::vector<std::string>& extra_conf,
                                             bool data_checksums, int major) {
  auto pg = std::unique_ptr<PgCluster>(new PgCluster(datadir, FreePort(), major));
  std::vector<std::string> initdb = {pg->ServerBin("initdb"), "-D", datadir, "-U", "postgres", "--auth=trust",
                                     "--no-instructions", "-E", "UTF8", "--locale=C", "-N"};
  // 18 turns checksums on by default: off must be asked for.
  if (data_checksums) initdb.push_back("--data-checksums");
  else if (major >= 18) initdb.push_back("--no-data-checksums");
  RunAsPostgresOk(initdb);
  pg->socket_dir_ = datadir + ".sock";
  std::filesystem::create_directories(pg->socket_dir_);
  ChownToPostgres(pg->socket_dir_);
  std::vector<std::string> conf = {"listen_addresses = '127.0.0.1'",
                                   "port = " + std::to_string(pg->port_),
                                   "unix_socket_directories = '" + pg->socket_dir_ + "'",
                                   "wal_level = replica",
                                   "max_wal_senders = 10",
                                   "max_replication_slots = 10",
                                   "wal_keep_size = '256MB'",
                                   "fsync = off",
                                   "shared_buffers = '64MB'",
                                   "log_min_messages = warning",
                                   "logging_collector = off"};
  conf.insert(conf.end(), extra_conf.begin(), extra_conf.end());
  pg->AppendConf(conf);
  return pg;
}

std::unique_ptr<PgCluster> PgCluster::Adopt(const std::string& datadir, int major) {
  auto pg = std::unique_ptr<PgCluster>(new PgCluster(datadir, FreePort(), major));
  pg->socket_dir_ = datadir + ".sock";
  std::filesystem::create_directories(pg->socket_dir_);
  ChownToPostgres(pg->socket_dir_);
  pg->AppendConf({"port = " + std::to_string(pg->port_), "unix_socket_directories = '" + pg->socket_dir_ + "'"});
  return pg;
}

std::unique_ptr<PgCluster> PgCluster::CreateStandby(PgCluster& primary, const std::string& datadir,
                                                    const std::vector<std::string>& tablespace_mapping,
                                                    const std::vector<std::string>& extra_args) {
  auto pg = std::unique_ptr<PgCluster>(new PgCluster(datadir, FreePort()));
  std::string slot = "standby_" + std::to_string(pg->port_);
  primary.Exec("SELECT pg_create_physical_replication_slot('" + slot + "')");
  std::vector<std::string> args = {PgBin("pg_basebackup"), "-h", "127.0.0.1", "-p", std::to_string(primary.port()),
                                   "-U", "postgres", "-D", datadir, "-R", "-S", slot, "-X", "stream", "-c", "fast"};
  for (const auto& m : tablespace_mapping) args.push_back("--tablespace-mapping=" + m);
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  RunAsPostgresOk(args);
  pg->socket_dir_ = datadir + ".sock";
  std::filesystem::create_directories(pg->socket_dir_);
  ChownToPostgres(pg->socket_dir_);
  pg->AppendConf({"port = " + std::to_string(pg->port_), "unix_socket_directories = '" + pg->socket_dir_ + "'",
                  "hot_standby_feedback = on"});
  pg->Start();
  return pg;
}

PgCluster::~PgCluster() {
  if (running_) {
    Run({"runuser", "-u", "postgres", "--", ServerBin("pg_ctl"), "-D", datadir_, "-m", "immediate", "-w", "stop"});
    if (!RunningAsRoot()) Run({ServerBin("pg_ctl"), "-D", datadir_, "-m", "immediate", "-w", "stop"});
  }
}

void PgCluster::Start() {
  RunResult r = RunAsPostgres({ServerBin("pg_ctl"), "-D", datadir_, "-l", LogPath(), "-w", "-t", "120", "start"});
  if (r.exit_code != 0) throw std::runtime_error("pg_ctl start failed for " + datadir_ + ":\n" + r.out + r.err + Log());
  running_ = true;
}

void PgCluster::Stop(const std::string& mode) {
  RunAsPostgresOk({ServerBin("pg_ctl"), "-D", datadir_, "-m", mode, "-w", "-t", "120", "stop"});
  running_ = false;
}

std::string PgCluster::Conninfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db + " connect_timeout=10";
}

std::string PgCluster::Log() const {
  std::ifstream in(LogPath());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<SqlRow> PgCluster::Query(const std::string& sql, const std::string& db) {
  PgConnection conn(Conninfo(db));
  return conn.Query(sql);
}

std::string PgCluster::Value(const std::string& sql, const std::string& db) {
  PgConnection conn(Conninfo(db));
  return conn.QueryValue(sql);
}

void PgCluster::PgbenchInit(int scale) {
  RunAsPostgresOk({PgBin("pgbench"), "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", "-i", "-q",
                   "-s", std::to_string(scale), "postgres"});
}

std::unique_ptr<BackgroundProcess> PgCluster::StartPgbenchLoad(int seconds, int clients) {
  return std::make_unique<BackgroundProcess>(
      std::vector<std::string>{PgBin("pgbench"), "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres",
                               "-c", std::to_string(clients), "-j", "1", "-T", std::to_string(seconds), "-n",
                               "postgres"},
      datadir_ + ".pgbench.log", true);
}

void PgCluster::WaitForReplay(PgCluster& standby) {
  std::string target = Value("SELECT pg_current_wal_lsn()::text");
  for (int i = 0; i < 600; ++i) {
    std::string ok = standby.Value("SELECT (pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn)::text");
    if (ok == "true") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("standby did not catch up");
}

std::string TableChecksum(PgCluster& pg, const std::string& table, const std::string& db) {
  return pg.Value("SELECT count(*)::text || ':' || coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::"
                  "numeric), 0)::text FROM " + table + " t",
                  db);
}

}  // namespace pgvault::test
