// A byte source over HTTP(S) on libcurl: Range requests, several ranges per request
// (multipart/byteranges) where the server supports it, otherwise several single-range requests in
// flight on reused connections; redirects, connect and per-request timeouts, retries with backoff
// on 5xx and connection errors, https with the system CA store, an optional bearer token.
// libcurl's headers stay in the .cc file.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/source.h"

namespace m4h::io {

class HttpSource final : public Source {
 public:
  // Asks the server for the size with a one-byte range request (GET "Range: bytes=0-0"). A server
  // that ignores ranges (200 with the whole body) is accepted for files up to kWholeFileLimit
  // bytes, which are then downloaded once and read from memory; larger files are refused
  // (kUnsupported). Throws kNotFound for 404/410, kIo otherwise, naming the URL.
  HttpSource(std::string url, const SourceOptions& options);
  ~HttpSource() override;

  const std::string& url() const override { return url_; }
  uint64_t size() override { return size_; }
  void read_at(uint64_t offset, std::span<uint8_t> out) override;
  void read_v(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs) override;
  SourceLimits limits() const override { return limits_; }

  // Requests in flight at once for one read_v call (each on its own connection, kept open).
  static constexpr std::size_t kConnections = 4;
  // One request asks for at most this many ranges and this many bytes; a range larger than
  // kMaxBytesPerRequest is fetched as several requests in parallel.
  static constexpr std::size_t kMaxRangesPerRequest = 64;
  static constexpr uint64_t kMaxBytesPerRequest = 32 << 20;
  static constexpr uint64_t kWholeFileLimit = 64 << 20;

  // Whether the server answered several ranges in one multipart response so far (tests).
  bool multi_range() const { return multi_range_ok_.load(); }

  struct Session;  // a curl multi handle, its easy handles and their open connections
  struct Transfer;

 private:
  std::unique_ptr<Session> acquire();
  void release(std::unique_ptr<Session> s);
  // Runs the transfers to completion (retrying, re-planning when the server ignores multiple
  // ranges); throws on the first error that retries cannot fix.
  // `counted`: the requests show in stats() (not the size probe at open, like a local fstat).
  void run(std::vector<Transfer*> todo, const std::string& what, bool counted = true);
  void fill(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs, bool multi);

  std::string url_;
  // Where the server redirected the size request: later requests go there directly (one round
  // trip instead of two), and back to url_ when a request there fails.
  std::string data_url_;
  std::mutex data_url_mu_;
  SourceOptions options_;
  SourceLimits limits_;
  std::string auth_header_;
  uint64_t size_ = 0;
  bool ranges_ok_ = true;                    // the server answers Range requests with 206
  std::atomic<bool> multi_range_ok_{true};   // ... and several ranges in one request
  std::vector<uint8_t> whole_;               // the file, when the server ignores ranges
  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> idle_;
};

// A multipart/byteranges body split into its parts (exposed for tests).
struct MultipartPart {
  uint64_t offset = 0;
  std::span<const uint8_t> data;
};
// The boundary parameter of a "multipart/byteranges; boundary=..." Content-Type; empty if absent.
std::string multipart_boundary(std::string_view content_type);
// Throws kIo (naming nothing: the caller adds the URL) when the body is malformed.
std::vector<MultipartPart> parse_multipart(std::span<const uint8_t> body, std::string_view boundary);

}  // namespace m4h::io
