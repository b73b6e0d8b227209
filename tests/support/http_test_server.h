// A tiny HTTP/1.1 server for tests, on 127.0.0.1 and an ephemeral port: serves one file (a buffer,
// or bytes computed from their offset so that huge sizes cost nothing) with Range requests,
// multipart/byteranges, keep-alive, and misbehaviours on demand (ranges ignored, one range only,
// ranges merged, connections dropped mid-body, 503s, a server that never answers, redirects).
// One thread accepts; one thread per connection. Every socket has a receive timeout, and the
// destructor stops and joins everything.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace m4h::test {

class HttpTestServer {
 public:
  enum class Mode {
    kRanges,           // 206 for one range, multipart/byteranges for several
    kSingleRangeOnly,  // several ranges asked: answers the first only (a plain 206)
    kMergeRanges,      // several ranges asked: one 206 covering all of them (gaps included)
    kIgnoreRanges,     // 200 with the whole file, always
    kHang,             // reads requests, never answers
  };

  // The file's byte at `offset` when no buffer is given.
  static uint8_t pattern_byte(uint64_t offset) {
    uint64_t x = offset * 0x9E3779B97F4A7C15ull;
    return static_cast<uint8_t>((x >> 29) ^ (x >> 47));
  }

  HttpTestServer(uint64_t size, Mode mode) : size_(size), mode_(mode) { start(); }
  HttpTestServer(std::vector<uint8_t> data, Mode mode)
      : size_(data.size()), data_(std::move(data)), mode_(mode) { start(); }
  ~HttpTestServer() { stop(); }

  int port() const { return port_; }
  std::string url(const std::string& path = "/file.root") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // The next n data responses (not the size probe) are cut off after half their body.
  void drop_next(int n) { drop_next_ = n; }
  // The next n requests get "503 Service Unavailable".
  void fail_next(int n) { fail_next_ = n; }

  int requests() const { return requests_.load(); }
  int multi_range_requests() const { return multi_range_requests_.load(); }
  int connections() const { return connections_.load(); }
  std::string last_authorization() {
    std::lock_guard lock(mu_);
    return last_authorization_;
  }

  void stop() {
    if (stopping_.exchange(true)) return;
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  struct Range {
    uint64_t first, last;  // inclusive
  };

  void start() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0)
      throw std::runtime_error("test HTTP server: cannot listen on 127.0.0.1");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  void accept_loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      timeval tv{10, 0};  // no connection thread outlives a stuck client by more than this
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++connections_;
      std::lock_guard lock(mu_);
      if (stopping_) {
        ::close(fd);
        break;
      }
      open_fds_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void forget(int fd) {
    std::lock_guard lock(mu_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
  }

  static bool send_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
  static bool send_all(int fd, const std::string& s) { return send_all(fd, s.data(), s.size()); }

  void file_bytes(uint64_t first, uint64_t n, std::string& out) const {
    const std::size_t at = out.size();
    out.resize(at + n);
    for (uint64_t i = 0; i < n; ++i)
      out[at + i] = static_cast<char>(data_.empty() ? pattern_byte(first + i) : data_[first + i]);
  }
  // Sends `n` file bytes from `first`, in pieces (sizes past memory are fine).
  bool send_file(int fd, uint64_t first, uint64_t n) const {
    std::string buf;
    for (uint64_t done = 0; done < n;) {
      const uint64_t k = std::min<uint64_t>(n - done, 1 << 20);
      buf.clear();
      file_bytes(first + done, k, buf);
      if (!send_all(fd, buf)) return false;
      done += k;
    }
    return true;
  }

  // "bytes=A-B,C-,..." clamped to the file; false when none is satisfiable.
  bool parse_ranges(std::string v, std::vector<Range>& out) const {
    if (v.rfind("bytes=", 0) != 0) return false;
    v = v.substr(6);
    std::size_t pos = 0;
    while (pos <= v.size()) {
      std::size_t comma = v.find(',', pos);
      std::string item = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      pos = comma == std::string::npos ? v.size() + 1 : comma + 1;
      auto dash = item.find('-');
      if (dash == std::string::npos || dash == 0) continue;
      uint64_t a = std::stoull(item.substr(0, dash));
      uint64_t b = dash + 1 < item.size() ? std::stoull(item.substr(dash + 1)) : size_ - 1;
      if (a >= size_ || b < a) continue;
      out.push_back({a, std::min(b, size_ - 1)});
    }
    return !out.empty();
  }

  void serve(int fd) {
    std::string in;
    char buf[8192];
    while (!stopping_) {
      std::size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return forget(fd);
        in.append(buf, static_cast<std::size_t>(n));
      }
      std::string head = in.substr(0, end);
      in.erase(0, end + 4);
      ++requests_;
      if (mode_ == Mode::kHang) continue;  // read on, answer nothing
      std::string path, range, auth;
      {
        std::size_t line_end = head.find("\r\n");
        std::string request_line = head.substr(0, line_end);
        std::size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
        path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        while (path.rfind("//", 0) == 0) path.erase(0, 1);  // "//file.root" is "/file.root"
        std::size_t pos = line_end;
        while (pos != std::string::npos && pos < head.size()) {
          std::size_t next = head.find("\r\n", pos + 2);
          std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
          pos = next;
          auto colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string name = line.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          if (name == "range") range = value;
          if (name == "authorization") {
            std::lock_guard lock(mu_);
            last_authorization_ = value;
          }
        }
      }
      if (!respond(fd, path, range)) return forget(fd);
    }
    forget(fd);
  }

  // False: the connection is to be closed.
  bool respond(int fd, const std::string& path, const std::string& range) {
    const std::string size_text = std::to_string(size_);
    if (fail_next_ > 0) {
      --fail_next_;
      return send_all(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    }
    if (path == "/moved")
      return send_all(fd, "HTTP/1.1 302 Found\r\nLocation: /file.root\r\nContent-Length: 0\r\n\r\n");
    if (path != "/file.root") {
      const std::string body = "no such file";
      return send_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    std::vector<Range> ranges;
    const bool ranged = !range.empty() && mode_ != Mode::kIgnoreRanges;
    if (ranged && !parse_ranges(range, ranges))
      return send_all(fd, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" + size_text +
                              "\r\nContent-Length: 0\r\n\r\n");
    const bool probe = range == "bytes=0-0";
    // Drops the connection after half of a body (whose full length was announced).
    auto maybe_drop = [&](uint64_t body_length) {
      if (probe || drop_next_ <= 0 || body_length < 2) return false;
      --drop_next_;
      return true;
    };
    if (!ranged) {
      if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + size_text + "\r\n\r\n"))
        return false;
      if (maybe_drop(size_)) {
        send_file(fd, 0, size_ / 2);
        return false;
      }
      return send_file(fd, 0, size_);
    }
    if (ranges.size() > 1) {
      ++multi_range_requests_;
      if (mode_ == Mode::kSingleRangeOnly) ranges.resize(1);
      if (mode_ == Mode::kMergeRanges) {
        Range all = ranges[0];
        for (const auto& r : ranges) all = {std::min(all.first, r.first), std::max(all.last, r.last)};
        ranges = {all};
      }
    }
    if (ranges.size() == 1) {
      const Range r = ranges[0];
      const uint64_t n = r.last - r.first + 1;
      if (!send_all(fd, "HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes " +
                            std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + size_text +
                            "\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n"))
        return false;
      if (maybe_drop(n)) {
        send_file(fd, r.first, n / 2);
        return false;
      }
      return send_file(fd, r.first, n);
    }
    const std::string boundary = "m4h-test-boundary-0123456789";
    std::string body;
    for (const auto& r : ranges) {
      body += "\r\n--" + boundary + "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes " +
              std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + size_text + "\r\n\r\n";
      file_bytes(r.first, r.last - r.first + 1, body);
    }
    body += "\r\n--" + boundary + "--\r\n";
    if (!send_all(fd, "HTTP/1.1 206 Partial Content\r\nContent-Type: multipart/byteranges; boundary=" + boundary +
                          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"))
      return false;
    if (maybe_drop(body.size())) {
      send_all(fd, body.data(), body.size() / 2);
      return false;
    }
    return send_all(fd, body);
  }

  uint64_t size_;
  std::vector<uint8_t> data_;
  Mode mode_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> drop_next_{0}, fail_next_{0};
  std::atomic<int> requests_{0}, multi_range_requests_{0}, connections_{0};
  std::mutex mu_;
  std::string last_authorization_;
  std::vector<int> open_fds_;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

}  // namespace m4h::test
