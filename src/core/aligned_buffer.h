// A fixed-capacity byte buffer whose start is aligned for O_DIRECT I/O.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace pgvault {

// 4096 satisfies the alignment rules of O_DIRECT on every Linux block device
// (logical block sizes are 512 or 4096).
inline constexpr size_t kDirectIoAlignment = 4096;

class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t capacity) : capacity_(capacity) {
    void* p = nullptr;
    size_t rounded = (capacity + kDirectIoAlignment - 1) / kDirectIoAlignment * kDirectIoAlignment;
    if (::posix_memalign(&p, kDirectIoAlignment, rounded ? rounded : kDirectIoAlignment) != 0) throw std::bad_alloc();
    data_.reset(static_cast<char*>(p));
  }
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data_;
  size_t capacity_;
};

}  // namespace pgvault
