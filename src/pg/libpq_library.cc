#include "pg/libpq_library.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

namespace {

constexpr const char* kLibrary = "libpq.so.5";

template <typename F>
void Resolve(void* handle, F& slot, const char* name) {
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr)
    throw Error(fmt::format("{} has no function {}: the installed libpq is too old or damaged", kLibrary, name));
  slot = reinterpret_cast<F>(symbol);
}

LibpqApi Load() {
  void* handle = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw Error(fmt::format("cannot load PostgreSQL's client library {} ({}): install it (Debian: apt-get install "
                            "libpq5)",
                            kLibrary, why ? why : "unknown error"));
  }
  LibpqApi api{};
#define PGVAULT_RESOLVE(name) Resolve(handle, api.name, #name)
  PGVAULT_RESOLVE(PQconninfoParse);
  PGVAULT_RESOLVE(PQconninfoFree);
  PGVAULT_RESOLVE(PQfreemem);
  PGVAULT_RESOLVE(PQconnectdb);
  PGVAULT_RESOLVE(PQfinish);
  PGVAULT_RESOLVE(PQstatus);
  PGVAULT_RESOLVE(PQerrorMessage);
  PGVAULT_RESOLVE(PQhost);
  PGVAULT_RESOLVE(PQport);
  PGVAULT_RESOLVE(PQserverVersion);
  PGVAULT_RESOLVE(PQsetNoticeProcessor);
  PGVAULT_RESOLVE(PQexecParams);
  PGVAULT_RESOLVE(PQresultStatus);
  PGVAULT_RESOLVE(PQresultErrorMessage);
  PGVAULT_RESOLVE(PQntuples);
  PGVAULT_RESOLVE(PQnfields);
  PGVAULT_RESOLVE(PQgetisnull);
  PGVAULT_RESOLVE(PQgetvalue);
  PGVAULT_RESOLVE(PQgetlength);
  PGVAULT_RESOLVE(PQclear);
#undef PGVAULT_RESOLVE
  // The handle stays open for the life of the process: connections may live
  // until exit.
  return api;
}

}  // namespace

const LibpqApi& Libpq() {
  static std::once_flag once;
  static LibpqApi api;
  std::call_once(once, [] { api = Load(); });
  return api;
}

}  // namespace pgvault
