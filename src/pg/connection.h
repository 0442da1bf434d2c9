// A libpq connection with errors that name the server.
#pragma once

#include <optional>
#include <string>
#include <vector>

struct pg_conn;

namespace pgvault {

using SqlRow = std::vector<std::optional<std::string>>;

class PgConnection {
 public:
  // Connects; throws Error "cannot connect to <host:port>: <libpq message>".
  explicit PgConnection(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  std::vector<SqlRow> Query(const std::string& sql, const std::vector<std::string>& params = {});
  // First column of the single row; throws if there is no row or it is NULL.
  std::string QueryValue(const std::string& sql, const std::vector<std::string>& params = {});
  // "host:port" for messages.
  const std::string& server() const { return server_; }
  int server_version() const;

 private:
  pg_conn* conn_ = nullptr;
  std::string server_;
};

// The conninfo with any password removed, for manifests and messages.
std::string RedactConninfo(const std::string& conninfo);

}  // namespace pgvault
