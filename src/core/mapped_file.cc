#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "core/unique_fd.h"

namespace pgvault {

MappedFile::MappedFile(const std::string& path) {
  UniqueFd fd = OpenOrThrow(path, O_RDONLY);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw Error(fmt::format("cannot stat {}: {}", path, ErrnoText(errno)));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{} is not a regular file", path));
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) return;  // mmap refuses length 0
  // MAP_POPULATE maps every page up front, in one call, instead of one fault
  // per 64 KiB while two threads read it.
  address_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (address_ == MAP_FAILED) {
    address_ = nullptr;
    throw Error(fmt::format("cannot map {}: {}", path, ErrnoText(errno)));
  }
}

MappedFile::~MappedFile() {
  if (address_ != nullptr) ::munmap(address_, size_);
}

}  // namespace pgvault
