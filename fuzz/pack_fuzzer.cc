// libFuzzer target: CheckPackHeader, DecodePackFooterCount and DecodePackTrailer, the framing of a pack.
#include "repo/pack_format.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::CheckPackHeader(bytes, "pack"); });
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::DecodePackFooterCount(bytes, "pack"); });
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::DecodePackTrailer(bytes, "pack"); });
  return 0;
}
