#include "pg/connection.h"


#include <fmt/format.h>

#include "core/error.h"
#include "pg/libpq_library.h"

namespace pgvault {

namespace {
std::string TrimMessage(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s;
}
}  // namespace

PgConnection::PgConnection(const std::string& conninfo) {
  // Validate the string first so a typo is reported as such, not as a
  // connection failure.
  char* parse_error = nullptr;
  PQconninfoOption* options = Libpq().PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    std::string message = TrimMessage(parse_error);
    Libpq().PQfreemem(parse_error);
    throw Error(fmt::format("invalid connection string '{}': {}", RedactConninfo(conninfo), message));
  }
  Libpq().PQconninfoFree(options);
  conn_ = Libpq().PQconnectdb(conninfo.c_str());
  const char* host = Libpq().PQhost(conn_);
  const char* port = Libpq().PQport(conn_);
  server_ = fmt::format("{}:{}", host && *host ? host : "localhost", port && *port ? port : "5432");
  if (Libpq().PQstatus(conn_) != CONNECTION_OK) {
    std::string message = TrimMessage(Libpq().PQerrorMessage(conn_));
    Libpq().PQfinish(conn_);
    conn_ = nullptr;
    throw Error(fmt::format("cannot connect to PostgreSQL at {}: {}", server_, message));
  }
  Libpq().PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
}

PgConnection::~PgConnection() {
  if (conn_) Libpq().PQfinish(conn_);
}

int PgConnection::server_version() const { return Libpq().PQserverVersion(conn_); }

std::vector<SqlRow> PgConnection::Query(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* result = Libpq().PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                  nullptr, nullptr, 0);
  ExecStatusType status = Libpq().PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string message = TrimMessage(Libpq().PQresultErrorMessage(result));
    Libpq().PQclear(result);
    throw Error(fmt::format("PostgreSQL at {}: {}", server_, message));
  }
  std::vector<SqlRow> rows;
  int n = Libpq().PQntuples(result), m = Libpq().PQnfields(result);
  for (int i = 0; i < n; ++i) {
    SqlRow row;
    for (int k = 0; k < m; ++k) {
      if (Libpq().PQgetisnull(result, i, k))
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(std::string(Libpq().PQgetvalue(result, i, k), Libpq().PQgetlength(result, i, k)));
    }
    rows.push_back(std::move(row));
  }
  Libpq().PQclear(result);
  return rows;
}

std::string PgConnection::QueryValue(const std::string& sql, const std::vector<std::string>& params) {
  auto rows = Query(sql, params);
  if (rows.empty() || rows[0].empty() || !rows[0][0])
    throw Error(fmt::format("PostgreSQL at {}: query returned no value: {}", server_, sql));
  return *rows[0][0];
}

std::string RedactConninfo(const std::string& conninfo) {
  PQconninfoOption* options = Libpq().PQconninfoParse(conninfo.c_str(), nullptr);
  if (options == nullptr) return "<unparsable conninfo>";
  std::string out;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (o->val == nullptr || std::string(o->keyword) == "password") continue;
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", o->keyword, o->val);
  }
  Libpq().PQconninfoFree(options);
  return out;
}

}  // namespace pgvault
