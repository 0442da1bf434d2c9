// Reading, writing and damaging files byte for byte, and picking pgvault's
// error lines out of its stderr: the small helpers the integration tests share
// when they look at or tamper with a repository's files. Header-only.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace pgvault::test {

// The whole file, as stored (empty if it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Replaces the file's content with `content`.
inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// XORs the byte at `offset` in `path` with 0x40, in place; fails the test if it cannot. (Not
// object_store_server.h's FlipByte(path, std::uint64_t), which inverts every bit and throws.)
inline void FlipByte(const std::string& path, off_t offset) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  unsigned char b;
  ASSERT_EQ(::pread(fd, &b, 1, offset), 1);
  b ^= 0x40;
  ASSERT_EQ(::pwrite(fd, &b, 1, offset), 1);
  ::close(fd);
}

// The distinct lines of `text` that start with "pgvault: error: ".
inline std::set<std::string> ErrorLines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("pgvault: error: ")) out.insert(line);
  return out;
}

}  // namespace pgvault::test
