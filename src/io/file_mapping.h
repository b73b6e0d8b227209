// A read-only memory map of a whole local file, so that readers decode baskets straight from the
// page cache instead of copying them out with pread first (the copy was ~15-20% of a zstd read).
// A mapped file that shrinks under its reader makes the kernel raise SIGBUS on the lost pages.
// While any mapping exists, a handler catches those: it maps zeros over the lost page (so the
// reading code runs on, decoding garbage it may reject) and marks the mapping as shrunk; the
// reader then checks shrunk() and reports the file, not the garbage. Other SIGBUS signals go to
// the handler installed before ours (or the default action).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace m4h::io {

class FileMapping {
 public:
  // Maps `size` bytes of the open descriptor `fd` (not kept). Empty (valid() false) when the
  // file is empty or mmap fails: the caller then reads with pread.
  FileMapping(int fd, uint64_t size, const std::string& path);
  ~FileMapping();
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;

  bool valid() const { return data_ != nullptr; }
  // True once a read of the mapping found a page the file no longer has.
  bool shrunk() const;
  // Bytes [offset, offset + length), which the caller has checked lie within the file.
  std::span<const uint8_t> view(uint64_t offset, uint64_t length) const {
    return {data_ + offset, static_cast<std::size_t>(length)};
  }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  int slot_ = -1;  // in the SIGBUS handler's table
};

}  // namespace m4h::io
