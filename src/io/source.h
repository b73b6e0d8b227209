// Byte sources: random-access reads of a file-like object, local or remote, knowing nothing of
// ROOT. Backends are chosen by URL scheme (open_source). All methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"

namespace m4h::io {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// What one vectored request of the backend can carry; callers split larger plans.
struct SourceLimits {
  std::size_t max_ranges_per_request = 1024;
  uint64_t max_bytes_per_range = uint64_t{1} << 31;
  // Ranges closer than this are worth reading as one (see io/coalesce.h): a local read costs a
  // system call (~1-2 us, the time to copy ~16 KB from the page cache).
  uint64_t coalesce_gap = 16 << 10;
};

struct IoStats {
  uint64_t requests = 0;  // backend requests issued (a vectored read counts once per request)
  uint64_t ranges = 0;    // ranges asked for
  uint64_t bytes = 0;     // bytes delivered
  uint64_t retries = 0;
};

class Source {
 public:
  virtual ~Source() = default;

  // The URL or path the source was opened with (used in error messages).
  virtual const std::string& url() const = 0;
  virtual uint64_t size() = 0;

  // Fills `out` from `offset`. Throws m4h::Error (kIo, or kCorrupt for a read past the end, naming
  // the URL and the range) unless every byte was read.
  virtual void read_at(uint64_t offset, std::span<uint8_t> out) = 0;

  // Reads many ranges in one call: outs[i] receives ranges[i] (sizes must match). Backends that
  // can do better than a loop (XRootD vector reads, HTTP multi-range) override it.
  virtual void read_v(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs);

  virtual SourceLimits limits() const { return {}; }
  IoStats stats() const;

  // Convenience: reads a range into a new buffer.
  Bytes read(uint64_t offset, uint64_t length);

 protected:
  void count(uint64_t requests, uint64_t ranges, uint64_t bytes) {
    requests_.fetch_add(requests, std::memory_order_relaxed);
    ranges_.fetch_add(ranges, std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
  }
  void count_retry() { retries_.fetch_add(1, std::memory_order_relaxed); }
  // Throws a kCorrupt error when [offset, offset+length) is past size().
  void check_range(uint64_t offset, uint64_t length, uint64_t size) const;

 private:
  std::atomic<uint64_t> requests_{0}, ranges_{0}, bytes_{0}, retries_{0};
};

// A local file read with pread(2); one descriptor shared by all threads.
class LocalSource final : public Source {
 public:
  explicit LocalSource(std::string path);
  ~LocalSource() override;
  const std::string& url() const override { return path_; }
  uint64_t size() override { return size_; }
  void read_at(uint64_t offset, std::span<uint8_t> out) override;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Bytes held in memory: tests, fuzzing, generated files.
class MemorySource final : public Source {
 public:
  MemorySource(std::string name, std::vector<uint8_t> bytes);
  const std::string& url() const override { return name_; }
  uint64_t size() override { return bytes_.size(); }
  void read_at(uint64_t offset, std::span<uint8_t> out) override;

 private:
  std::string name_;
  std::vector<uint8_t> bytes_;
};

// Opens a source by URL: a plain path or file:// for now. Throws kNotFound / kIo / kUnsupported.
std::unique_ptr<Source> open_source(const std::string& url);

}  // namespace m4h::io
