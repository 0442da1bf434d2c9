// libFuzzer target: DecompressInto, a stored chunk's frame: byte 0 picks the codec, bytes 1-2 the plaintext size (<= 64 KiB here), the rest is the frame.
#include "compress/codec.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  auto codec = static_cast<pgvault::Codec>(data[0] % 3);
  size_t raw_size = static_cast<size_t>(data[1]) | static_cast<size_t>(data[2]) << 8;
  std::string_view frame(reinterpret_cast<const char*>(data + 3), size - 3);
  // Exactly raw_size bytes, on the heap, so ASan sees a write past the end.
  std::vector<char> output(raw_size);
  pgvault::fuzz::ExpectOnlyPgvaultErrors([&] { pgvault::DecompressInto(codec, frame, raw_size, output.data()); });
  return 0;
}
