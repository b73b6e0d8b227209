// A byte source over XRootD (root://host[:port]//path), on the packaged client library XrdCl.
// Credentials come from the usual XRootD environment (X509_USER_PROXY, BEARER_TOKEN, ...), which
// XrdCl reads itself; XRD_* variables (XRD_LOGLEVEL, XRD_CONNECTIONRETRY, ...) override the
// defaults set here. XrdCl's headers stay in the .cc file.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "io/source.h"

namespace XrdCl {
class XRootDStatus;
}

namespace m4h::io {

class XRootDSource final : public Source {
 public:
  // Opens the file and stats it (retrying as the options say). Throws kNotFound for a missing
  // file, kIo otherwise, naming the URL and XrdCl's message.
  XRootDSource(std::string url, const SourceOptions& options);
  ~XRootDSource() override;

  const std::string& url() const override { return url_; }
  uint64_t size() override { return size_; }
  void read_at(uint64_t offset, std::span<uint8_t> out) override;
  // XrdCl vector reads: up to kMaxChunks ranges of up to kMaxChunkBytes each per request (larger
  // ranges are split here).
  void read_v(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs) override;
  SourceLimits limits() const override { return limits_; }

  static constexpr std::size_t kMaxChunks = 1024;
  static constexpr uint64_t kMaxChunkBytes = 2097136;  // XRootD's readv element limit (2 MiB - 16)

 private:
  struct Handle;  // an open XrdCl::File, replaced after connection errors

  // The open file, opening it first when needed; null (with XrdCl's status) when that fails.
  std::shared_ptr<Handle> current(XrdCl::XRootDStatus& status);
  // Drops `failed` so that the next request opens the file again (unless another thread did).
  void reopen(const std::shared_ptr<Handle>& failed);
  // Runs `op` on the current handle with retries, backoff and re-opening; `what` names the
  // request in errors ("read of N bytes at offset O").
  template <typename Op>
  void with_retries(const std::string& what, Op&& op);

  std::string url_;
  SourceOptions options_;
  SourceLimits limits_;
  uint16_t timeout_ = 60;  // XrdCl's per-call timeout, seconds
  uint64_t size_ = 0;
  std::mutex mu_;
  std::shared_ptr<Handle> handle_;
  std::atomic<uint64_t> open_attempts_{0};
  std::shared_ptr<XrdCl::XRootDStatus> last_open_failure_;  // of the latest attempt, if it failed
};

}  // namespace m4h::io
