#include "io/source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

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

LocalSource::LocalSource(std::string path) : path_(std::move(path)) {
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
}

LocalSource::~LocalSource() {
  if (fd_ >= 0) ::close(fd_);
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

std::unique_ptr<Source> open_source(const std::string& url) {
  std::string_view u = url;
  if (u.starts_with("file://")) return std::make_unique<LocalSource>(std::string(u.substr(7)));
  auto scheme_end = u.find("://");
  if (scheme_end != std::string_view::npos)
    throw Error(ErrorCode::kUnsupported,
                url + ": URL scheme '" + std::string(u.substr(0, scheme_end)) + "' is not supported yet");
  return std::make_unique<LocalSource>(url);
}

}  // namespace m4h::io
