#include "io/xrootd_source.h"

#include <XrdCl/XrdClDefaultEnv.hh>
#include <XrdCl/XrdClEnv.hh>
#include <XrdCl/XrdClFile.hh>
#include <XrdCl/XrdClLog.hh>
#include <XrdCl/XrdClXRootDResponses.hh>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/error.h"

namespace m4h::io {

namespace {

// Process-wide XrdCl settings, applied once before the first file is opened. Each is a default:
// the matching XRD_* environment variable, when set, wins (XrdCl's Env gives shell settings
// precedence).
void configure_xrdcl(uint16_t timeout_s) {
  static std::once_flag once;
  std::call_once(once, [timeout_s] {
    XrdCl::Env* env = XrdCl::DefaultEnv::GetEnv();
    // Our own retry loop retries and reconnects: XrdCl itself tries a connection once, within
    // the request timeout, and does not remember a failed server (its "stream error window").
    env->PutInt("ConnectionRetry", 1);
    env->PutInt("ConnectionWindow", timeout_s);
    env->PutInt("StreamErrorWindow", 0);
    // A response that stops flowing halfway (a large vector read from a server that hangs) is
    // not covered by the request timeout: the stream timeout (default 60 s) declares it broken.
    env->PutInt("StreamTimeout", timeout_s);
    // Timeouts are checked every TimeoutResolution seconds (default 15): make them prompt.
    env->PutInt("TimeoutResolution", 1);
    // XrdCl prints errors on stderr by default; ours name the URL and the range already.
    if (!std::getenv("XRD_LOGLEVEL")) XrdCl::DefaultEnv::GetLog()->SetLevel(XrdCl::Log::NoMsg);
  });
}

// What to do about a failed request.
struct Failure {
  ErrorCode code = ErrorCode::kIo;
  bool retry = false;      // worth trying again
  bool reconnect = false;  // with a freshly opened file
};

Failure classify(const XrdCl::XRootDStatus& st) {
  Failure f;
  switch (st.code) {
    case XrdCl::errErrorResponse:  // the server answered with an error code
      switch (st.errNo) {
        case kXR_NotFound: f.code = ErrorCode::kNotFound; break;
        case kXR_IOError:
        case kXR_ServerError:
        case kXR_noserver:
        case kXR_Overloaded:
        case kXR_ReqTimedOut: f.retry = true; break;
        default: break;
      }
      return f;
    case XrdCl::errRetry:
    case XrdCl::errNoMoreFreeSIDs:
    case XrdCl::errThresholdExceeded: f.retry = true; return f;
    case XrdCl::errSocketError:
    case XrdCl::errSocketTimeout:
    case XrdCl::errSocketDisconnected:
    case XrdCl::errPollerError:
    case XrdCl::errStreamDisconnect:
    case XrdCl::errConnectionError:
    case XrdCl::errInvalidSession:
    case XrdCl::errOperationExpired:
    case XrdCl::errOperationInterrupted:
    case XrdCl::errInvalidResponse:
    case XrdCl::errCorruptedHeader:
      f.retry = true;
      f.reconnect = true;
      return f;
    default: return f;
  }
}

std::string describe(const XrdCl::XRootDStatus& st) {
  std::string s = st.ToStr();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string range_text(uint64_t offset, uint64_t length) {
  return std::to_string(length) + " bytes at offset " + std::to_string(offset);
}

}  // namespace

struct XRootDSource::Handle {
  XrdCl::File file{false};  // no client plug-ins: plain XRootD
  uint16_t timeout = 0;
  std::atomic<bool> failed{false};  // dropped after a connection error
  ~Handle() {
    // A healthy file is closed politely. After a connection error the server may hang: leave
    // the close to XrdCl's destructor, which does not wait for an answer.
    if (!failed && file.IsOpen()) {
      XrdCl::XRootDStatus st = file.Close(timeout);
      (void)st;  // read-only: nothing to lose
    }
  }
};

XRootDSource::XRootDSource(std::string url, const SourceOptions& options)
    : url_(std::move(url)), options_(options) {
  limits_.max_ranges_per_request = kMaxChunks;
  limits_.max_bytes_per_range = kMaxChunkBytes;
  limits_.coalesce_gap = kRemoteCoalesceGap;
  limits_.batch_reads = true;
  limits_ = apply_coalesce_option(limits_, options.coalesce_gap);
  timeout_ = static_cast<uint16_t>(std::clamp(std::ceil(options.timeout_s), 1.0, 65535.0));
  configure_xrdcl(timeout_);
  with_retries("open", [this](XrdCl::File& f) {
    XrdCl::StatInfo* info = nullptr;
    XrdCl::XRootDStatus st = f.Stat(false, info, timeout_);
    std::unique_ptr<XrdCl::StatInfo> owned(info);
    if (st.IsOK()) {
      if (!owned) return XrdCl::XRootDStatus(XrdCl::stError, XrdCl::errInvalidResponse, 0, "stat gave no answer");
      size_ = owned->GetSize();
    }
    return st;
  });
}

XRootDSource::~XRootDSource() = default;

std::shared_ptr<XRootDSource::Handle> XRootDSource::current(XrdCl::XRootDStatus& status) {
  const uint64_t seen = open_attempts_.load();
  std::lock_guard lock(mu_);
  if (handle_) return handle_;
  if (open_attempts_.load() != seen && last_open_failure_) {
    // Another thread tried while this one waited, and failed: share its answer rather than
    // make every reading thread wait out its own timeout in turn.
    status = *last_open_failure_;
    return nullptr;
  }
  ++open_attempts_;
  auto h = std::make_shared<Handle>();
  h->timeout = std::min<uint16_t>(timeout_, 5);  // closing a file should not wait long
  status = h->file.Open(url_, XrdCl::OpenFlags::Read, XrdCl::Access::None, timeout_);
  if (!status.IsOK()) {
    last_open_failure_ = std::make_shared<XrdCl::XRootDStatus>(status);
    return nullptr;
  }
  last_open_failure_.reset();
  handle_ = std::move(h);
  return handle_;
}

void XRootDSource::reopen(const std::shared_ptr<Handle>& failed) {
  std::lock_guard lock(mu_);
  failed->failed = true;
  if (handle_ == failed) handle_.reset();  // the next current() opens a new one
}

template <typename Op>
void XRootDSource::with_retries(const std::string& what, Op&& op) {
  std::string last;
  ErrorCode last_code = ErrorCode::kIo;
  double pause = options_.backoff_s;
  const int tries = std::max(0, options_.retries) + 1;
  for (int attempt = 0; attempt < tries; ++attempt) {
    if (attempt > 0) {
      count_retry();
      std::this_thread::sleep_for(std::chrono::duration<double>(std::clamp(pause, 0.0, 30.0)));
      pause *= 2;
    }
    XrdCl::XRootDStatus open_status;
    std::shared_ptr<Handle> h = current(open_status);
    if (!h) {
      Failure f = classify(open_status);
      if (!f.retry) throw Error(f.code, url_ + ": open failed: " + describe(open_status));
      last = "open failed: " + describe(open_status);
      last_code = f.code;
      continue;
    }
    XrdCl::XRootDStatus st = op(h->file);
    if (st.IsOK()) return;
    Failure f = classify(st);
    if (!f.retry) throw Error(f.code, url_ + ": " + what + " failed: " + describe(st));
    last = what + " failed: " + describe(st);
    last_code = f.code;
    if (f.reconnect) reopen(h);
  }
  throw Error(last_code, url_ + ": " + last +
                             (tries > 1 ? " (tried " + std::to_string(tries) + " times)" : ""));
}

void XRootDSource::read_at(uint64_t offset, std::span<uint8_t> out) {
  check_range(offset, out.size(), size_);
  constexpr uint64_t kMaxRead = uint64_t{1} << 30;  // XrdCl's Read takes a 32-bit size
  uint64_t done = 0;
  uint64_t requests = 0;
  while (done < out.size()) {
    const uint64_t n = std::min<uint64_t>(kMaxRead, out.size() - done);
    uint32_t got = 0;
    with_retries("read of " + range_text(offset + done, n), [&](XrdCl::File& f) {
      ++requests;
      return f.Read(offset + done, static_cast<uint32_t>(n), out.data() + done, got, timeout_);
    });
    if (got == 0)
      throw Error(ErrorCode::kCorrupt, url_ + ": unexpected end of file at offset " + std::to_string(offset + done) +
                                           " (the file is shorter than its stat size " + std::to_string(size_) + ")");
    done += got;
  }
  count(requests, 1, out.size());
}

void XRootDSource::read_v(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs) {
  if (ranges.size() != outs.size())
    throw Error(ErrorCode::kInternal, "read_v: ranges and buffers differ in count");
  // Every range becomes one or more chunks of at most kMaxChunkBytes.
  XrdCl::ChunkList chunks;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (outs[i].size() != ranges[i].length)
      throw Error(ErrorCode::kInternal, "read_v: buffer size differs from range length");
    check_range(ranges[i].offset, ranges[i].length, size_);
    for (uint64_t done = 0; done < ranges[i].length; done += kMaxChunkBytes) {
      const uint64_t n = std::min(kMaxChunkBytes, ranges[i].length - done);
      chunks.emplace_back(ranges[i].offset + done, static_cast<uint32_t>(n), outs[i].data() + done);
    }
  }
  uint64_t requests = 0, bytes = 0;
  for (std::size_t first = 0; first < chunks.size(); first += kMaxChunks) {
    const std::size_t n = std::min(kMaxChunks, chunks.size() - first);
    XrdCl::ChunkList part(chunks.begin() + static_cast<std::ptrdiff_t>(first),
                          chunks.begin() + static_cast<std::ptrdiff_t>(first + n));
    uint64_t want = 0;
    for (const auto& c : part) want += c.length;
    if (n == 1) {  // one chunk: a plain read is cheaper for the server
      uint32_t got = 0;
      with_retries("read of " + range_text(part[0].offset, part[0].length), [&](XrdCl::File& f) {
        ++requests;
        return f.Read(part[0].offset, part[0].length, part[0].buffer, got, timeout_);
      });
      if (got != part[0].length)
        throw Error(ErrorCode::kCorrupt, url_ + ": read of " + range_text(part[0].offset, part[0].length) +
                                             " returned " + std::to_string(got) + " bytes");
      bytes += got;
      continue;
    }
    const std::string what = "vector read of " + std::to_string(n) + " ranges (" + std::to_string(want) +
                             " bytes between offsets " + std::to_string(part.front().offset) + " and " +
                             std::to_string(part.back().offset + part.back().length) + ")";
    uint64_t got = 0;
    with_retries(what, [&](XrdCl::File& f) {
      ++requests;
      XrdCl::VectorReadInfo* info = nullptr;
      XrdCl::XRootDStatus st = f.VectorRead(part, nullptr, info, timeout_);
      std::unique_ptr<XrdCl::VectorReadInfo> owned(info);
      got = owned ? owned->GetSize() : 0;
      return st;
    });
    if (got != want)
      throw Error(ErrorCode::kCorrupt, url_ + ": " + what + " returned " + std::to_string(got) + " bytes");
    bytes += got;
  }
  count(requests, ranges.size(), bytes);
}

}  // namespace m4h::io
