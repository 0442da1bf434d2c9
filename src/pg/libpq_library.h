// libpq, loaded when a command first connects to PostgreSQL.
//
// Linking libpq pulls some twenty shared libraries into every process
// (Kerberos, LDAP, GnuTLS, ...): about 3 ms of dynamic linking per exec. The
// commands PostgreSQL runs once per WAL segment (wal-push, wal-fetch) never
// connect, so the binary does not link libpq; it opens libpq.so.5 (its stable
// ABI name) with dlopen on first use and takes the few functions
// pg/connection.cc calls, typed by libpq's own header.
#pragma once

#include <libpq-fe.h>

namespace pgvault {

struct LibpqApi {
  decltype(&::PQconninfoParse) PQconninfoParse;
  decltype(&::PQconninfoFree) PQconninfoFree;
  decltype(&::PQfreemem) PQfreemem;
  decltype(&::PQconnectdb) PQconnectdb;
  decltype(&::PQfinish) PQfinish;
  decltype(&::PQstatus) PQstatus;
  decltype(&::PQerrorMessage) PQerrorMessage;
  decltype(&::PQhost) PQhost;
  decltype(&::PQport) PQport;
  decltype(&::PQserverVersion) PQserverVersion;
  decltype(&::PQsetNoticeProcessor) PQsetNoticeProcessor;
  decltype(&::PQexecParams) PQexecParams;
  decltype(&::PQresultStatus) PQresultStatus;
  decltype(&::PQresultErrorMessage) PQresultErrorMessage;
  decltype(&::PQntuples) PQntuples;
  decltype(&::PQnfields) PQnfields;
  decltype(&::PQgetisnull) PQgetisnull;
  decltype(&::PQgetvalue) PQgetvalue;
  decltype(&::PQgetlength) PQgetlength;
  decltype(&::PQclear) PQclear;
};

// The loaded library (thread-safe, loaded once). Throws Error naming the
// library and the fix when it cannot be loaded.
const LibpqApi& Libpq();

}  // namespace pgvault
