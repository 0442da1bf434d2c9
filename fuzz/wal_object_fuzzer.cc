// libFuzzer target: DecodeWalObjectHeader and DecodeWalObject, a WAL segment as archived.
#include "wal/wal_object.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::DecodeWalObjectHeader(bytes, "wal"); });
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::DecodeWalObject(bytes, "wal"); });
  return 0;
}
