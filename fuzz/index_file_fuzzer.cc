// libFuzzer target: ReadIndexFile, an index file of the repository, read
// through PosixStorage from a scratch directory made once per process. The
// bytes are stored under the name they would have (index files are named by
// their content), or the first check refuses every input and nothing past it
// gets fuzzed.
#include <stdlib.h>

#include <cstdio>
#include <fstream>

#include "fuzz_input.h"
#include "repo/chunk_index.h"
#include "storage/posix_storage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string root = [] {
    char pattern[] = "/tmp/pgvault-fuzz-index-XXXXXX";
    return std::string(mkdtemp(pattern));
  }();
  static pgvault::PosixStorage storage(root);
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string name = pgvault::IndexFileName(bytes);
  {
    std::ofstream out(root + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::ReadIndexFile(storage, name); });
  std::remove((root + "/" + name).c_str());
  return 0;
}
