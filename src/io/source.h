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
  // False: ranges are never merged for being close, only when they overlap (--coalesce-gap 0).
  bool coalesce = true;
  // True where a round trip costs far more than copying (remote sources): readers gather the
  // ranges of a whole chunk into one coalesced read instead of one read per parallel task.
  bool batch_reads = false;
};

// The default coalescing gap of remote sources. Remote readers gather a whole chunk into one
// request anyway (batch_reads), so the gap trades fewer ranges per request against bytes read for
// nothing: on a generated 24-branch file, chunks of 20000 entries, 16/64/256 KiB gave 267/159/68
// ranges for 0.1%/5%/39% more bytes than the baskets hold.
inline constexpr uint64_t kRemoteCoalesceGap = 64 << 10;

// How a source is opened (open_source, root::File::open, the CLI's --timeout/--retries/...).
// Local files use only coalesce_gap; remote backends use everything.
struct SourceOptions {
  // Each remote request (open, stat, read) must finish within this many seconds.
  double timeout_s = 60;
  // A request that failed for a reason worth retrying (connection lost, timeout, HTTP 5xx) is
  // tried again up to this many times, after backoff_s, then twice that, ... (capped at 30 s).
  int retries = 3;
  double backoff_s = 0.5;
  // HTTP(S): sent as "Authorization: Bearer ..."; empty means $BEARER_TOKEN, then the contents
  // of $BEARER_TOKEN_FILE, else none. XRootD reads its credentials from the environment itself.
  std::string bearer_token;
  // Merge ranges closer than this into one request; -1: the backend's default (16 KiB locally,
  // kRemoteCoalesceGap remotely), 0: no merging of ranges that do not overlap.
  int64_t coalesce_gap = -1;
  // Prefix for a path that is neither a URL nor an existing local file, e.g.
  // "root://cms-xrd-global.cern.ch": "/store/x.root" -> "root://cms-xrd-global.cern.ch//store/x.root".
  // Empty: such a path stays local (and a missing file is kNotFound).
  std::string redirector;
};

// The limits a source reports given the backend's defaults and the options' coalesce_gap.
SourceLimits apply_coalesce_option(SourceLimits limits, int64_t coalesce_gap);

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

  // Zero-copy access where the backend holds the file in memory (a mapped local file): the bytes
  // [offset, offset + length), valid while the source lives, counted as one request. Empty when
  // the backend must copy (use read_at/read_v). Throws like read_at for a range past the end.
  virtual std::span<const uint8_t> view(uint64_t offset, uint64_t length);
  // Throws kIo, naming the file, if bytes handed out by view() were lost since (the file shrank
  // under the reader; they read as zeros). Readers call it after decoding viewed bytes, and
  // before reporting a decoding error, which the lost bytes would explain. Cheap.
  virtual void check_views() const {}

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

class FileMapping;

// A local file: read with pread(2) (one descriptor shared by all threads), and mapped into
// memory for view() (see io/file_mapping.h; M4H_NO_MMAP=1 in the environment turns that off).
class LocalSource final : public Source {
 public:
  // coalesce_gap as in SourceOptions (-1: the default).
  explicit LocalSource(std::string path, int64_t coalesce_gap = -1);
  ~LocalSource() override;
  const std::string& url() const override { return path_; }
  uint64_t size() override { return size_; }
  void read_at(uint64_t offset, std::span<uint8_t> out) override;
  std::span<const uint8_t> view(uint64_t offset, uint64_t length) override;
  void check_views() const override;
  SourceLimits limits() const override { return limits_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  SourceLimits limits_;
  std::unique_ptr<FileMapping> mapping_;
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

// What open_source does with a URL or path: the backend and the URL it opens.
enum class SourceKind { kLocal, kXRootD, kHttp };
struct ResolvedUrl {
  SourceKind kind = SourceKind::kLocal;
  std::string url;  // for kLocal: the local path (file:// removed)
};

// Picks the backend: a local path or file://PATH (kLocal), root:// roots:// xroot:// xroots://
// (kXRootD), http:// https:// (kHttp; dav:// and davs:// are read as http:// and https://).
// A path that is not a URL and not an existing local file gets the redirector prefix when one is
// configured (see SourceOptions::redirector). Throws kUnsupported for other schemes and
// kInvalidArgument for a malformed redirector.
ResolvedUrl resolve_url(const std::string& url, const SourceOptions& options = {});

// Opens a source by URL (see resolve_url). Throws kNotFound / kIo / kUnsupported, naming the URL.
std::unique_ptr<Source> open_source(const std::string& url);
std::unique_ptr<Source> open_source(const std::string& url, const SourceOptions& options);

}  // namespace m4h::io
