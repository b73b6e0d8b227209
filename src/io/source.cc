#include "io/source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "io/file_mapping.h"
#include "io/http_source.h"
#include "io/xrootd_source.h"

namespace m4h::io {

IoStats Source::stats() const {
  return {requests_.load(), ranges_.load(), bytes_.load(), retries_.load()};
}

void Source::read_v(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs) {
  if (ranges.size() != outs.size())
    throw Error(ErrorCode::kInternal, "read_v: ranges and buffers differ in count");
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (outs[i].size() != ranges[i].length)
      throw Error(ErrorCode::kInternal, "read_v: buffer size differs from range length");
    read_at(ranges[i].offset, outs[i]);
  }
}

Bytes Source::read(uint64_t offset, uint64_t length) {
  check_range(offset, length, size());  // before allocating: corrupt lengths can be huge
  Bytes buf(length);
  read_at(offset, buf);
  return buf;
}

void Source::check_range(uint64_t offset, uint64_t length, uint64_t size) const {
  if (offset > size || length > size - offset) {
    throw Error(ErrorCode::kCorrupt, url() + ": read of " + std::to_string(length) +
                                         " bytes at offset " + std::to_string(offset) +
                                         " is past the end of the file (" + std::to_string(size) +
                                         " bytes); the file is truncated or corrupt");
  }
}

SourceLimits apply_coalesce_option(SourceLimits limits, int64_t coalesce_gap) {
  if (coalesce_gap == 0) {
    limits.coalesce_gap = 0;
    limits.coalesce = false;
  } else if (coalesce_gap > 0) {
    limits.coalesce_gap = static_cast<uint64_t>(coalesce_gap);
  }
  return limits;
}

LocalSource::LocalSource(std::string path, int64_t coalesce_gap)
    : path_(std::move(path)), limits_(apply_coalesce_option({}, coalesce_gap)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    int err = errno;
    throw Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                path_ + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorCode::kIo, path_ + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  mapping_ = std::make_unique<FileMapping>(fd_, size_, path_);
}

LocalSource::~LocalSource() {
  mapping_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void LocalSource::check_views() const {
  if (!mapping_->shrunk()) return;
  struct stat st {};
  const std::string now = ::fstat(fd_, &st) == 0 ? std::to_string(st.st_size) : "?";
  throw Error(ErrorCode::kIo, path_ + ": the file shrank while it was being read (" + now +
                                  " bytes now, " + std::to_string(size_) + " when opened)");
}

std::span<const uint8_t> LocalSource::view(uint64_t offset, uint64_t length) {
  check_range(offset, length, size_);
  check_views();
  if (!mapping_->valid() || length == 0) return {};
  count(1, 1, length);
  return mapping_->view(offset, length);
}

std::span<const uint8_t> Source::view(uint64_t offset, uint64_t length) {
  check_range(offset, length, size());
  return {};
}

void LocalSource::read_at(uint64_t offset, std::span<uint8_t> out) {
  check_range(offset, out.size(), size_);
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kIo, path_ + ": read at offset " + std::to_string(offset + done) +
                                      " failed: " + std::strerror(errno));
    }
    if (n == 0)
      throw Error(ErrorCode::kCorrupt, path_ + ": unexpected end of file at offset " +
                                           std::to_string(offset + done));
    done += static_cast<std::size_t>(n);
  }
  count(1, 1, out.size());
}

MemorySource::MemorySource(std::string name, std::vector<uint8_t> bytes)
    : name_(std::move(name)), bytes_(std::move(bytes)) {}

void MemorySource::read_at(uint64_t offset, std::span<uint8_t> out) {
  check_range(offset, out.size(), bytes_.size());
  if (!out.empty()) std::memcpy(out.data(), bytes_.data() + offset, out.size());
  count(1, 1, out.size());
}

namespace {

// "scheme" of "scheme://rest" (RFC 3986 letters), lowercased; empty when `url` is not a URL.
std::string scheme_of(std::string_view url) {
  auto end = url.find("://");
  if (end == std::string_view::npos || end == 0) return {};
  if (!std::isalpha(static_cast<unsigned char>(url[0]))) return {};
  std::string scheme;
  for (char c : url.substr(0, end)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return {};
    scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return scheme;
}

bool local_path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

ResolvedUrl resolve_url(const std::string& url, const SourceOptions& options) {
  std::string scheme = scheme_of(url);
  if (scheme.empty()) {
    if (options.redirector.empty() || url.empty() || local_path_exists(url)) return {SourceKind::kLocal, url};
    std::string prefix = options.redirector;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    const std::string rs = scheme_of(prefix);
    if (rs.empty() || prefix.size() <= rs.size() + 3)
      throw Error(ErrorCode::kInvalidArgument,
                  "redirector '" + options.redirector + "' is not a URL with a host (e.g. root://cms-xrd-global.cern.ch)");
    if (rs == "file")
      throw Error(ErrorCode::kInvalidArgument, "redirector '" + options.redirector + "' must be a remote URL");
    // The reference rule: redirector + "/" + path ("/store/x" -> "root://host//store/x").
    return resolve_url(prefix + "/" + url, SourceOptions{});
  }
  const std::string rest = url.substr(scheme.size() + 3);
  if (scheme == "file") return {SourceKind::kLocal, rest};
  if (scheme == "root" || scheme == "roots" || scheme == "xroot" || scheme == "xroots")
    return {SourceKind::kXRootD, url};
  if (scheme == "http" || scheme == "https") return {SourceKind::kHttp, url};
  if (scheme == "dav") return {SourceKind::kHttp, "http://" + rest};
  if (scheme == "davs") return {SourceKind::kHttp, "https://" + rest};
  throw Error(ErrorCode::kUnsupported,
              url + ": URL scheme '" + scheme + "' is not supported (use a local path, file://, root://, roots://, http:// or https://)");
}

std::unique_ptr<Source> open_source(const std::string& url) { return open_source(url, SourceOptions{}); }

std::unique_ptr<Source> open_source(const std::string& url, const SourceOptions& options) {
  ResolvedUrl r = resolve_url(url, options);
  switch (r.kind) {
    case SourceKind::kLocal: return std::make_unique<LocalSource>(std::move(r.url), options.coalesce_gap);
    case SourceKind::kXRootD: return std::make_unique<XRootDSource>(std::move(r.url), options);
    case SourceKind::kHttp: return std::make_unique<HttpSource>(std::move(r.url), options);
  }
  throw Error(ErrorCode::kInternal, url + ": no backend");
}

}  // namespace m4h::io
